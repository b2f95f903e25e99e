"""XYZ map tiles (Web Mercator, 256 px) rendered on demand from a raster: imagery and class maps.

A tile is read from the source grid, never from a whole-image copy: the tile's footprint is
turned into a source window, read at the resolution the tile needs (GDAL then reads the
file's overviews, or the ones built into the user cache, see overviews.py) and warped onto
the tile's grid in memory. So a tile costs the same at any image size, and memory is one
tile's window. Zoomed in past the image's pixels, nearest neighbour shows the real pixels.
docs/performance.md, "Map tiles".
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
from affine import Affine
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from ..geo import WEB_MERCATOR, as_crs

TILE = 256
ORIGIN = 20037508.342789244          # half the Web Mercator world, metres


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of XYZ tile z/x/y in EPSG:3857 metres (y counts down from the north)."""
    size = 2 * ORIGIN / 2 ** z
    left, top = -ORIGIN + x * size, ORIGIN - y * size
    return left, top - size, left + size, top


def tile_transform(z: int, x: int, y: int, size: int = TILE) -> Affine:
    left, bottom, right, top = tile_bounds(z, x, y)
    return Affine((right - left) / size, 0, left, 0, -(top - bottom) / size, top)


def native_zoom(transform: Affine, crs, width: int, height: int) -> int:
    """The zoom whose tile pixels are about the image's own pixels (the deepest worth building)."""
    left, bottom, right, top = transform_bounds(as_crs(crs), WEB_MERCATOR, *_grid_bounds(transform, width, height))
    metres = (right - left) / width
    return max(0, min(24, math.ceil(math.log2(2 * ORIGIN / TILE / metres))))


def _grid_bounds(transform: Affine, width: int, height: int):
    from rasterio.transform import array_bounds

    return array_bounds(height, width, transform)


def source_window(transform: Affine, crs, width: int, height: int, z: int, x: int, y: int,
                  pad: int = 2) -> Optional[Window]:
    """The source window under tile z/x/y (a few pixels of margin for the warp), None if outside."""
    left, bottom, right, top = transform_bounds(WEB_MERCATOR, as_crs(crs), *tile_bounds(z, x, y), densify_pts=21)
    w = from_bounds(left, bottom, right, top, transform)
    c0, r0 = math.floor(w.col_off) - pad, math.floor(w.row_off) - pad
    c1, r1 = math.ceil(w.col_off + w.width) + pad, math.ceil(w.row_off + w.height) + pad
    c0, r0, c1, r1 = max(0, c0), max(0, r0), min(width, c1), min(height, r1)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def read_shape(window: Window, z: int, transform: Affine, crs) -> tuple[int, int]:
    """How many source pixels to read for a window: its own size, or fewer when the tile is coarser
    (then GDAL reads an overview). Twice the tile's resolution keeps the warp from aliasing."""
    left, bottom, right, top = tile_bounds(z, 0, 0)
    tile_px_m = (right - left) / TILE
    src_px_m = abs(transform.a) * (1.0 if not as_crs(crs).is_geographic else 111_320.0)
    f = max(1.0, tile_px_m / src_px_m / 2)
    return max(1, round(window.height / f)), max(1, round(window.width / f))


def warp_tile(data: np.ndarray, src_transform: Affine, crs, z: int, x: int, y: int, nodata,
              resampling=Resampling.nearest) -> np.ndarray:
    """(bands, 256, 256) of ``data`` (bands, rows, cols) on tile z/x/y; ``nodata`` where outside."""
    out = np.full((data.shape[0], TILE, TILE), nodata, data.dtype)
    reproject(data, out, src_transform=src_transform, src_crs=as_crs(crs), src_nodata=nodata,
              dst_transform=tile_transform(z, x, y), dst_crs=WEB_MERCATOR, dst_nodata=nodata,
              resampling=resampling)
    return out


def image_tile(source, bands: Sequence, z: int, x: int, y: int,
               levels: Sequence = ()) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(float32 (3, 256, 256) reflectance, (256, 256) valid) of an ImageSource or Raster; None if outside.

    ``levels``: (factor, ImageSource) reduced copies of the image (overviews.py); a coarse
    tile reads the coarsest one that still has twice the tile's resolution.
    """
    w = source_window(source.transform, source.crs, source.width, source.height, z, x, y)
    if w is None:
        return None
    shape = read_shape(w, z, source.transform, source.crs)
    f = int(w.height) / shape[0]
    usable = [(k, lv) for k, lv in levels if k <= f]
    if usable:
        k, level = max(usable, key=lambda item: item[0])
        c0, r0 = int(w.col_off) // k, int(w.row_off) // k
        c1 = min(level.width, -(-int(w.col_off + w.width) // k))
        r1 = min(level.height, -(-int(w.row_off + w.height) // k))
        source, w = level, Window(c0, r0, max(1, c1 - c0), max(1, r1 - r0))
        shape = (max(1, min(int(w.height), shape[0])), max(1, min(int(w.width), shape[1])))
    if hasattr(source, "_read"):            # an ImageSource: decimated reads come from overviews
        from ..raster import resolve_bands

        idx = resolve_bands(source.band_names, bands)
        full = shape == (int(w.height), int(w.width))
        data, nodata = source._read(w, idx, None if full else shape)
    else:                                    # an in-memory Raster
        r = source.window(w).select(list(bands))
        data, nodata = r.data, r.nodata_mask
        shape = data.shape[1:]
    t = source.transform @ Affine.translation(w.col_off, w.row_off) @ \
        Affine.scale(w.width / shape[1], w.height / shape[0])
    nan = np.float32(np.nan)
    data = np.where(nodata[None], nan, data).astype(np.float32, copy=False)
    tile = warp_tile(data, t, source.crs, z, x, y, nan)
    valid = np.isfinite(tile).all(axis=0)
    return np.nan_to_num(tile, nan=0.0), valid


class ImageTiles:
    """``(z, x, y) -> PNG or None`` for an image: its display bands, stretched with fixed limits.

    GDAL handles must not be shared between threads, so each tile thread opens the image
    (and its reduced levels) once with ``opener(path)``. They are never closed from another
    thread (a tile may be reading): they go with the renderer, once no tile uses it.
    """

    def __init__(self, opener, path, bands: Sequence, limits: np.ndarray, level_paths: Sequence = (),
                 slow_below: Optional[int] = None) -> None:
        import threading

        self.opener, self.path, self.bands, self.limits = opener, path, list(bands), limits
        self.level_paths = list(level_paths)        # (factor, path)
        self.slow_below = slow_below                # zooms under it read every block (no overviews yet)
        self._local = threading.local()

    def slow(self, z: int) -> bool:
        """True for a tile that costs seconds (the scheme handler draws it on its slow lane)."""
        return self.slow_below is not None and z < self.slow_below

    def _sources(self):
        got = getattr(self._local, "sources", None)
        if got is None:
            from ..sources import open_image

            main = self.opener(self.path)
            levels = [(k, open_image(str(p), check_valid=False)) for k, p in self.level_paths]
            got = self._local.sources = (main, levels)
        return got

    def __call__(self, z: int, x: int, y: int) -> Optional[bytes]:
        from ..display import encode_png, stretch_to_rgba

        main, levels = self._sources()
        got = image_tile(main, self.bands, z, x, y, levels)
        if got is None or not got[1].any():
            return None
        return encode_png(stretch_to_rgba(got[0], got[1], self.limits))


def class_tile(class_array: np.ndarray, transform: Affine, crs, z: int, x: int, y: int,
               nodata: int = 255) -> Optional[np.ndarray]:
    """uint8 (256, 256) class ids of a class array on tile z/x/y (nearest; ``nodata`` outside)."""
    h, w_ = class_array.shape
    w = source_window(transform, crs, w_, h, z, x, y)
    if w is None:
        return None
    shape = read_shape(w, z, transform, crs)
    sl = class_array[w.toslices()]
    # Decimated by striding (nearest), so a coarse tile never touches every pixel of the window.
    fr, fc = max(1, int(w.height) // shape[0]), max(1, int(w.width) // shape[1])
    sub = np.ascontiguousarray(sl[fr // 2::fr, fc // 2::fc])
    t = transform @ Affine.translation(w.col_off, w.row_off) @ Affine.scale(fc, fr)
    return warp_tile(sub[None], t, crs, z, x, y, nodata)[0]


def class_rgba(tile: np.ndarray, colors: dict, alphas: dict) -> np.ndarray:
    """(256, 256, 4) uint8: each class id in its colour and opacity (0..1); others transparent."""
    from ..classes import hex_to_rgb

    lut = np.zeros((256, 4), np.uint8)
    for cid, color in colors.items():
        a = alphas.get(cid, 0.0)
        if a > 0:
            lut[cid, :3] = hex_to_rgb(color)
            lut[cid, 3] = round(255 * a)
    return lut[tile]


class ClassTiles:
    """Mask tiles of one class array, one layer per class (each keeps its own opacity and
    visibility in the page); the warped class tile is shared by the layers (small LRU)."""

    def __init__(self, class_array: np.ndarray, transform: Affine, crs, keep: int = 512) -> None:
        import threading
        from collections import OrderedDict

        self.class_array, self.transform, self.crs = class_array, transform, crs
        self._cache: "OrderedDict[tuple, Optional[np.ndarray]]" = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> Optional[np.ndarray]:
        key = (z, x, y)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        t = class_tile(self.class_array, self.transform, self.crs, z, x, y)
        with self._lock:
            self._cache[key] = t
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        return t

    def layer(self, class_id: int, color: str):
        """``(z, x, y) -> PNG or None`` of one class's mask in ``color``."""
        from ..display import encode_mask_png

        def render(z: int, x: int, y: int) -> Optional[bytes]:
            t = self.tile(z, x, y)
            if t is None:
                return None
            mask = t == class_id
            return encode_mask_png(mask, color) if mask.any() else None
        return render
