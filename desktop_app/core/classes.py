"""Land-cover classes and the class-raster file format.

A class raster is a uint8 GeoTIFF: 0 = unclassified, 1..K = classes, 255 =
nodata. It carries a colour table and the class list as JSON in the dataset
tag ``SATSEG_CLASSES`` (``[{"id": 1, "name": "water", "color": "#1f78b4"}, ...]``),
so any GIS shows it in colour and SatSeg reads the names back.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from .errors import SatSegError
from .geotiff import CLASSES_TAG, GeoTiffWriter

UNCLASSIFIED = 0
NODATA = 255
MAX_CLASSES = 254

# ColorBrewer-style qualitative palette; first colours match common LULC legends.
DEFAULT_PALETTE = [
    "#1f78b4", "#e31a1c", "#a6d854", "#bf812d", "#1b7837", "#ff7f00", "#6a3d9a",
    "#b15928", "#fb9a99", "#cab2d6", "#ffff99", "#8dd3c7", "#80b1d3", "#fdb462",
]
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def normalize_color(value: Optional[str], index: int) -> str:
    """'#RRGGBB' lower case, or the palette colour for ``index`` (0-based)."""
    if isinstance(value, str):
        m = _HEX.match(value.strip())
        if m:
            return "#" + m.group(1).lower()
    return DEFAULT_PALETTE[index % len(DEFAULT_PALETTE)]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    color: str

    def to_dict(self) -> dict:
        return asdict(self)


def generic_classes(ids: Sequence[int]) -> list[ClassInfo]:
    return [ClassInfo(int(i), f"class {int(i)}", normalize_color(None, int(i) - 1)) for i in ids]


def colormap(classes: Sequence[ClassInfo]) -> dict[int, tuple[int, int, int, int]]:
    cmap = {i: (0, 0, 0, 0) for i in range(256)}
    for c in classes:
        cmap[c.id] = (*hex_to_rgb(c.color), 255)
    return cmap


def class_raster_writer(path: str | os.PathLike, *, width: int, height: int, transform: Affine, crs: CRS,
                        classes: Sequence[ClassInfo], extra_tags: Optional[dict] = None) -> GeoTiffWriter:
    tags = {CLASSES_TAG: json.dumps([c.to_dict() for c in classes])}
    tags.update(extra_tags or {})
    return GeoTiffWriter(
        path, width=width, height=height, count=1, dtype="uint8", transform=transform, crs=crs,
        nodata=NODATA, tags=tags, colormap=colormap(classes), band_names=["class"],
    )


def write_class_raster(path, array: np.ndarray, transform: Affine, crs: CRS,
                       classes: Sequence[ClassInfo], extra_tags: Optional[dict] = None) -> None:
    with class_raster_writer(path, width=array.shape[1], height=array.shape[0], transform=transform,
                             crs=crs, classes=classes, extra_tags=extra_tags) as w:
        w.write(array.astype(np.uint8))


def classes_from_tags(tags: dict, present_ids: Sequence[int] = ()) -> list[ClassInfo]:
    """Class list from a dataset's tags; generic names when the tag is absent or broken."""
    raw = tags.get(CLASSES_TAG)
    if raw:
        try:
            items = json.loads(raw)
            return [ClassInfo(int(d["id"]), str(d["name"]), normalize_color(d.get("color"), int(d["id"]) - 1))
                    for d in items]
        except (ValueError, KeyError, TypeError):
            pass
    return generic_classes(sorted(int(i) for i in present_ids if 0 < int(i) < NODATA))


def read_class_raster(path) -> tuple[np.ndarray, Affine, CRS, list[ClassInfo]]:
    """(uint8 array, transform, crs, classes) of a class raster."""
    from .sources.geotiff_source import open_dataset

    with open_dataset(path) as ds:
        if ds.count != 1 or ds.dtypes[0] != "uint8":
            raise SatSegError(f"{path} is not a class raster (expected one uint8 band, found "
                              f"{ds.count} band(s) of {ds.dtypes[0]})")
        try:
            array = ds.read(1)
        except Exception as exc:
            raise SatSegError(f"cannot read {path}: {exc}") from exc
        tags = ds.tags()
        present = np.unique(array) if CLASSES_TAG not in tags else ()
        return array, ds.transform, ds.crs, classes_from_tags(tags, present)


def read_class_raster_on_grid(path, height: int, width: int, transform: Affine, crs: CRS,
                              job=None) -> tuple[np.ndarray, list[ClassInfo], bool]:
    """(uint8 array on the given grid, classes, resampled?) of a class raster.

    On the grid already: its pixels as they are. Otherwise nearest-neighbour
    through a WarpedVRT read by windows (class ids are never blended; only the
    output array is held); pixels it does not cover are 255. Disjoint grids: a
    SatSegError. The file itself is not changed (how the app shows an Earth Engine result, docs/scale.md).
    """
    from rasterio.coords import disjoint_bounds
    from rasterio.transform import array_bounds
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import Resampling, transform_bounds
    from rasterio.windows import Window

    from .jobs import ensure_job
    from .sources.geotiff_source import open_dataset

    job = ensure_job(job)
    with open_dataset(path) as ds:
        if ds.count != 1 or ds.dtypes[0] != "uint8":
            raise SatSegError(f"{path} is not a class raster (expected one uint8 band, found "
                              f"{ds.count} band(s) of {ds.dtypes[0]})")
        tags = ds.tags()
        if (ds.height, ds.width) == (height, width) and ds.crs == crs and ds.transform.almost_equals(transform):
            array = ds.read(1)
            return array, classes_from_tags(tags, np.unique(array) if CLASSES_TAG not in tags else ()), False
        if ds.crs is None or crs is None:
            raise SatSegError(f"{path} and the open image both need a CRS to be drawn together")
        mine = array_bounds(height, width, transform)
        theirs = transform_bounds(ds.crs, crs, *array_bounds(ds.height, ds.width, ds.transform))
        if disjoint_bounds(mine, theirs) or theirs[0] >= mine[2] or mine[0] >= theirs[2] \
                or theirs[1] >= mine[3] or mine[1] >= theirs[3]:
            raise SatSegError(f"{os.path.basename(str(path))} does not overlap the open image")
        out = np.full((height, width), NODATA, np.uint8)
        step = 1024
        windows = [Window(c, r, min(step, width - c), min(step, height - r))
                   for r in range(0, height, step) for c in range(0, width, step)]
        with WarpedVRT(ds, crs=crs, transform=transform, width=width, height=height, resampling=Resampling.nearest,
                       src_nodata=NODATA if ds.nodata is None else ds.nodata, nodata=NODATA) as vrt:
            for i, win in enumerate(windows):
                out[win.row_off:win.row_off + win.height, win.col_off:win.col_off + win.width] = \
                    vrt.read(1, window=win)
                job.step((i + 1) / len(windows), "resampling the class raster onto the image's grid")
    return out, classes_from_tags(tags, np.unique(out) if CLASSES_TAG not in tags else ()), True
