"""What every SAM run shares: the image and class raster on one grid, window size, output tags."""
from __future__ import annotations

import json
from typing import Optional

import numpy as np

from ..errors import SatSegError

PIXEL_BYTES = 200          # working memory per window pixel (bands, RGB, logits, upsampled masks); docs/sam.md
MEMORY_SHARE = 0.5         # a window may use at most this share of the memory available
MODEL_BYTES = 1.5 * 2 ** 30   # the encoder's own working memory at 1024² input (tiny, measured ≈1 GB)
DEFAULT_WINDOW = 1024
SAM_TAG = "SATSEG_SAM"
RANDOM_TAG = "SATSEG_SAM_RANDOM_INIT"


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def fit_window(size: int, warnings: list[str], available: Optional[int] = None) -> int:
    """``size``, or a smaller power-of-two-halved window when its working memory would not fit; says so."""
    available = available_memory() if available is None else available
    budget = available * MEMORY_SHARE - MODEL_BYTES
    fitted = size
    while fitted > 256 and fitted * fitted * PIXEL_BYTES > budget:
        fitted //= 2
    if fitted != size:
        warnings.append(f"a {size} px window needs about {size * size * PIXEL_BYTES / 2 ** 30:.1f} GB, more than "
                        f"the memory free ({available / 2 ** 30:.1f} GB); using {fitted} px windows instead")
    return fitted


def check_same_grid(source, class_array: np.ndarray, transform, crs, what: str) -> None:
    """A SatSegError unless the class raster lies on the image's grid (same size, transform, CRS)."""
    if class_array.shape != source.shape or not transform.almost_equals(source.transform) or crs != source.crs:
        raise SatSegError(f"{what} is on another grid than the image ({class_array.shape[1]}x{class_array.shape[0]} "
                          f"px in {crs} vs {source.width}x{source.height} px in {source.crs}); "
                          "use the class raster made from this image")


def output_tags(kind: str, base, mapping, extra: dict) -> dict:
    """Tags of a SAM output: what made it, with which mapping; random-init says so in its own tag."""
    # device None: the model was never built (every window came from the cache)
    info = {"kind": kind, "model": base.identity(), "device": base.device if base.built else None,
            "mapping": mapping.to_dict()}
    info.update(extra)
    tags = {"SATSEG_METHOD": f"sam-{kind}", SAM_TAG: json.dumps(info)}
    if base.random_init:
        tags[RANDOM_TAG] = "true: made with random SAM-2 weights (tests and demonstrations only)"
    return tags
