"""Stopping on SIGTERM and SIGINT in every mode, also when started in the background.

A process started with `&`, nohup or by CI inherits SIGINT as ignored, and Python then
installs no KeyboardInterrupt handler: only an explicit handler makes Ctrl-C (or `kill
-INT`) stop it. Both signals set one event that every loop watches.
"""

from __future__ import annotations

import signal
import threading


def stop_on_signals(stop: threading.Event) -> None:
    """Set `stop` on SIGTERM or SIGINT (call from the main thread)."""
    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def wait_for_stop(stop: threading.Event | None = None) -> threading.Event:
    """Block until SIGTERM or SIGINT (or `stop` set elsewhere); returns the event."""
    stop = stop or threading.Event()
    stop_on_signals(stop)
    while not stop.wait(0.5):
        pass
    return stop
