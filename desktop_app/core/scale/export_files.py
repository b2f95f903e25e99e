"""The files an Earth Engine export wrote, and one class GeoTIFF made of them (docs/scale.md).

Earth Engine names an export's files by its ``fileNamePrefix``: ``PREFIX.tif``,
or, when it splits a large image, ``PREFIX-RRRRRRRRRR-CCCCCCCCCC.tif`` tiles
on one grid. They are found with Drive v3 ``files.list`` (a ``q`` on the
name and the folder) or the Cloud Storage JSON API's object list (``prefix``),
read with ``alt=media``, and mosaicked by their own geotransforms, window by
window, into one class raster with the local engine's tags and colours.
"""
from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote

import numpy as np

from ..errors import SatSegError

DRIVE_API = "https://www.googleapis.com/drive/v3"
STORAGE_API = "https://storage.googleapis.com/storage/v1"
FOLDER_MIME = "application/vnd.google-apps.folder"
WINDOW = 1024          # mosaic window side: 1 MB of uint8 per window, whatever the export's size
MOSAIC_GDAL_CACHE = 32 * 2 ** 20


@dataclass
class Remote:
    """One file of an export: where to GET it and what it must be."""

    name: str
    url: str
    size: Optional[int]
    md5: Optional[str]                       # hex
    params: dict = field(default_factory=lambda: {"alt": "media"})


def export_name(prefix: str) -> re.Pattern:
    """File names Earth Engine gives an export: PREFIX.tif or its split tiles PREFIX-<row>-<col>.tif."""
    return re.compile(re.escape(prefix) + r"(-\d+-\d+)?\.tif")


def _q(text: str) -> str:
    """A Drive query string literal (backslash and quote escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _time(stamp: Optional[str]) -> Optional[float]:
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000
    except (AttributeError, ValueError):
        return None


def _this_export(items: list[tuple[str, Optional[str], Remote]], status: dict) -> list[Remote]:
    """Files created since the task was (an older export with the same prefix may still be there), newest per name."""
    since = status.get("creation_timestamp_ms")
    newest: dict[str, tuple[float, Remote]] = {}
    for name, created, remote in items:
        t = _time(created)
        if since is not None and t is not None and t < float(since):
            continue
        if name not in newest or (t or 0) > newest[name][0]:
            newest[name] = (t or 0, remote)
    return [newest[n][1] for n in sorted(newest)]


def drive_files(http, folder: str, prefix: str, status: dict, api: str = DRIVE_API) -> list[Remote]:
    """The export's files in the Drive folder Earth Engine wrote to (its id from the task, else by name)."""
    ids = [m.group(1) for u in status.get("destination_uris") or [] for m in [re.search(r"folders/([\w-]+)", u)] if m]
    if not ids:
        # Earth Engine writes into a folder of that name at any level (created in My Drive if none exists).
        q = f"name = {_q(folder)} and mimeType = '{FOLDER_MIME}' and trashed = false"
        ids = [f["id"] for f in http.pages(f"{api}/files", {"q": q, "fields": "nextPageToken,files(id)",
                                                             "pageSize": 1000},
                                           f"looking for the Drive folder '{folder}'", "files")]
    if not ids:
        raise SatSegError(f"there is no folder '{folder}' in the Google Drive of the Earth Engine account; "
                          "it was moved, renamed or deleted")
    parents = " or ".join(f"{_q(i)} in parents" for i in ids)
    # Drive's 'contains' matches a name's prefix; the exact export names are picked below.
    q = f"name contains {_q(prefix)} and trashed = false and mimeType != '{FOLDER_MIME}' and ({parents})"
    pattern = export_name(prefix)
    items = [(f["name"], f.get("createdTime"),
              Remote(f["name"], f"{api}/files/{quote(f['id'], safe='')}",
                     int(f["size"]) if f.get("size") is not None else None, f.get("md5Checksum")))
             for f in http.pages(f"{api}/files", {"q": q, "pageSize": 1000,
                                                  "fields": "nextPageToken,files(id,name,size,md5Checksum,createdTime)"},
                                 f"listing Drive folder '{folder}'", "files")
             if pattern.fullmatch(f["name"])]
    return _this_export(items, status)


def gcs_files(http, bucket: str, prefix: str, status: dict, api: str = STORAGE_API) -> list[Remote]:
    """The export's objects in the Cloud Storage bucket."""
    pattern = export_name(prefix)
    base = f"{api}/b/{quote(bucket, safe='')}/o"
    items = []
    for o in http.pages(base, {"prefix": prefix, "fields": "nextPageToken,items(name,size,md5Hash,timeCreated)"},
                        f"listing gs://{bucket}/{prefix}*", "items"):
        if pattern.fullmatch(o["name"]):
            md5 = base64.b64decode(o["md5Hash"]).hex() if o.get("md5Hash") else None
            items.append((o["name"], o.get("timeCreated"),
                          Remote(o["name"], f"{base}/{quote(o['name'], safe='')}",
                                 int(o["size"]) if o.get("size") is not None else None, md5)))
    return _this_export(items, status)


def _offsets(srcs) -> tuple:
    """The union grid of the tiles (transform, width, height) and each tile's pixel offset in it."""
    from affine import Affine

    t0 = srcs[0].transform
    for s in srcs:
        t = s.transform
        if s.count != 1 or s.dtypes[0] != "uint8":
            raise SatSegError(f"{s.name} is not a class raster (one uint8 band); was it exported by SatSeg?")
        if s.crs != srcs[0].crs or not np.allclose([t.a, t.b, t.d, t.e], [t0.a, t0.b, t0.d, t0.e]) or t.b or t.d:
            raise SatSegError("the export's tiles are not on one north-up grid; they cannot be mosaicked")
    left = min(s.transform.c for s in srcs)
    top = max(s.transform.f for s in srcs)
    width = max(round((s.transform.c - left) / t0.a) + s.width for s in srcs)
    height = max(round((s.transform.f - top) / t0.e) + s.height for s in srcs)
    offsets = []
    for s in srcs:
        x, y = (s.transform.c - left) / t0.a, (s.transform.f - top) / t0.e
        if abs(x - round(x)) > 1e-3 or abs(y - round(y)) > 1e-3:
            raise SatSegError("the export's tiles are not on one pixel grid; they cannot be mosaicked")
        offsets.append((round(x), round(y)))
    return Affine(t0.a, 0, left, 0, t0.e, top), width, height, offsets


def write_class_mosaic(paths, out, classes, tags: dict, roi=None, job=None) -> None:
    """One class GeoTIFF from the export's tile files, by windows (bounded memory, each pixel read once).

    Pixels no tile covers and, with ``roi`` (a core Roi), pixels outside it are 255, as the tile path writes them.
    """
    import contextlib

    import rasterio
    import rasterio.errors
    from rasterio.features import geometry_mask
    from rasterio.windows import Window

    from ..classes import NODATA, class_raster_writer
    from ..jobs import ensure_job

    from ..classify import bounded_gdal_cache

    job = ensure_job(job)
    # A small GDAL cache: windows are written once, in order; a bigger cache only holds the output in memory.
    with bounded_gdal_cache(MOSAIC_GDAL_CACHE), contextlib.ExitStack() as stack:
        try:
            srcs = [stack.enter_context(rasterio.open(p)) for p in paths]
        except rasterio.errors.RasterioIOError as exc:
            raise SatSegError(f"a file of the export is not a GeoTIFF: {exc}") from None
        transform, width, height, offsets = _offsets(srcs)
        shape = None
        if roi is not None:
            from ..geo import WGS84, transform_geometry

            shape = transform_geometry(roi.geometry, WGS84, srcs[0].crs)
        windows = [Window(c, r, min(WINDOW, width - c), min(WINDOW, height - r))
                   for r in range(0, height, WINDOW) for c in range(0, width, WINDOW)]
        with class_raster_writer(out, width=width, height=height, transform=transform, crs=srcs[0].crs,
                                 classes=classes, extra_tags=tags) as w:
            for i, win in enumerate(windows):
                block = np.full((win.height, win.width), NODATA, np.uint8)
                for s, (ox, oy) in zip(srcs, offsets):
                    c0, r0 = max(win.col_off, ox), max(win.row_off, oy)
                    c1, r1 = min(win.col_off + win.width, ox + s.width), min(win.row_off + win.height, oy + s.height)
                    if c1 > c0 and r1 > r0:
                        block[r0 - win.row_off:r1 - win.row_off, c0 - win.col_off:c1 - win.col_off] = \
                            s.read(1, window=Window(c0 - ox, r0 - oy, c1 - c0, r1 - r0))
                if shape is not None:
                    block[geometry_mask([shape], out_shape=block.shape, all_touched=True,
                                        transform=rasterio.windows.transform(win, transform))] = NODATA
                w.write(block, window=win)
                job.step((i + 1) / len(windows), "writing the class raster")
