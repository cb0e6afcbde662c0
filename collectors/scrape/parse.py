"""Reading a /metrics page: prometheus_client's parsers, and bad lines set aside, not fatal.

Text-format pages go through a strict fast path first (`collectors.scrape.fastparse`), which gives
the very same `Page` about ten times sooner or declines; declined pages are read here.

prometheus_client stops at the first line it cannot read. A page with one broken line
should still be ingested, so on failure the page is read again line by line: every line
the text parser cannot read is reported with its number, and the rest is parsed.
Pure: text in, samples out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

Labels = tuple[tuple[str, str], ...]
OPENMETRICS = "application/openmetrics-text"


@dataclass(frozen=True)
class BadLine:
    line: int
    text: str
    reason: str


@dataclass
class Page:
    """Samples by (name, labels) and the type of each family (counter, gauge, histogram…)."""

    values: dict[tuple[str, Labels], float] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # sample name -> family type
    bad_lines: list[BadLine] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)


def _add(page: Page, families: Iterator) -> None:
    for family in families:
        for sample in family.samples:
            if sample.name.endswith("_created"):  # creation times are not counts
                continue
            labels = tuple(sorted(sample.labels.items()))
            page.values[(sample.name, labels)] = float(sample.value)
            page.types[sample.name] = family.type


def _line_is_readable(line: str) -> str | None:
    """None if the text parser reads `line` on its own, else its complaint."""
    try:
        list(text_families(line + "\n"))
    except (ValueError, IndexError, KeyError, OverflowError) as exc:
        return str(exc) or type(exc).__name__
    return None


def parse_page(text: str, content_type: str = "") -> Page:
    """Every sample of the page; unreadable lines are skipped and listed in `bad_lines`."""
    openmetrics = content_type.startswith(OPENMETRICS)
    if not openmetrics:
        from collectors.scrape.fastparse import fast_page  # it builds on this module's Page

        fast = fast_page(text)
        if fast is not None:
            return fast
    page = Page()
    parser = openmetrics_families if openmetrics else text_families
    try:
        _add(page, parser(text))
        return page
    except (ValueError, IndexError, KeyError, OverflowError):
        page.values.clear()
        page.types.clear()
    good: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped == "# EOF":
            continue
        if stripped.startswith("#"):
            good.append(line)
            continue
        reason = _line_is_readable(stripped)
        if reason is None:
            good.append(line)
        else:
            page.bad_lines.append(BadLine(number, line[:200], reason))
    try:
        _add(page, text_families("\n".join(good) + "\n"))
    except (ValueError, IndexError, KeyError, OverflowError) as exc:  # an unexplained header
        page.bad_lines.append(BadLine(0, "", f"page unreadable after removing bad lines: {exc}"))
    return page
