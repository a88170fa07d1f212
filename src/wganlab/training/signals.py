"""SIGINT and SIGTERM as a request to stop after the current step, so that training ends at a checkpoint."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class StopFlag:
    """Set by the first SIGINT or SIGTERM; the loop reads it between steps. ``signal`` names the one that asked
    (for the run's event log)."""

    requested = False
    signal: str | None = None


def stop_event(step: int, flag: StopFlag) -> dict[str, Any]:
    """The run's ``events.jsonl`` line for a stop at ``step`` (its checkpoint is there): a stop is part of the run's
    history, as a rollback is, so that it is not taken for a crash. No signal here: another process's stopped it."""
    return {"step": step, "event": "stopped", "checkpoint": step, "signal": flag.signal or "another process's"}


@contextmanager
def stop_requests(second_sigint_aborts: bool = True) -> Iterator[StopFlag]:
    """Turn the first SIGINT/SIGTERM into a request to stop after the current step; a second SIGINT aborts."""
    flag = StopFlag()
    previous = {}

    def handler(signum: int, frame: Any) -> None:
        if flag.requested and signum == signal.SIGINT and second_sigint_aborts:
            raise KeyboardInterrupt
        flag.requested = True
        flag.signal = flag.signal or signal.Signals(signum).name

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay with whoever owns them
        previous.clear()
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
