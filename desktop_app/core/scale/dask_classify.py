"""Classify a local raster's blocks on dask.distributed workers (docs/scale.md).

The client sends each worker a recipe for opening the image (path or URL and
read options, a few hundred bytes), the fitted classifier (once, scattered) and
a window; the worker reads that window itself, classifies it with the same
``classify_raster`` as the single-process path and returns only the uint8
class block (plus float32 scores when asked). The client writes the blocks by
windows through the project's GeoTIFF writer as they complete, so the output
is bit-for-bit the single-process one and the client never holds the image.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..errors import SatSegError
from ..jobs import Job, ensure_job
from ..raster import iter_windows

# Blocks in flight per worker thread: enough to keep every worker busy while
# the client writes, few enough that finished blocks never pile up in memory.
IN_FLIGHT_PER_THREAD = 3


@dataclass(frozen=True)
class ImageRecipe:
    """How a worker opens the image: the same arguments the CLI gives ``open_image``."""

    path: str
    mask_clouds: bool = False
    baseline: Optional[str] = None
    indices: tuple = field(default=())   # SpectralIndex objects appended as bands

    def open(self):
        from ..analysis.indices import IndexedSource
        from ..sources import open_image

        src = open_image(self.path, mask_clouds=self.mask_clouds, check_valid=False, baseline=self.baseline)
        return IndexedSource(src, list(self.indices)) if self.indices else src


# One open image per worker thread (rasterio datasets are not thread-safe), reused across blocks.
_opened = threading.local()


def _worker_source(recipe: ImageRecipe):
    cache = getattr(_opened, "sources", None)
    if cache is None:
        cache = _opened.sources = {}
    if recipe not in cache:
        cache[recipe] = recipe.open()
    return cache[recipe]


def classify_window(recipe: ImageRecipe, clf, thresholds, window, with_scores: bool):
    """Runs on a worker: read one window of the image there and classify it."""
    from ..classify import bounded_gdal_cache, classify_raster
    from ..raster import resolve_bands

    try:
        with bounded_gdal_cache():
            src = _worker_source(recipe)
            names = [src.band_names[i] for i in resolve_bands(src.band_names, clf.band_names)]
            return classify_raster(src.read(window, bands=names), clf, thresholds, with_scores)
    except SatSegError as exc:
        import socket

        raise SatSegError(f"dask worker on {socket.gethostname()}: {exc}") from None


def dask_blocks(client, recipe: ImageRecipe, image, clf, thresholds=None, block: int = 1024,
                job: Optional[Job] = None, with_scores: bool = False) -> Iterator[tuple]:
    """``(window, class ids)`` (or ``(window, (ids, scores))``) in completion order, computed on ``client``'s workers.

    ``image`` is the client's open copy, used only for its grid. Arguments are
    checked at the call, before any task is sent. Progress comes from the
    scheduler (each finished task); Cancel cancels the outstanding tasks.
    """
    job = ensure_job(job)
    if block < 64:
        raise SatSegError("block size must be at least 64 pixels")
    clf.threshold_array(thresholds)
    windows = iter_windows(image.height, image.width, block)
    return _run(client, recipe, clf, thresholds, windows, job, with_scores)


def _run(client, recipe, clf, thresholds, windows, job: Job, with_scores: bool):
    # Scatter the fitted classifier once rather than pickling it into every task.
    [clf_future] = client.scatter([clf], broadcast=True, hash=False)

    def submit(w, key):
        return client.submit(classify_window, recipe, clf_future, thresholds, w, with_scores, key=key, pure=False)

    return run_windows(client, windows, submit, job, "classify")


def run_windows(client, windows, submit, job: Job, verb: str) -> Iterator[tuple]:
    """``(window, result)`` in completion order for ``submit(window, key)`` futures, a few in flight per thread.

    Progress comes from the scheduler (each finished task); Cancel, an error
    or the caller giving up cancels the outstanding tasks.
    """
    from distributed import as_completed

    total = len(windows)
    threads = max(1, sum(client.nthreads().values())) if client.nthreads() else 1
    run_id = uuid.uuid4().hex[:12]
    todo = iter(enumerate(windows))
    pending: dict = {}

    def submit_next(ac) -> None:
        nxt = next(todo, None)
        if nxt is not None:
            i, w = nxt
            fut = submit(w, f"satseg-{verb}-{run_id}-{i}")
            pending[fut.key] = (fut, w)
            ac.add(fut)

    done = 0
    ac = as_completed()
    try:
        for _ in range(min(total, threads * IN_FLIGHT_PER_THREAD)):
            submit_next(ac)
        job.step(0.0, f"{verb}: {total} blocks on {threads} dask workers")
        for fut in ac:
            _, w = pending.pop(fut.key)
            result = _result(fut, client)
            del fut   # lets the cluster free the block
            submit_next(ac)
            done += 1
            job.step(done / total, f"{verb}: block {done}/{total} done on the cluster")
            yield w, result
    finally:
        # Cancel, an error or the caller giving up: nothing keeps computing for a run that is over.
        if pending:
            try:
                client.cancel([f for f, _ in pending.values()], force=True)
            except Exception:   # the scheduler may be gone already
                pass
        pending.clear()


def _result(fut, client):
    """A finished task's block, or a one-line SatSegError for what went wrong on the cluster."""
    from distributed import KilledWorker

    try:
        return fut.result()
    except SatSegError:
        raise
    except KilledWorker:
        raise SatSegError("dask workers kept dying on the same block (out of memory?); "
                          "nothing was written") from None
    except Exception as exc:
        from concurrent.futures import CancelledError

        from distributed.comm import CommClosedError

        # Our own tasks raise SatSegError; these come from the connection to the scheduler going away.
        lost = (CancelledError, CommClosedError, OSError, TimeoutError)
        if client.status != "running" or isinstance(exc, lost) or "cancel" in type(exc).__name__.lower():
            raise SatSegError(f"lost the dask scheduler mid-run ({type(exc).__name__}); nothing was written") from None
        raise
