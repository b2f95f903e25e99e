"""Fetch missing tiles a few at a time, saving each as soon as it arrives.

Shared by the Earth Engine and STAC sources. ``workers`` daemon threads take
tiles from a queue, fetch them and save each finished tile to the cache at
once, so a cancelled or failed run keeps everything already paid for.

Cancel (the UI's button, or Ctrl-C turned into a cancel by the CLI) returns
within about a second: requests that are still in flight get
``CANCEL_GRACE_S`` to land and be saved, then they are abandoned (their
threads are daemons and save nothing afterwards). The first tile that fails
for good stops the run: no new tiles start, the ones in flight finish (each
has a deadline) and are saved, then its error is raised.
"""
from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..jobs import Cancelled, Job, ensure_job
from .tile_cache import TileCache
from .tiling import Tile

CANCEL_GRACE_S = 1.0
POLL_S = 0.1
FetchTile = Callable[[Tile], np.ndarray]


@dataclass
class Backoff:
    """Retry schedule: ``attempts`` tries, waits base*2^n (capped) with jitter."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delay(self, attempt: int) -> float:
        d = min(self.cap, self.base * 2 ** attempt)
        return d * (0.5 + random.random() / 2)

    def wait(self, attempt: int, job: Job) -> None:
        """Sleep before retry ``attempt`` in short steps so Cancel is honoured."""
        remaining = self.delay(attempt)
        while remaining > 0:
            job.check()
            step = min(0.2, remaining)
            self.sleep(step)
            remaining -= step


@dataclass
class RunStats:
    total: int
    cached: int
    fetched: int = 0


def run_tiles(tiles: list[Tile], cache: TileCache, fetch: FetchTile, job: Optional[Job] = None,
              workers: int = 4, label: str = "tile") -> RunStats:
    """Fetch every tile not yet in ``cache`` with ``fetch(tile)`` on ``workers`` threads."""
    job = ensure_job(job)
    todo = cache.missing(tiles)
    stats = RunStats(total=len(tiles), cached=len(tiles) - len(todo))
    job.step(stats.cached / max(1, stats.total), f"{stats.cached}/{stats.total} {label}s already cached")
    if not todo:
        return stats
    pending: queue.SimpleQueue = queue.SimpleQueue()
    for tile in todo:
        pending.put(tile)
    results: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()         # no new tiles (cancel or a failure)
    save_lock = threading.Lock()     # saving and abandoning exclude each other
    abandoned = threading.Event()    # set under save_lock: late answers are dropped

    def worker() -> None:
        while not stop.is_set() and not job.cancelled:
            try:
                tile = pending.get_nowait()
            except queue.Empty:
                break
            try:
                data = fetch(tile)
                with save_lock:
                    if abandoned.is_set():
                        break
                    cache.save(tile, data)
                results.put((tile, None))
            except BaseException as exc:
                if not isinstance(exc, Cancelled):
                    stop.set()        # the first failure starts no new tiles
                results.put((tile, exc))
        results.put((None, None))     # this worker has ended

    n_workers = min(max(1, workers), len(todo))
    for _ in range(n_workers):
        threading.Thread(target=worker, name="satseg-fetch", daemon=True).start()
    alive, error = n_workers, None
    cancel_deadline: Optional[float] = None
    try:
        while alive:
            if job.cancelled and cancel_deadline is None:
                stop.set()
                cancel_deadline = time.monotonic() + CANCEL_GRACE_S
            if cancel_deadline is not None and time.monotonic() >= cancel_deadline:
                break
            try:
                tile, exc = results.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if tile is None:
                alive -= 1
            elif exc is None:
                stats.fetched += 1
                n = stats.cached + stats.fetched
                try:
                    job.step(n / stats.total, f"{label} {n}/{stats.total}")
                except Cancelled:
                    pass  # noticed at the top of the loop, after the grace for tiles in flight
            elif not isinstance(exc, Cancelled) and error is None:
                error = exc
                stop.set()
    finally:
        with save_lock:
            abandoned.set()
            stop.set()
    if job.cancelled:
        raise Cancelled("cancelled")
    if error is not None:
        raise error
    return stats
