"""Writing GeoTIFFs: whole rasters or block by block, always atomically.

A file is written under a temporary name beside its destination and renamed
into place only when complete, so a failure (cancel, full disk, crash) never
leaves a half-written file where a user expects a result.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from .errors import SatSegError
from .raster import Raster

CLASSES_TAG = "SATSEG_CLASSES"


class GeoTiffWriter:
    """Open a tiled, compressed GeoTIFF for windowed writing.

    Use as a context manager; on a clean exit the file is renamed into place,
    on an exception the temporary file is removed and the destination left
    untouched.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        width: int,
        height: int,
        count: int,
        dtype: str,
        transform: Affine,
        crs: CRS,
        nodata: Optional[float] = None,
        band_names: Optional[Sequence[str]] = None,
        tags: Optional[dict] = None,
        colormap: Optional[dict] = None,
        compress: str = "deflate",
    ) -> None:
        self.path = Path(path)
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise SatSegError(f"cannot write {self.path}: folder {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise SatSegError(f"cannot write {self.path}: folder {parent} is not writable")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent)
        os.close(fd)
        self.tmp = Path(tmp)
        tiled = width >= 256 and height >= 256
        profile = dict(
            driver="GTiff", width=width, height=height, count=count, dtype=dtype,
            transform=transform, crs=crs, nodata=nodata, compress=compress,
            tiled=tiled, BIGTIFF="IF_SAFER",
        )
        if tiled:
            profile.update(blockxsize=256, blockysize=256)
        if dtype in ("float32", "float64"):
            profile["predictor"] = 3
        elif dtype in ("uint16", "int16"):
            profile["predictor"] = 2
        try:
            self.ds = rasterio.open(self.tmp, "w", **profile)
        except Exception as exc:  # rasterio/GDAL raise many kinds
            self.tmp.unlink(missing_ok=True)
            raise SatSegError(f"cannot write {self.path}: {exc}") from exc
        if band_names:
            for i, name in enumerate(band_names, start=1):
                self.ds.set_band_description(i, str(name))
        if tags:
            self.ds.update_tags(**{k: (v if isinstance(v, str) else json.dumps(v)) for k, v in tags.items()})
        if colormap:
            self.ds.write_colormap(1, colormap)

    def write(self, array: np.ndarray, window: Optional[Window] = None) -> None:
        if array.ndim == 2:
            array = array[None]
        try:
            self.ds.write(array.astype(self.ds.dtypes[0], copy=False), window=window)
        except Exception as exc:
            raise SatSegError(f"cannot write {self.path}: {exc}") from exc

    def close(self, commit: bool = True) -> None:
        try:
            self.ds.close()
        except Exception as exc:
            commit = False
            error = exc
        else:
            error = None
        if commit:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
        if error is not None:
            raise SatSegError(f"cannot write {self.path}: {error}") from error

    def __enter__(self) -> "GeoTiffWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)


def write_raster(path: str | os.PathLike, raster: Raster, *, nodata: float = np.nan,
                 tags: Optional[dict] = None) -> Path:
    """Write a reflectance Raster as float32; nodata pixels get ``nodata``."""
    data = raster.data.copy()
    data[:, raster.nodata_mask] = nodata
    with GeoTiffWriter(
        path, width=raster.width, height=raster.height, count=raster.count, dtype="float32",
        transform=raster.transform, crs=raster.crs, nodata=nodata, band_names=raster.band_names,
        tags=tags,
    ) as w:
        w.write(data)
    return Path(path)
