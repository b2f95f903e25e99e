"""Network calls that end on Cancel and on a deadline, whatever the client library does.

Each client has its own timeout (requests' ``timeout``, ``ee.data.setDeadline``,
GDAL's ``GDAL_HTTP_TIMEOUT``) and those are set too, so a stalled socket is
closed eventually. But a blocking call cannot be interrupted from outside, so
the caller would still wait for it. Here the call runs on a daemon thread and
the caller waits in short slices: Cancel returns at once, and a call silent
for longer than its deadline is abandoned with :class:`NetworkTimeout`. A
daemon thread never keeps the process alive, so one Ctrl-C ends the CLI.
The rules (deadlines, what is retried) are in docs/online.md.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from ..jobs import Job, ensure_job

POLL_S = 0.1
# The client's own timeout should fire first (its error names the cause);
# this backstop only catches a library that ignores it.
BACKSTOP_GRACE_S = 2.0


class NetworkTimeout(TimeoutError):
    """A request got no answer within its deadline (retryable, like a dropped connection)."""


def call(fn: Callable[[], Any], job: Optional[Job] = None, timeout: Optional[float] = None,
         what: str = "the request") -> Any:
    """Return ``fn()``, raising Cancelled as soon as ``job`` is cancelled and
    NetworkTimeout when no result came within ``timeout`` (+ a short grace)."""
    job = ensure_job(job)
    job.check()
    box: dict = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="satseg-net", daemon=True).start()
    limit = None if timeout is None else time.monotonic() + timeout + min(BACKSTOP_GRACE_S, timeout / 2)
    while not done.wait(POLL_S):
        job.check()
        if limit is not None and time.monotonic() >= limit:
            raise NetworkTimeout(f"no answer within {timeout:g} s while {what}")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def timed_out(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a timeout of any of the clients."""
    seen = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        name = type(e).__name__.lower()
        text = str(e).lower()
        if isinstance(e, TimeoutError) or "timeout" in name or "timed out" in text:
            return True
        e = e.__cause__ or e.__context__
    return False
