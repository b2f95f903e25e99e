"""Pictures for the map: imagery and class masks as PNGs on a Web Mercator grid.

Leaflet draws an image overlay by stretching it linearly between two lat/lon
corners in Web Mercator screen space. So an overlay lines up with drawn
polygons only if its pixels are on a Web Mercator grid; every picture here is
reprojected to EPSG:3857 first and returned with the lat/lon of that grid's
corners. Qt-free, so it runs on worker threads and in tests without a display.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Optional, Sequence

import numpy as np
from affine import Affine
from PIL import Image
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasterio.transform import array_bounds

from .classes import NODATA, UNCLASSIFIED, ClassInfo, hex_to_rgb
from .geo import WEB_MERCATOR, WGS84, as_crs, reproject_raster, transform_points
from .raster import BandRef, Raster

# Unclassified pixels get their own overlay in a neutral magenta-grey that no
# land-cover palette uses, so "the classifier said no" is never mistaken for a class.
UNCLASSIFIED_COLOR = "#d01c8b"
DEFAULT_MAX_SIZE = 2048
# Up to this many image pixels the display pick is GDAL's own warp (64 MB of pixel numbers).
_GDAL_PICK_PIXELS = 16_000_000


@dataclass
class Overlay:
    """A PNG on a Web Mercator grid and its corners as Leaflet wants them."""

    png: bytes
    bounds: tuple[tuple[float, float], tuple[float, float]]  # ((south, west), (north, east))
    width: int
    height: int
    pixel_count: int = 0  # pixels drawn (non-transparent), for masks
    color: str = ""       # masks: the colour drawn
    grid: Optional[np.ndarray] = None  # masks: the Web Mercator class grid they were cut from (shared)


def latlon_bounds(transform: Affine, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((south, west), (north, east)) of a Web Mercator grid."""
    left, bottom, right, top = array_bounds(height, width, transform)
    lon, lat = transform_points([left, right], [bottom, top], WEB_MERCATOR, WGS84)
    return (float(lat[0]), float(lon[0])), (float(lat[1]), float(lon[1]))


def percentile_limits(data: np.ndarray, valid: np.ndarray, low: float = 2, high: float = 98,
                      max_samples: int = 400_000) -> np.ndarray:
    """(bands, 2) array of the low/high percentiles of each band over valid pixels.

    A regular subsample keeps this fast on big previews; percentiles of a few
    hundred thousand pixels are indistinguishable from the full set.
    """
    bands = data.reshape(data.shape[0], -1)[:, valid.ravel()]
    if bands.shape[1] == 0:
        return np.tile(np.array([0.0, 1.0]), (data.shape[0], 1))
    step = max(1, bands.shape[1] // max_samples)
    lim = np.percentile(bands[:, ::step], [low, high], axis=1).T
    lim[:, 1] = np.maximum(lim[:, 1], lim[:, 0] + 1e-6)
    return lim


def stretch_to_rgba(data: np.ndarray, valid: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """(3, rows, cols) reflectance -> (rows, cols, 4) uint8; nodata transparent."""
    lo = limits[:, 0][:, None, None]
    hi = limits[:, 1][:, None, None]
    rgb = np.clip((data[:3] - lo) / (hi - lo), 0, 1)
    out = np.empty((*data.shape[1:], 4), np.uint8)
    out[..., :3] = np.moveaxis((rgb * 255 + 0.5).astype(np.uint8), 0, -1)
    out[..., 3] = np.where(valid, 255, 0)
    return out


def encode_png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # compress_level 1: these PNGs live for a session; speed beats a few percent of size.
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def encode_mask_png(mask: np.ndarray, color: str) -> bytes:
    """One-colour mask as a 1-bit palette PNG: colour where True, transparent elsewhere.

    Written here (signature, IHDR, PLTE, tRNS, one IDAT, IEND: the PNG specification's
    minimum for an indexed image) from ``np.packbits`` rows and zlib level 1: Pillow
    converts the mask pixel by pixel and took ~4 ms a mask where this takes ~0.5 ms, and a
    threshold change re-encodes every changed class mask (docs/performance.md).
    """
    mask = np.asarray(mask, bool)
    h, w = mask.shape
    raw = np.zeros((h, (w + 7) // 8 + 1), np.uint8)      # each row: filter type 0, then the bits
    raw[:, 1:] = np.packbits(mask, axis=1)
    r, g, b = hex_to_rgb(color)
    return b"".join((b"\x89PNG\r\n\x1a\n",
                     _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 3, 0, 0, 0)),   # 1 bit, palette
                     _png_chunk(b"PLTE", bytes((0, 0, 0, r, g, b))),
                     _png_chunk(b"tRNS", b"\x00"),                                    # index 0 transparent
                     _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)),
                     _png_chunk(b"IEND", b"")))


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def rgb_overlay(raster: Raster, bands: Optional[Sequence[BandRef]] = None, low: float = 2, high: float = 98,
                max_size: int = DEFAULT_MAX_SIZE) -> Overlay:
    """Percentile-stretched RGB of three bands, reprojected to Web Mercator.

    Percentiles come from the source grid (not the warped one) so the look does
    not depend on the map projection; ``bands`` defaults to the first three.
    """
    sel = raster.select(list(bands)) if bands is not None else raster.select(raster.band_names[:3])
    if sel.count < 3:  # a one- or two-band image shows as grey
        idx = [0, min(1, sel.count - 1), min(2, sel.count - 1)]
        sel = Raster(sel.data[idx], sel.transform, sel.crs, [sel.band_names[i] for i in idx], sel.nodata_mask)
    limits = percentile_limits(sel.data, sel.valid_mask, low, high)
    merc = reproject_raster(sel, WEB_MERCATOR, Resampling.bilinear, max_size=max_size)
    rgba = stretch_to_rgba(merc.data, merc.valid_mask, limits)
    return Overlay(encode_png(rgba), latlon_bounds(merc.transform, merc.width, merc.height),
                   merc.width, merc.height, int(merc.valid_mask.sum()))


def classes_to_mercator(class_array: np.ndarray, transform: Affine, crs,
                        max_size: int = DEFAULT_MAX_SIZE) -> tuple[np.ndarray, Affine]:
    """Warp a class raster (uint8, 255 nodata) to Web Mercator with nearest neighbour.

    Nearest neighbour only picks a source pixel for each map pixel, so the pick is
    computed once per grid (a warp of the pixel numbers) and every later class array of
    that grid (a threshold change) is one gather: milliseconds instead of a warp.
    """
    height, width = class_array.shape
    index, dst_t = _mercator_pick(tuple(transform), as_crs(crs).to_wkt(), height, width, max_size)
    # The pick numbers map pixels outside the image to one past the end: a NODATA appended there.
    flat = np.empty(height * width + 1, np.uint8)
    flat[:-1] = class_array.ravel()
    flat[-1] = NODATA
    return np.take(flat, index), dst_t


@lru_cache(maxsize=2)
def _mercator_pick(transform: tuple, wkt: str, height: int, width: int,
                   max_size: int) -> tuple[np.ndarray, Affine]:
    """(map grid of source pixel numbers, height × width outside; its transform) for a grid (see above)."""
    src_t, crs = Affine(*transform[:6]), as_crs(wkt)
    bounds = array_bounds(height, width, src_t)
    dst_t, dst_w, dst_h = calculate_default_transform(crs, WEB_MERCATOR, width, height, *bounds)
    if max(dst_w, dst_h) > max_size:
        f = max(dst_w, dst_h) / max_size
        dst_t, dst_w, dst_h = calculate_default_transform(
            crs, WEB_MERCATOR, width, height, *bounds,
            dst_width=max(1, round(dst_w / f)), dst_height=max(1, round(dst_h / f)))
    if height * width <= _GDAL_PICK_PIXELS:
        # GDAL's own nearest-neighbour pick: a warp of the pixel numbers (4 bytes a pixel).
        pick = np.full((dst_h, dst_w), -1, np.int32)
        numbers = np.arange(height * width, dtype=np.int32).reshape(height, width)
        reproject(numbers, pick, src_transform=src_t, src_crs=crs, src_nodata=-1, dst_transform=dst_t,
                  dst_crs=WEB_MERCATOR, dst_nodata=-1, resampling=Resampling.nearest)
    else:
        # Big grids: the source pixel under each map pixel's centre, from the map grid's
        # side (memory follows the map picture, never the image).
        cols, rows = np.meshgrid(np.arange(dst_w) + 0.5, np.arange(dst_h) + 0.5)
        x, y = dst_t @ (cols.ravel(), rows.ravel())
        sx, sy = transform_points(x, y, WEB_MERCATOR, crs)
        c, r = ~src_t @ (np.asarray(sx), np.asarray(sy))
        c, r = np.floor(c).astype(np.int64), np.floor(r).astype(np.int64)
        inside = (c >= 0) & (c < width) & (r >= 0) & (r < height)
        pick = np.where(inside, r * width + c, -1).reshape(dst_h, dst_w)
        pick = pick.astype(np.int64 if height * width >= 2 ** 31 else np.int32)
    pick[pick < 0] = height * width          # outside the image: the NODATA one past the end
    pick.flags.writeable = False
    return pick, dst_t


def mask_overlays(class_array: np.ndarray, transform: Affine, crs, classes: Iterable[ClassInfo],
                  include_unclassified: bool = True, max_size: int = DEFAULT_MAX_SIZE,
                  previous: Optional[dict] = None) -> dict[int, Overlay]:
    """One transparent PNG per class (key = class id; 0 = unclassified), all on one grid.

    Each mask is its own overlay so the map can change one class's opacity or
    hide it without recomputing anything. ``previous`` (the overlays of the last class
    array of the same grid): a mask whose pixels and colour did not change is that same
    Overlay object, not encoded again (a threshold change moves one or two classes).
    The PNGs are encoded in parallel on the chunk pool (Pillow releases the GIL).
    """
    from .classifiers.pool import chunk_pool

    merc, t = classes_to_mercator(class_array, transform, crs, max_size)
    bounds = latlon_bounds(t, merc.shape[1], merc.shape[0])
    counts = np.bincount(merc.ravel(), minlength=256)
    items = [(c.id, c.color) for c in classes]
    if include_unclassified:
        items.append((UNCLASSIFIED, UNCLASSIFIED_COLOR))
    previous = previous or {}
    old_grid = next((o.grid for o in previous.values() if o.grid is not None), None)
    changed = None
    if old_grid is not None and old_grid.shape == merc.shape:
        diff = old_grid != merc
        moved = np.bincount(old_grid[diff], minlength=256) + np.bincount(merc[diff], minlength=256)
        changed = set(np.flatnonzero(moved).tolist())

    def make(item) -> Overlay:
        cid, color = item
        old = previous.get(cid)
        if changed is not None and cid not in changed and old is not None and old.color == color:
            return replace(old, grid=merc)      # the same PNG bytes: the map keeps its picture
        return Overlay(encode_mask_png(merc == cid, color), bounds, merc.shape[1], merc.shape[0],
                       int(counts[cid]), color, merc)

    return dict(zip([cid for cid, _ in items], chunk_pool().map(make, items)))


def pixel_at(transform: Affine, crs, width: int, height: int, lon: float, lat: float) -> Optional[tuple[int, int]]:
    """(row, col) of the pixel under a WGS84 point, or None outside the grid."""
    x, y = transform_points([lon], [lat], WGS84, crs)
    inv = ~transform
    px, py = float(x[0]), float(y[0])
    col, row = inv.a * px + inv.b * py + inv.c, inv.d * px + inv.e * py + inv.f
    r, c = int(np.floor(row)), int(np.floor(col))
    if 0 <= r < height and 0 <= c < width:
        return r, c
    return None
