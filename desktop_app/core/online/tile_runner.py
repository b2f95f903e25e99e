"""Fetch missing tiles a few at a time, saving each as soon as it arrives.

Shared by the Earth Engine and STAC sources. Only ``workers`` requests are
in flight at once, so Cancel takes effect after at most those finish; the
ones that finish are still saved, so nothing already paid for is lost.
The first tile that fails for good stops the run the same way (its
siblings are saved) and its error is raised.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..jobs import Cancelled, Job, ensure_job
from .tile_cache import TileCache
from .tiling import Tile

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
    """Fetch every tile not yet in ``cache`` with ``fetch(tile)`` on a thread pool."""
    job = ensure_job(job)
    todo = cache.missing(tiles)
    stats = RunStats(total=len(tiles), cached=len(tiles) - len(todo))
    job.step(stats.cached / max(1, stats.total), f"{stats.cached}/{stats.total} {label}s already cached")
    if not todo:
        return stats
    queue = list(reversed(todo))
    running: dict[Future, Tile] = {}
    error: Optional[BaseException] = None
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="satseg-fetch") as pool:
        while queue or running:
            while queue and len(running) < max(1, workers) and error is None and not job.cancelled:
                tile = queue.pop()
                running[pool.submit(fetch, tile)] = tile
            if not running:
                break
            done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                tile = running.pop(fut)
                try:
                    data = fut.result()
                except Cancelled:
                    continue
                except BaseException as exc:  # kept until siblings finish, then raised
                    if error is None:
                        error = exc
                    continue
                cache.save(tile, data)
                stats.fetched += 1
                n = stats.cached + stats.fetched
                try:
                    job.step(n / stats.total, f"{label} {n}/{stats.total}")
                except Cancelled:
                    pass  # stop submitting; tiles in flight are still saved below
            if error is not None or job.cancelled:
                queue.clear()
    if error is not None:
        raise error
    job.check()
    return stats
