"""Progress on the terminal for long CLI commands."""
from __future__ import annotations

import sys

from ..core.jobs import Job


def terminal_job(enabled: bool | None = None) -> Job:
    """A Job that draws a one-line progress indicator on stderr when it is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return Job()
    state = {"last": -1}

    def show(fraction: float, message: str) -> None:
        pct = int(fraction * 100)
        if pct != state["last"]:
            state["last"] = pct
            end = "\n" if pct >= 100 else ""
            sys.stderr.write(f"\r[{pct:3d}%] {message[:60]:<60}{end}")
            sys.stderr.flush()

    return Job(show)
