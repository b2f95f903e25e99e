"""`satseg sam segment --dask`: each SAM window computed on a dask.distributed worker (docs/scale.md).

The client sends a worker the image path, the fine-tuned model's folder (a
path, never tensors), the SATSEG_SAM_OVERRIDES value that decides a
random-init architecture (core/sam/runtime.py) and one window. The worker
opens the image and loads the model itself (once per worker thread), runs the
same ``window_labels`` as the single-process path and returns only that
window's uint8 class ids; the client stitches them into the scene exactly as
``segment_scene`` does, so the output is the single-process one.
"""
from __future__ import annotations

import os
import threading
from typing import Optional

import numpy as np

from ..classes import NODATA
from ..errors import SatSegError
from ..jobs import Job, ensure_job

# One open image and one loaded model per worker thread, reused across windows.
_held = threading.local()


def _held_dict() -> dict:
    if getattr(_held, "items", None) is None:
        _held.items = {}
    return _held.items


def segment_window(image: str, model_dir: str, overrides: str, device: Optional[str], tile):
    """Runs on a worker: this window's class ids (None when all nodata)."""
    from ..jobs import Job
    from ..sam.runtime import OVERRIDES_ENV
    from ..sam.features import FeatureCache
    from ..sam.saved import load_model
    from ..sam.segment import window_labels
    from ..sources import open_image

    try:
        import torch

        # The worker has one thread; torch's own pool would fight the other workers for the cores.
        torch.set_num_threads(1)
        os.environ[OVERRIDES_ENV] = overrides   # the client's random-init architecture, if any
        held = _held_dict()
        if ("image", image) not in held:
            held["image", image] = open_image(image, check_valid=False)
        key = ("model", model_dir, overrides, device)
        if key not in held:
            held[key] = load_model(model_dir, device)
        net, meta, base = held[key]
        # No feature cache on workers: they may not share a disk, and each window is computed once.
        return window_labels(held["image", image], net, meta, base, tile, FeatureCache(None), "", Job())
    except SatSegError as exc:
        import socket

        raise SatSegError(f"dask worker on {socket.gethostname()}: {exc}") from None


def dask_segment_scene(client, image: str, model_dir: str, device: Optional[str], shape: tuple, tiles,
                       job: Optional[Job] = None) -> np.ndarray:
    """uint8 class raster of the scene with each window computed on ``client``'s workers."""
    from ..sam.runtime import OVERRIDES_ENV
    from ..sam.windows import stitch
    from .dask_classify import run_windows

    job = ensure_job(job)
    # Absolute paths: a worker's working folder is not the client's (URLs pass unchanged).
    image = str(os.path.abspath(image)) if os.path.exists(image) else str(image)
    model_dir = os.path.abspath(model_dir)
    overrides = os.environ.get(OVERRIDES_ENV, "")

    def submit(tile, key):
        return client.submit(segment_window, image, model_dir, overrides, device, tile, key=key, pure=False)

    out = np.full(shape, NODATA, np.uint8)
    for tile, labels in run_windows(client, tiles, submit, job, "segment"):
        job.check()
        if labels is not None:
            stitch(out, tile, labels)
    return out
