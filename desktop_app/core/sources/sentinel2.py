"""Sentinel-2 L2A products stored as one file per band.

Two layouts: a folder of single-band files (``B02.tif``, ``T29RKH_..._B02_10m.jp2``,
the Earth Search / COG archive layout, optionally with its STAC item JSON) and
an ESA ``.SAFE`` product (``GRANULE/*/IMG_DATA/R{10,20,60}m/*.jp2``). Bands of
every resolution are resampled on the fly to the finest grid with a WarpedVRT,
so windowed reads stay cheap and memory stays bounded.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import numpy as np
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT

from ..errors import SatSegError, advised
from ..raster import S2_BANDS, S2_RESOLUTION_M, normalize_band_name
from .base import ImageSource
from .geotiff_source import DN_SCALE, open_dataset

# Scene classification (SCL) values, ESA L2A product specification.
SCL_NODATA = {0}
SCL_DEFECTIVE = {1}
SCL_CLOUD_SHADOW = {3}
SCL_CLOUDS = {8, 9, 10}  # medium / high probability cloud, thin cirrus
SCL_MASKED_WHEN_ASKED = SCL_DEFECTIVE | SCL_CLOUD_SHADOW | SCL_CLOUDS

_BAND_IN_NAME = re.compile(r"(?:^|[_\-.])(B0?[1-9]|B1[0-2]|B8A|SCL)(?:[_\-.]|$)", re.IGNORECASE)
_RES_IN_NAME = re.compile(r"_(10|20|60)m$", re.IGNORECASE)
_EXTENSIONS = {".tif", ".tiff", ".jp2"}


def band_name_in_filename(path: Path) -> Optional[str]:
    """'B02.tif' -> 'B2', 'T29RKH_20200219_B8A_20m.jp2' -> 'B8A', 'SCL.tif' -> 'SCL'."""
    m = _BAND_IN_NAME.search(Path(path).stem)
    if not m:
        return None
    return "SCL" if m.group(1).upper() == "SCL" else normalize_band_name(m.group(1))


def find_band_files(folder: Path) -> dict[str, Path]:
    """Map band name (B2, B8A, SCL, ...) to its file, keeping the finest copy.

    A SAFE product holds some bands at several resolutions (B02 at 10, 20 and
    60 m); the finest wins.
    """
    root = folder
    if folder.suffix.upper() == ".SAFE" or (folder / "GRANULE").is_dir():
        granules = sorted((folder / "GRANULE").glob("*/IMG_DATA"))
        if not granules:
            raise SatSegError(f"{folder} looks like a .SAFE product but has no GRANULE/*/IMG_DATA folder")
        root = granules[0]
    found: dict[str, tuple[int, Path]] = {}
    for f in sorted(root.rglob("*")):
        if f.suffix.lower() not in _EXTENSIONS or not f.is_file():
            continue
        name = band_name_in_filename(f)
        if name is None:
            continue
        res_m = _RES_IN_NAME.search(f.stem)
        res = int(res_m.group(1)) if res_m else S2_RESOLUTION_M.get(name, 20)
        if name not in found or res < found[name][0]:
            found[name] = (res, f)
    return {k: v[1] for k, v in found.items()}


def _read_stac_item(folder: Path) -> dict:
    for f in sorted(folder.glob("*.json")):
        try:
            item = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if item.get("type") == "Feature" and "properties" in item:
            return item
    return {}


def _safe_boa_offsets(folder: Path) -> dict[str, float]:
    """BOA_ADD_OFFSET per band from MTD_MSIL2A.xml (baseline >= 04.00), else {}."""
    mtd = folder / "MTD_MSIL2A.xml"
    if not mtd.exists():
        return {}
    text = mtd.read_text(errors="replace")
    ids = re.findall(r'<BOA_ADD_OFFSET band_id="(\d+)">(-?\d+)</BOA_ADD_OFFSET>', text)
    return {S2_BANDS[int(b)]: float(v) for b, v in ids if int(b) < len(S2_BANDS)}


# Products of processing baseline 04.00 and later (from 25 January 2022) store DN + 1000:
# reflectance = (DN - 1000) / 10000 (docs/sentinel2.md).
OFFSET_BASELINE = 4.0
BASELINE_OFFSET_DN = -1000.0
_BASELINE_IN_NAME = re.compile(r"_N(\d{2})(\d{2})(?:_|\.|$)")
BASELINE_UNKNOWN = (
    "{folder} has no metadata giving its processing baseline (no MTD_MSIL2A.xml, no STAC item, no N#### in "
    "the name): if it is 04.00 or later (products from 25 January 2022 on), every reflectance reads 0.1 too high"
)
# What answers it, where the warning is read (core/errors.py).
BASELINE_CLI = "state it with --baseline 04.00 (or e.g. --baseline 02.14)"
BASELINE_APP = ("if you know it, open the folder again (Open Sentinel-2 folder… in the Image panel) and choose "
                "its baseline when asked")


def parse_baseline(value) -> float:
    """'04.00', '4', 'N0400' or 4.0 -> 4.0; anything else is a clear error."""
    text = str(value).strip().upper().removeprefix("N")
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}.{text[2:]}"
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number < 100:
        raise SatSegError(f"'{value}' is not a Sentinel-2 processing baseline (write it like 04.00 or 02.14)")
    return number


def _baseline_from_name(folder: Path) -> Optional[float]:
    """ESA product names carry the baseline: S2A_MSIL2A_..._N0400_R037_... -> 4.0."""
    m = _BASELINE_IN_NAME.search(folder.name)
    return float(f"{m.group(1)}.{m.group(2)}") if m else None


class Sentinel2Source(ImageSource):
    """All spectral bands of an L2A product stacked on the finest band grid."""

    kind = "Sentinel-2"

    def __init__(self, folder: str | Path, mask_clouds: bool = False, baseline=None) -> None:
        """``baseline`` (e.g. "04.00") states the processing baseline; it wins over the metadata."""
        super().__init__()
        folder = Path(folder)
        self.path = str(folder)
        files = find_band_files(folder)
        bands = [b for b in S2_BANDS if b in files]
        if not bands:
            raise SatSegError(
                f"{folder} holds no Sentinel-2 band files (expected names like B02.tif or *_B02_10m.jp2)"
            )
        self.band_names = bands
        self.mask_clouds = mask_clouds
        self._datasets = {b: open_dataset(files[b]) for b in bands}
        finest = min(bands, key=lambda b: abs(self._datasets[b].transform.a))
        ref = self._datasets[finest]
        self.width, self.height, self.transform, self.crs = ref.width, ref.height, ref.transform, ref.crs
        self._vrts = {b: self._on_grid(ds, Resampling.bilinear) for b, ds in self._datasets.items()}
        self._scl = None
        if "SCL" in files:
            self._scl_ds = open_dataset(files["SCL"])
            self._scl = self._on_grid(self._scl_ds, Resampling.nearest)
        elif mask_clouds:
            raise SatSegError(f"cloud masking needs the SCL band, which {folder} does not have")
        item = _read_stac_item(folder)
        props = item.get("properties", {})
        self.offsets = self._dn_offsets(folder, props, None if baseline is None else parse_baseline(baseline))
        self.metadata.update({
            "source": "sentinel2", "path": self.path, "bands": bands,
            "datetime": props.get("datetime"), "platform": props.get("platform"),
            "cloud_cover": props.get("eo:cloud_cover"), "stac_id": item.get("id"),
            "processing_baseline": props.get("s2:processing_baseline"),
            "has_scl": self._scl is not None, "mask_clouds": mask_clouds,
            "baseline_offset_dn": self.offsets.get(bands[0], 0.0), "baseline_from": self.baseline_from,
        })
        if baseline is not None:
            self.metadata["processing_baseline"] = f"{parse_baseline(baseline):05.2f}"
        elif self.baseline_from == "product name":
            self.metadata["processing_baseline"] = f"{_baseline_from_name(folder):05.2f}"
        if self.baseline_from is None:
            self.warnings.append(advised(BASELINE_UNKNOWN.format(folder=folder.name), cli=BASELINE_CLI,
                                         app=BASELINE_APP))

    def baseline_record(self) -> dict:
        """The processing baseline (None when unknown or only in MTD_MSIL2A.xml), where it came from
        (None: nothing said, read with no offset) and the DN offset added before scaling."""
        return {k: self.metadata[k] for k in ("processing_baseline", "baseline_from", "baseline_offset_dn")}

    def _on_grid(self, ds, resampling: Resampling) -> WarpedVRT:
        if (ds.width, ds.height, ds.transform) == (self.width, self.height, self.transform):
            return ds
        nodata = ds.nodata if ds.nodata is not None else 0
        return WarpedVRT(
            ds, crs=self.crs, transform=self.transform, width=self.width, height=self.height,
            resampling=resampling, src_nodata=nodata, nodata=nodata,
        )

    def _dn_offsets(self, folder: Path, props: dict, stated: Optional[float]) -> dict[str, float]:
        """Digital-number offsets to add before scaling (-1000 from baseline 04.00).

        Rules: docs/sentinel2.md. Sets ``baseline_from`` to where the answer came from ("user", "MTD_MSIL2A.xml",
        "STAC item", "product name") or None when nothing tells (then no offset).
        """
        def uniform(number: float) -> dict[str, float]:
            return {b: BASELINE_OFFSET_DN for b in self.band_names} if number >= OFFSET_BASELINE else {}

        if stated is not None:
            self.baseline_from = "user"
            return uniform(stated)
        if (folder / "MTD_MSIL2A.xml").exists():
            self.baseline_from = "MTD_MSIL2A.xml"
            return _safe_boa_offsets(folder)   # no BOA_ADD_OFFSET entries: before 04.00
        baseline = props.get("s2:processing_baseline")
        if baseline:
            try:
                number = float(baseline)
            except ValueError:
                number = None
            if number is not None:
                self.baseline_from = "STAC item"
                applied = props.get("earthsearch:boa_offset_applied", False)
                return {} if applied else uniform(number)
        number = _baseline_from_name(folder)
        self.baseline_from = "product name" if number is not None else None
        return uniform(number) if number is not None else {}

    def _read(self, window, indexes, out_shape):
        shape = out_shape or (int(window.height), int(window.width))
        data = np.empty((len(indexes), *shape), dtype=np.float32)
        nodata = np.zeros(shape, dtype=bool)
        try:
            for k, i in enumerate(indexes):
                name = self.band_names[i]
                src = self._vrts[name]
                raw = src.read(1, window=window, out_shape=shape, resampling=Resampling.nearest)
                nd = src.nodata if src.nodata is not None else 0
                nodata |= raw == nd
                data[k] = (raw.astype(np.float32) + np.float32(self.offsets.get(name, 0.0))) * np.float32(DN_SCALE)
            if self._scl is not None:
                scl = self._scl.read(1, window=window, out_shape=shape, resampling=Resampling.nearest)
                masked = SCL_NODATA | (SCL_MASKED_WHEN_ASKED if self.mask_clouds else set())
                nodata |= np.isin(scl, list(masked))
        except RasterioError as exc:
            raise SatSegError(f"cannot read {self.path}: a band file is corrupt or truncated ({exc})") from exc
        data[:, nodata] = 0.0
        return data, nodata

    def close(self) -> None:
        for v in self._vrts.values():
            v.close()
        for d in self._datasets.values():
            d.close()
        if self._scl is not None:
            self._scl.close()
            self._scl_ds.close()
