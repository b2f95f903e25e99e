"""Run core jobs off the UI thread, with progress, Cancel and stale-run cancelling.

A task is a plain function ``fn(job) -> result`` from ``core`` that calls
``job.step(...)``. :class:`TaskRunner` runs it on a worker thread and reports
back on the UI thread through queued signals. The workers are long-lived
Python threads (a ThreadPoolExecutor), not QThreadPool threads: PySide gives a
pooled Qt thread a fresh Python thread state per run, and pyproj's per-thread
PROJ context did not survive that (segfault in proj_create). Tasks have a
*kind* ("classify", "predict", "open", ...): starting a task cancels the
running one of the same kind and its late result is dropped, so dragging a
threshold slider never queues up work (Orange3's cancel-on-restart pattern).
A task whose result has arrived no longer runs: its ``on_done`` may start the
next task of its kind (Fine-tune, then Segment), and it is reported "done".

Two queues, so neither kind of work waits for the other: long jobs (open, fetch,
classify, SAM, export, ...) run on the "long" workers; short display jobs (image
and tile drawing, signatures, mask recolouring, a threshold re-decide) on their own
"display" workers. A fetch that takes minutes never holds up the map.
"""
from __future__ import annotations

import itertools
import logging
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from concurrent.futures import ThreadPoolExecutor, wait as wait_futures

from PySide6.QtCore import QObject, Signal

from ..core.errors import SatSegError
from ..core.jobs import Cancelled, CancelToken, Job

log = logging.getLogger(__name__)

#: Task kinds that draw or re-decide what is on screen: they get their own workers.
DISPLAY_KINDS = frozenset({"display", "signatures", "recolor", "predict", "tiles", "basemap"})


def queue_of(kind: str) -> str:
    """"display" for short display work, "long" for everything else."""
    return "display" if kind in DISPLAY_KINDS else "long"


class _Relay(QObject):
    """Lives on the UI thread; signals emitted from the worker arrive queued."""

    progress = Signal(int, float, str)
    done = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)


@dataclass
class Task:
    id: int
    kind: str
    label: str
    job: Job
    on_done: Optional[Callable[[Any], None]] = None
    on_error: Optional[Callable[[str], None]] = None
    fraction: float = 0.0
    message: str = ""
    finished: bool = field(default=False)

    def cancel(self) -> None:
        self.job.cancel()


class _Runnable:
    def __init__(self, task: Task, fn: Callable[[Job], Any], relay: _Relay) -> None:
        self.task, self.fn, self.relay = task, fn, relay

    def run(self) -> None:
        tid = self.task.id
        try:
            result = self.fn(self.task.job)
            if self.task.job.cancelled:
                self.relay.cancelled.emit(tid)
            else:
                self.relay.done.emit(tid, result)
        except Cancelled:
            self.relay.cancelled.emit(tid)
        except SatSegError as exc:
            self.relay.failed.emit(tid, str(exc))
        except MemoryError:
            self.relay.failed.emit(tid, f"{self.task.label}: not enough memory")
        except Exception as exc:  # a bug: keep the app alive, say what happened, log the trace
            log.error("task %s failed:\n%s", self.task.label, traceback.format_exc())
            self.relay.failed.emit(tid, f"{self.task.label} failed: {type(exc).__name__}: {exc}")


class TaskRunner(QObject):
    """Starts tasks and tells the UI about them. All signals fire on the UI thread."""

    task_started = Signal(object)            # Task
    task_progress = Signal(object)           # Task (fraction/message updated)
    task_finished = Signal(object, str)      # Task, "done" | "failed" | "cancelled" | "superseded"
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2, display_threads: int = 2) -> None:
        super().__init__(parent)
        from ..core.classifiers.pool import own_blas_threads

        # Classifier chunks run on the core's pool, which owns one process-wide BLAS
        # limit; set it here, on the main thread, where OpenBLAS honours it.
        own_blas_threads()
        self.pools = {
            "long": ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="satseg-worker"),
            "display": ThreadPoolExecutor(max_workers=display_threads, thread_name_prefix="satseg-display"),
        }
        self._futures: list = []
        self._shut_down = False
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self._relay.cancelled.connect(self._on_cancelled)
        self._ids = itertools.count(1)
        self._tasks: dict[int, Task] = {}      # every task not yet reported back
        self._current: dict[str, int] = {}     # kind -> id of the newest task of that kind

    # ---------------------------------------------------------------- API
    def start(self, kind: str, fn: Callable[[Job], Any], *, label: str = "",
              on_done: Optional[Callable[[Any], None]] = None,
              on_error: Optional[Callable[[str], None]] = None) -> Optional[Task]:
        """Run ``fn(job)`` on a worker; cancels the running task of the same kind.

        After :meth:`shutdown` (the window is closing) nothing starts; returns None.
        """
        if self._shut_down:
            log.info("not starting %s: the application is closing", label or kind)
            return None
        old = self._current.get(kind)
        if old in self._tasks:
            self._tasks[old].cancel()
        tid = next(self._ids)
        token = CancelToken()
        relay = self._relay
        job = Job(lambda f, m: relay.progress.emit(tid, f, m), token)
        task = Task(tid, kind, label or kind, job, on_done, on_error)
        was_busy = self.busy()
        self._tasks[tid] = task
        self._current[kind] = tid
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self.pools[queue_of(kind)].submit(_Runnable(task, fn, relay).run))
        self.task_started.emit(task)
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def cancel(self, kind: Optional[str] = None) -> None:
        """Cancel the running task of ``kind`` (or every task)."""
        for task in list(self._tasks.values()):
            if kind is None or task.kind == kind:
                task.cancel()

    def busy(self, kind: Optional[str] = None) -> bool:
        return any(kind is None or t.kind == kind for t in self._tasks.values())

    def current(self) -> Optional[Task]:
        """The newest running task (what the status bar shows)."""
        return self._tasks[max(self._tasks)] if self._tasks else None

    def wait(self, msecs: int = 10000) -> bool:
        """Block until every started task has returned (used when closing)."""
        _, pending = wait_futures(self._futures, timeout=msecs / 1000)
        return not pending

    # ---------------------------------------------------------- callbacks
    def _is_stale(self, task: Task) -> bool:
        return self._current.get(task.kind) != task.id

    def _on_progress(self, tid: int, fraction: float, message: str) -> None:
        task = self._tasks.get(tid)
        if task is None or self._is_stale(task):
            return
        task.fraction, task.message = fraction, message
        self.task_progress.emit(task)

    def shutdown(self) -> None:
        self._shut_down = True
        self.cancel()
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def _finish(self, tid: int, outcome: str) -> Optional[Task]:
        task = self._tasks.pop(tid, None)
        if task is None:
            return None
        task.finished = True
        if self._is_stale(task) and outcome == "cancelled":
            outcome = "superseded"
        if self._current.get(task.kind) == tid:
            del self._current[task.kind]
        self.task_finished.emit(task, outcome)
        if not self._tasks:
            self.busy_changed.emit(False)
        return task

    def _on_done(self, tid: int, result: object) -> None:
        task = self._tasks.get(tid)
        if task is None:
            return
        if self._is_stale(task):
            # A stale result is dropped: a newer run of the same kind owns the screen now.
            self._finish(tid, "superseded")
            return
        # The task has completed: it gives up its kind's slot before its result is shown, so a
        # task of the same kind that on_done starts follows it instead of superseding it.
        del self._current[task.kind]
        if task.on_done:
            try:
                task.on_done(result)
            except Exception:
                log.error("showing the result of %s failed:\n%s", task.label, traceback.format_exc())
                self._finish(tid, "failed")
                if task.on_error:
                    task.on_error(f"{task.label}: could not show the result (see the log)")
                return
        self._finish(tid, "done")

    def _on_failed(self, tid: int, message: str) -> None:
        task = self._tasks.get(tid)
        if task is None:
            return
        if not self._is_stale(task) and task.on_error:
            task.on_error(message)
        self._finish(tid, "failed")

    def _on_cancelled(self, tid: int) -> None:
        self._finish(tid, "cancelled")
