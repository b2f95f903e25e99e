"""Progress reporting and cancellation for long operations.

Every long operation in ``core`` takes a :class:`Job` (or ``None``) and calls
``job.step(fraction, message)`` now and then. The UI runs the operation on a
worker thread and cancels it from the UI thread; the CLI passes a job that
prints progress. Cancellation is cooperative: the next ``step`` raises
:class:`Cancelled`.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

ProgressCallback = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised inside an operation whose job was cancelled."""


class CancelToken:
    """A thread-safe flag shared between the caller and the operation."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Job:
    """Progress callback + cancel token, with sub-ranges for nested steps.

    ``job.sub(0.2, 0.8)`` gives a view whose fractions 0..1 map onto 0.2..0.8
    of the parent, so a helper can report its own 0..1 without knowing where
    it sits in a bigger operation.
    """

    def __init__(
        self,
        progress: Optional[ProgressCallback] = None,
        token: Optional[CancelToken] = None,
        _start: float = 0.0,
        _end: float = 1.0,
    ) -> None:
        self.progress = progress
        self.token = token or CancelToken()
        self._start = _start
        self._end = _end

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def cancel(self) -> None:
        self.token.cancel()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled."""
        if self.token.cancelled:
            raise Cancelled("cancelled")

    def step(self, fraction: float, message: str = "") -> None:
        """Report progress (0..1 of this view) and honour cancellation."""
        self.check()
        if self.progress is not None:
            f = min(max(fraction, 0.0), 1.0)
            self.progress(self._start + f * (self._end - self._start), message)

    def sub(self, start: float, end: float) -> "Job":
        span = self._end - self._start
        return Job(self.progress, self.token, self._start + start * span, self._start + end * span)


def ensure_job(job: Optional[Job]) -> Job:
    """Operations accept ``None``; this turns it into a silent, never-cancelled job."""
    return job if job is not None else Job()


def lower_this_thread(niceness: int = 10) -> None:
    """Give the calling thread a lower CPU priority (Linux: per-thread nice; elsewhere nothing).

    For background work the user is not waiting for (map overviews): on a 2-core machine
    it otherwise takes the CPU from the UI thread and the tiles on screen. An unprivileged
    process cannot raise it back, so call this only on a thread of its own.
    """
    import os

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        pass


def run_at_low_priority(fn: Callable, *args):
    """``fn(*args)`` on a new thread of lower CPU priority; waits for it, returns its result or
    raises its exception (so a worker pool's own threads keep their normal priority)."""
    out: dict = {}

    def body() -> None:
        lower_this_thread()
        try:
            out["value"] = fn(*args)
        except BaseException as exc:   # re-raised on the caller's thread (Cancelled included)
            out["error"] = exc

    t = threading.Thread(target=body, name="satseg-low-priority", daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")
