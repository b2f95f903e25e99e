"""Encoder features of a window, cached on disk so a second run skips encoding.

The cache key is a SHA-256 of the image file(s) identity (path, size,
modification time), the window, the input mapping (recipe and stretch) and
the encoder's weights. Entries are written through the atomic writer, so a
cancelled or failed run never leaves a damaged entry; features are stored as
float16 and *always* used after that rounding, so a run that hits the cache
gives the same result as the run that filled it (docs/sam.md).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..atomic import write_bytes_atomic

CACHE_DIRNAME = "sam-cache"
CACHE_LIMIT_BYTES = 4 * 2 ** 30
# SAM-2's input normalisation (ImageNet mean/std, as sam2.utils.transforms.SAM2Transforms).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def default_cache_dir() -> Path:
    from .. import paths

    return paths.data_home() / CACHE_DIRNAME


def image_identity(path: str | os.PathLike) -> str:
    """Path, size and mtime of the image file, or of every file in an image folder."""
    p = Path(path).resolve()
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    parts = [str(p)] + [f"{f.relative_to(p) if f != p else f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
                        for f in files]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def encode(base, rgb: np.ndarray) -> dict:
    """SAM-2 image features of one (rows, cols, 3) 0..1 window, as the image predictor computes them."""
    import torch
    import torch.nn.functional as F

    model = base.model
    size = model.image_size
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(base.device)
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        mean = torch.tensor(_MEAN, device=base.device)[:, None, None]
        std = torch.tensor(_STD, device=base.device)[:, None, None]
        out = model.forward_image((x - mean) / std)
        _, feats, _, sizes = model._prepare_backbone_features(out)
        if model.directly_add_no_mem_embed:
            feats[-1] = feats[-1] + model.no_mem_embed
        maps = [f.permute(1, 2, 0).reshape(1, -1, *s) for f, s in zip(feats, sizes)]
    return {"image_embed": maps[-1], "high_res_feats": maps[:-1]}


def _to_numpy(feats: dict) -> dict:
    arrays = {"image_embed": feats["image_embed"].cpu().numpy().astype(np.float16)}
    for i, f in enumerate(feats["high_res_feats"]):
        arrays[f"high_res_{i}"] = f.cpu().numpy().astype(np.float16)
    return arrays


def _to_torch(arrays, device) -> dict:
    import torch

    hr = sorted(k for k in arrays if k.startswith("high_res_"))
    t = lambda a: torch.from_numpy(np.asarray(a, np.float32)).to(device)  # noqa: E731
    return {"image_embed": t(arrays["image_embed"]), "high_res_feats": [t(arrays[k]) for k in hr]}


class FeatureCache:
    """Features per (image, window, mapping, model) in ``folder``; ``folder=None`` disables caching."""

    def __init__(self, folder: Optional[str | os.PathLike] = "default") -> None:
        self.folder = default_cache_dir() if folder == "default" else (Path(folder) if folder else None)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(image_id: str, tile_key: str, mapping_key: str, model_key: str) -> str:
        body = json.dumps([image_id, tile_key, mapping_key, model_key])
        return hashlib.sha256(body.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npz"

    def _decoded_path(self, key: str) -> Path:
        return self.folder / "decoded" / key[:2] / f"{key}.npz"

    def decoded(self, key: str) -> Optional[dict]:
        """The arrays of a window's decoded masks (``core.sam.decoded``), or None when not cached."""
        if self.folder is None:
            return None
        path = self._decoded_path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)           # unreadable entry: decode again
            return None
        os.utime(path)
        return arrays

    def store_decoded(self, key: str, arrays: dict) -> None:
        if self.folder is not None:
            self._store(self._decoded_path(key), arrays)

    def _store(self, path: Path, arrays: dict) -> None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buf.getvalue())

    def features(self, base, key: str, rgb_fn) -> dict:
        """Cached features for ``key``, or encode ``rgb_fn()`` and store them."""
        if self.folder is not None:
            path = self._path(key)
            if path.is_file():
                try:
                    with np.load(path) as z:
                        arrays = {k: z[k] for k in z.files}
                    self.hits += 1
                    os.utime(path)          # recently used: kept longest by prune()
                    return _to_torch(arrays, base.device)
                except (OSError, ValueError, KeyError):
                    path.unlink(missing_ok=True)   # unreadable entry: encode again
        arrays = _to_numpy(encode(base, rgb_fn()))
        self.misses += 1
        if self.folder is not None:
            self._store(path, arrays)
        return _to_torch(arrays, base.device)

    def prune(self, limit: int = CACHE_LIMIT_BYTES) -> None:
        """Delete least recently used entries beyond ``limit`` bytes."""
        if self.folder is None or not self.folder.is_dir():
            return
        files = [*self.folder.glob("*/*.npz"), *self.folder.glob("decoded/*/*.npz")]
        entries = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in files), reverse=True)
        total = 0
        for _, size, p in entries:
            total += size
            if total > limit:
                p.unlink(missing_ok=True)
