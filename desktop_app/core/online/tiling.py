"""Split an output grid into request tiles that respect the service limits.

Earth Engine's computePixels refuses a request whose uncompressed result is
over 48 MiB -- counted as every band's bytes plus one mask byte per pixel --
or whose grid is over 32768 px on a side. Tiles are square, a multiple of 256
px where possible (so they match the 256 px blocks of the cached GeoTIFF).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rasterio.windows import Window

from ..raster import iter_windows

MAX_REQUEST_BYTES = 48 * 1024 * 1024
MAX_GRID_SIDE = 32768
MASK_BYTES_PER_PIXEL = 1


@dataclass(frozen=True)
class Tile:
    """One request: a window (x, y, width, height) of the output grid."""

    row: int
    col: int
    x: int
    y: int
    width: int
    height: int

    @property
    def key(self) -> str:
        return f"r{self.row:04d}_c{self.col:04d}"

    @property
    def window(self) -> Window:
        return Window(self.x, self.y, self.width, self.height)


def request_bytes(width: int, height: int, band_count: int, bytes_per_sample: int = 2) -> int:
    """Uncompressed size of a computePixels answer, as the service counts it."""
    return width * height * (band_count * bytes_per_sample + MASK_BYTES_PER_PIXEL)


def max_tile_side(band_count: int, bytes_per_sample: int = 2, max_bytes: int = MAX_REQUEST_BYTES,
                  max_side: int = MAX_GRID_SIDE) -> int:
    """Largest square tile side whose request stays within the limits."""
    per_pixel = band_count * bytes_per_sample + MASK_BYTES_PER_PIXEL
    side = min(math.isqrt(max_bytes // per_pixel), max_side)
    if side >= 256:
        side -= side % 256
    return max(side, 1)


def plan_tiles(width: int, height: int, side: int) -> list[Tile]:
    """Row-major tiles of at most side x side covering a width x height grid exactly."""
    if width <= 0 or height <= 0 or side <= 0:
        raise ValueError("grid and tile sizes must be positive")
    return [Tile(int(w.row_off) // side, int(w.col_off) // side, int(w.col_off), int(w.row_off),
                 int(w.width), int(w.height)) for w in iter_windows(height, width, side)]
