"""Writing GeoTIFFs: whole rasters or block by block, through the one atomic writer.

GDAL writes a temporary file beside the destination (``core.atomic``); on
close the writer checks GDAL's error state and the file itself (every block
the TIFF's tables point to must lie inside the file: a full disk leaves a
short file that GDAL does not always report), and only then renames it into
place. A failure (cancel, full disk, crash) never leaves a half-written file
where a user expects a result, and keeps the previous one (docs/data-safety.md).
"""
from __future__ import annotations

import ctypes
import functools
import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from .atomic import AtomicFile, incomplete_reason
from .errors import SatSegError
from .raster import Raster

CLASSES_TAG = "SATSEG_CLASSES"
_CE_FAILURE = 3   # GDAL's CPLErr for an error (CE_Warning = 2)


@functools.lru_cache(maxsize=1)
def _gdal_c_api():
    """GDAL's C error functions from the library rasterio links (None where they cannot be reached).

    rasterio ignores the return codes of GDALFlushCache/GDALClose, so a
    failure while the last blocks are written is only in GDAL's error state.
    """
    import glob

    import rasterio._base

    candidates = [rasterio._base.__file__]
    candidates += glob.glob(os.path.join(os.path.dirname(rasterio.__file__) + ".libs", "*gdal*"))
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
            lib.CPLGetLastErrorType.restype = ctypes.c_int
            lib.CPLGetLastErrorMsg.restype = ctypes.c_char_p
            lib.CPLErrorReset.restype = None
        except (OSError, AttributeError):
            continue
        try:
            # libtiff prints write errors ("_tiffWriteProc: No space left on device") straight to
            # stderr, past GDAL; the writer's own check reports them in one clear line instead.
            lib.TIFFSetErrorHandler(None)
        except AttributeError:
            pass
        return lib
    return None


def _gdal_reset_error() -> None:
    lib = _gdal_c_api()
    if lib is not None:
        lib.CPLErrorReset()


def _gdal_failure() -> Optional[str]:
    """GDAL's last error message on this thread if it is a failure, else None."""
    lib = _gdal_c_api()
    if lib is None or lib.CPLGetLastErrorType() < _CE_FAILURE:
        return None
    return (lib.CPLGetLastErrorMsg() or b"").decode("utf-8", "replace") or "GDAL reported an error"


def verify_geotiff(path: Path) -> None:
    """Raise SatSegError unless ``path`` opens and every data block it indexes lies inside the file."""
    size = path.stat().st_size
    try:
        with rasterio.open(path) as ds:
            for bidx in ds.indexes:
                for (row, col), _w in ds.block_windows(bidx):
                    offset = ds.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=bidx)
                    nbytes = ds.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=bidx)
                    if int(offset or 0) + int(nbytes or 0) > size:
                        raise SatSegError(incomplete_reason(path.parent))
    except SatSegError:
        raise
    except Exception as exc:   # it does not even open: the header or the tables are cut off
        raise SatSegError(f"{incomplete_reason(path.parent)} ({exc})") from exc


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
        self._file = AtomicFile(path)
        self.path = self._file.dest
        self.tmp = self._file.tmp
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
        _gdal_reset_error()
        try:
            self.ds = rasterio.open(self.tmp, "w", **profile)
        except Exception as exc:  # rasterio/GDAL raise many kinds
            self._file.discard()
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
        """Close the dataset; keep the file only if GDAL reported nothing and the file is whole."""
        error = None
        _gdal_reset_error()
        try:
            self.ds.close()
        except Exception as exc:
            error = str(exc)
        error = error or _gdal_failure()
        if not commit or error is not None:
            self._file.discard()
            if error is not None:
                raise SatSegError(f"cannot write {self.path}: {error}")
            return

        def check(tmp: Path) -> None:
            try:
                verify_geotiff(tmp)
            except SatSegError as exc:
                raise SatSegError(f"cannot write {self.path}: {exc}") from None

        self._file.commit(verify=check)

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
