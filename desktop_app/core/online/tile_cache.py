"""Resumable per-tile cache of a fetch, and stitching the tiles into one GeoTIFF.

Each finished tile is saved at once (temporary name, then rename), so a
fetch that is cancelled, loses its connection or hits a quota keeps every
tile it already has; running the same request again fetches only the rest.
Tiles hold uint16 Sentinel-2 digital numbers, 0 = no data.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from ..atomic import atomic_open, write_text_atomic
from ..errors import SatSegError
from ..geotiff import GeoTiffWriter
from ..jobs import Job, ensure_job
from .roi import Grid
from .tiling import Tile

NODATA_DN = 0
MANIFEST = "manifest.json"


class TileCache:
    """The tile folder of one request (``root/<key>``) with a JSON manifest."""

    def __init__(self, root: str | os.PathLike, key: str) -> None:
        self.root = Path(root)
        self.key = key
        self.dir = self.root / "tiles" / key
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SatSegError(f"cannot create the imagery cache folder {self.dir}: {exc}") from exc

    def path(self, tile: Tile) -> Path:
        return self.dir / f"{tile.key}.npy"

    def has(self, tile: Tile) -> bool:
        return self.path(tile).exists()

    def save(self, tile: Tile, data: np.ndarray) -> None:
        if data.shape[1:] != (tile.height, tile.width):
            raise ValueError(f"tile {tile.key} has shape {data.shape}, expected (*, {tile.height}, {tile.width})")
        with atomic_open(self.path(tile)) as f:
            np.save(f, np.ascontiguousarray(data, dtype=np.uint16))

    def load(self, tile: Tile) -> np.ndarray:
        try:
            return np.load(self.path(tile))
        except (OSError, ValueError) as exc:
            # A damaged tile is dropped so the next run fetches it again.
            self.path(tile).unlink(missing_ok=True)
            raise SatSegError(f"cached tile {self.path(tile)} is damaged and was removed; fetch again") from exc

    def missing(self, tiles: Iterable[Tile]) -> list[Tile]:
        return [t for t in tiles if not self.has(t)]

    def read_manifest(self) -> dict:
        p = self.dir / MANIFEST
        if not p.exists():
            return {}
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def write_manifest(self, manifest: dict) -> None:
        write_text_atomic(self.dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))

    def drop_tiles(self) -> None:
        """Remove the tile files once the stitched GeoTIFF exists (it is the cache then)."""
        for p in self.dir.glob("*.npy"):
            p.unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def stitch(cache: TileCache, tiles: list[Tile], grid: Grid, out_path: Path, band_names: list[str],
           tags: dict, outside_mask: Optional[Callable[[Tile], np.ndarray]] = None,
           job: Optional[Job] = None) -> int:
    """Write all cached tiles into one uint16 GeoTIFF (nodata 0); returns the valid pixel count.

    ``outside_mask(tile)`` gives True for pixels outside the ROI; they are
    written as nodata so the bounding box corners never look like data.
    """
    job = ensure_job(job)
    valid = 0
    with GeoTiffWriter(out_path, width=grid.width, height=grid.height, count=len(band_names), dtype="uint16",
                       transform=grid.transform, crs=grid.crs, nodata=NODATA_DN, band_names=band_names,
                       tags=tags) as w:
        for i, tile in enumerate(tiles):
            data = cache.load(tile)
            if outside_mask is not None:
                data[:, outside_mask(tile)] = NODATA_DN
            # A pixel is nodata when any band is: a half-masked pixel cannot be classified.
            nod = (data == NODATA_DN).any(axis=0)
            data[:, nod] = NODATA_DN
            valid += int((~nod).sum())
            w.write(data, window=tile.window)
            job.step((i + 1) / len(tiles), f"writing tile {i + 1}/{len(tiles)}")
    return valid
