"""Region growing: the connected, spectrally similar pixels around a clicked pixel.

Rule (docs/analysis.md, "Region growing"): a pixel joins when its Euclidean
distance to the seed pixel's spectrum (reflectance, over the chosen bands)
is at most ``max_distance``, it lies within ``max_radius`` pixels of the seed
(a disc), it is not nodata, and it is 4-connected to the seed through such
pixels. Only the window around the seed is read, so the cost depends on the
radius, not on the image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from rasterio.windows import Window
from scipy import ndimage

from ..errors import SatSegError
from ..raster import BandRef, Raster

MAX_RADIUS_PX = 500


@dataclass
class GrownRegion:
    mask: np.ndarray          # bool (rows, cols) on the window grid
    transform: Affine         # of the window
    crs: object
    seed: tuple[int, int]     # (row, col) in the image
    pixels: int

    def polygon(self) -> shapely.Geometry:
        """The region as a (Multi)Polygon in the raster CRS (pixel edges, holes kept)."""
        polys = [shapely.geometry.shape(g) for g, v in
                 features.shapes(self.mask.astype(np.uint8), mask=self.mask, transform=self.transform,
                                 connectivity=4) if v]
        return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def grow_region_array(data: np.ndarray, seed: tuple[int, int], max_distance: float, max_radius: float,
                      nodata: Optional[np.ndarray] = None) -> np.ndarray:
    """bool mask of the region grown from ``seed`` (row, col) in a (bands, rows, cols) array."""
    if data.ndim != 3:
        raise SatSegError("region growing needs a (bands, rows, cols) array")
    r, c = seed
    h, w = data.shape[1:]
    if not (0 <= r < h and 0 <= c < w):
        raise SatSegError("the clicked point is outside the image")
    if max_distance < 0 or max_radius < 0:
        raise SatSegError("the distance limit and the radius must not be negative")
    valid = np.isfinite(data).all(axis=0)
    if nodata is not None:
        valid &= ~nodata
    if not valid[r, c]:
        raise SatSegError("the clicked pixel has no data")
    diff = data - data[:, r, c][:, None, None]
    close = np.einsum("bij,bij->ij", diff, diff) <= np.float32(max_distance) ** 2
    rows, cols = np.ogrid[:h, :w]
    close &= (rows - r) ** 2 + (cols - c) ** 2 <= max_radius ** 2
    close &= valid
    labels, _ = ndimage.label(close)   # 4-connectivity (scipy's default structure)
    return labels == labels[r, c]


def grow_region(source, row: int, col: int, max_distance: float, max_radius: float,
                bands: Optional[Sequence[BandRef]] = None) -> GrownRegion:
    """Grow a region on an ImageSource (or an in-memory Raster) from pixel (row, col)."""
    if max_radius > MAX_RADIUS_PX:
        raise SatSegError(f"the maximum radius is {MAX_RADIUS_PX} pixels")
    if not (0 <= row < source.height and 0 <= col < source.width):
        raise SatSegError("the clicked point is outside the image")
    rad = int(np.ceil(max_radius))
    r0, c0 = max(0, row - rad), max(0, col - rad)
    r1, c1 = min(source.height, row + rad + 1), min(source.width, col + rad + 1)
    window = Window(c0, r0, c1 - c0, r1 - r0)
    if isinstance(source, Raster):
        block = source.window(window).select(bands)
    else:
        block = source.read(window, bands=bands)
    mask = grow_region_array(block.data, (row - r0, col - c0), max_distance, max_radius, block.nodata_mask)
    return GrownRegion(mask, block.transform, block.crs, (row, col), int(mask.sum()))
