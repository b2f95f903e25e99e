"""A single GeoTIFF / COG (or any single raster file GDAL reads)."""
from __future__ import annotations

import dis
import inspect
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import rasterio
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from ..errors import SatSegError
from ..raster import normalize_band_name
from .base import ImageSource

DN_SCALE = 1e-4  # Sentinel-2 L2A: reflectance = DN / 10000
# How many pixels decide whether float data are reflectance or digital numbers.
SCALING_SAMPLE_PX = 65536


def _reader_line() -> int:
    """The line of rasterio.open that opens a dataset for reading: rasterio attributes the warning to it."""
    code = inspect.unwrap(rasterio.open).__code__
    return next((i.positions.lineno for i in dis.get_instructions(code) if i.argval == "DatasetReader"), 0)


# rasterio.open warns NotGeoreferencedWarning on a file without a geotransform; GeoTiffSource says
# so in the user's words instead. warnings.catch_warnings() around the open would swap the one
# process-wide filter list, which on worker threads drops other threads' filters or leaves an
# "ignore everything" behind (docs/performance.md, "rasterio on worker threads"). So one filter,
# installed once at import, hides that message raised where rasterio.open *reads* a dataset: one
# written without a transform (another line of rasterio.open) still warns. (Should rasterio.open
# no longer name DatasetReader, lineno 0 hides it on every line; a test says so.)
NOT_GEOREFERENCED_READ = dict(action="ignore", message="Dataset has no geotransform, gcps, or rpcs",
                              category=NotGeoreferencedWarning, module=r"rasterio$", lineno=_reader_line())


def quiet_not_georeferenced_reads() -> None:
    warnings.filterwarnings(**NOT_GEOREFERENCED_READ)


quiet_not_georeferenced_reads()


def is_url(path) -> bool:
    return str(path).startswith(("http://", "https://"))


def open_dataset(path: str | Path):
    """rasterio.open with a one-line message for missing, corrupt or non-raster files."""
    if is_url(path):
        # A COG over HTTP(S): GDAL reads only the byte ranges it needs (/vsicurl/; timeouts:
        # core/classify.bounded_gdal_cache sets GDAL_HTTP_TIMEOUT, docs/scale.md).
        p = str(path)
    else:
        p = Path(path)
        if not p.exists():
            raise SatSegError(f"{p} does not exist")
    try:
        return rasterio.open(p)   # not georeferenced: no warning (NOT_GEOREFERENCED_READ); GeoTiffSource says it
    except RasterioError as exc:
        # GDAL's own text names the file again; say it once.
        detail = str(exc).replace(f"'{p}' ", "").replace(f"'{p}'", "it").replace(str(p), "it").strip()
        raise SatSegError(f"{p} is not a raster GDAL can read (corrupt, truncated or another format): "
                          f"{detail}") from exc


def _band_names(ds, path: Path) -> list[str]:
    """Band descriptions when the file has them; for a single-band file named
    like a Sentinel-2 band (``T29RKH_..._B8A_20m.tif``) that band; else band1..N."""
    names = [d.strip() if d else "" for d in ds.descriptions]
    if all(names) and len(set(names)) == len(names):
        return [normalize_band_name(n) for n in names]
    if ds.count == 1:
        from .sentinel2 import band_name_in_filename

        name = band_name_in_filename(path)
        if name and name != "SCL":
            return [name]
    return [f"band{i}" for i in range(1, ds.count + 1)]


class GeoTiffSource(ImageSource):
    """Reflectance from one multi-band file.

    Values are scaled to reflectance: the file's own scale/offset tags when it
    has them; otherwise integer data is taken as Sentinel-2 style digital
    numbers (x 1e-4), and float data whose values run far above 1 too.
    """

    kind = "GeoTIFF"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self.ds = open_dataset(path)
        ds = self.ds
        self.width, self.height = ds.width, ds.height
        self.transform, self.crs = ds.transform, ds.crs
        if self.crs is None:
            self.ds.close()
            raise SatSegError(f"{path} has no coordinate reference system or geotransform "
                              "(not a georeferenced image, or the file is truncated)")
        self.band_names = _band_names(ds, Path(path))
        self.nodatavals = ds.nodatavals
        flags = ds.mask_flag_enums
        self.dataset_mask = all(v is None for v in self.nodatavals) and any(
            MaskFlags.per_dataset in f for f in flags
        )
        self.scales, self.offsets = self._scaling()
        self.metadata.update({"source": "geotiff", "path": self.path, "dtype": ds.dtypes[0]})
        self.metadata.update({k: v for k, v in ds.tags().items() if k.startswith("SATSEG_")})

    def _scaling(self) -> tuple[np.ndarray, np.ndarray]:
        ds = self.ds
        scales = np.array(ds.scales, dtype=np.float64)
        offsets = np.array(ds.offsets, dtype=np.float64)
        if not (np.all(scales == 1) and np.all(offsets == 0)):
            return scales, offsets
        if np.issubdtype(np.dtype(ds.dtypes[0]), np.integer):
            return np.full(ds.count, DN_SCALE), np.zeros(ds.count)
        # Float data: reflectance already, unless it looks like digital numbers.
        valid = self._scaling_sample()
        if valid.size and np.nanpercentile(valid, 99) > 50:
            return np.full(ds.count, DN_SCALE), np.zeros(ds.count)
        return np.ones(ds.count), np.zeros(ds.count)

    def _scaling_sample(self, target_px: int = SCALING_SAMPLE_PX) -> np.ndarray:
        """Valid raw values from a small part of the image, read cheaply: the smallest overview
        when the file has one, else a few of its own blocks spread over it. A decimated read
        of the whole file would read every pixel (a second full pass for `satseg classify`)."""
        ds = self.ds
        indexes = list(range(ds.count))
        overviews = ds.overviews(1)
        if overviews:
            f = overviews[-1]
            shape = (max(1, self.height // f), max(1, self.width // f))
            raw, nodata = self._raw(Window(0, 0, self.width, self.height), indexes, shape)
            return raw[:, ~nodata]
        parts = []
        for w in self.sample_windows(target_px):
            raw, nodata = self._raw(w, indexes, None)
            parts.append(raw[:, ~nodata])
        return np.concatenate(parts, axis=1)

    def has_overviews(self) -> bool:
        return bool(self.ds.overviews(1))

    def sample_windows(self, target_px: int = 262_144, count: int = 16) -> list[Window]:
        """Up to ``count`` of the file's own blocks spread over it (each decompressed once)."""
        ds = self.ds
        bh, bw = ds.block_shapes[0]
        per_block = max(1, min(bh, self.height) * min(bw, self.width))
        windows = [w for _, w in ds.block_windows(1)]
        want = min(len(windows), max(1, -(-target_px // per_block)), count)
        picks = sorted({round(i * (len(windows) - 1) / max(want - 1, 1)) for i in range(want)})
        return [windows[i] for i in picks]

    def _raw(self, window: Window, indexes: list[int], out_shape: Optional[tuple[int, int]]):
        shape = out_shape or (int(window.height), int(window.width))
        try:
            raw = self.ds.read(
                [i + 1 for i in indexes], window=window, out_shape=(len(indexes), *shape),
                resampling=Resampling.nearest if out_shape is None else Resampling.average,
            )
            nodata = np.zeros(shape, dtype=bool)
            if self.dataset_mask:
                nodata |= self.ds.dataset_mask(window=window, out_shape=shape) == 0
        except RasterioError as exc:
            raise SatSegError(f"cannot read {self.path}: the file is corrupt or truncated ({exc})") from exc
        for k, i in enumerate(indexes):
            nd = self.nodatavals[i]
            if nd is not None:
                nodata |= raw[k] == nd if not np.isnan(nd) else np.isnan(raw[k])
        return raw, nodata

    def _read(self, window, indexes, out_shape):
        raw, nodata = self._raw(window, indexes, out_shape)
        data = raw.astype(np.float32, copy=False)   # float32 files: the array just read, no copy
        for k, i in enumerate(indexes):
            if self.scales[i] != 1 or self.offsets[i] != 0:
                data[k] *= np.float32(self.scales[i])
                data[k] += np.float32(self.offsets[i])
        nodata |= ~np.isfinite(data).all(axis=0)
        data[:, nodata] = 0.0
        return data, nodata

    def close(self) -> None:
        self.ds.close()
