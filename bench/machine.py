"""The machine line every benchmark prints beside its figures."""

from __future__ import annotations

import os
from pathlib import Path


def machine_line() -> str:
    """`machine: nproc=2, CPU …, 24 GiB RAM`, from what this process may use."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"machine: nproc={len(os.sched_getaffinity(0))}, CPU {model}, {ram:.0f} GiB RAM"
