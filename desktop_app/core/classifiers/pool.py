"""The one thread pool that evaluates classifier chunks, and the BLAS limit it owns.

Chunks are evaluated on all cores by threads (numpy and BLAS release the GIL).
Each chunk's matrix product is small, so BLAS's own threads gain nothing and
would fight the pool's threads for the cores: numpy/scipy's BLAS runs
single-threaded and the pool supplies the parallelism. ``threadpoolctl``'s
limit is process-wide, so it is not set per call: two overlapping predictions
(a stale one and a new one while a threshold moves) used to restore each
other's limits in the wrong order and leave BLAS pinned to one thread, or at
full threads under the pool. The pool sets the limit once, when it is made,
and owns it for the life of the process (docs/classifiers.md, "Threads").

OpenBLAS ignores a thread-count change made from a non-main thread once the
main thread has set one, so the app calls :func:`own_blas_threads` on its main
thread at start-up (``ui/workers.TaskRunner``); the CLI predicts on its main
thread anyway.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_blas_owned = False


def _workers() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def own_blas_threads() -> None:
    """Limit numpy/scipy's BLAS to one thread, once for the process (idempotent)."""
    global _blas_owned
    with _lock:
        if _blas_owned:
            return
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        _blas_owned = True


def chunk_pool() -> ThreadPoolExecutor:
    """The shared executor for chunk work (made once; it owns the BLAS limit)."""
    global _pool
    own_blas_threads()
    with _lock:
        if _pool is None:
            # At least two threads so one long chunk never starves another caller.
            _pool = ThreadPoolExecutor(max(2, _workers()), thread_name_prefix="satseg-chunk")
        return _pool
