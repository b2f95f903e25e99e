"""Sentinel-2 L2A from a STAC catalogue (Earth Search), no Google account needed.

pystac-client finds the scenes; rasterio reads only the ROI tile of each
band's Cloud-Optimized GeoTIFF over HTTP (GDAL issues range requests), warped
onto the output UTM grid -- nearest neighbour when the grid is as fine as the
band (pixel-exact on Sentinel-2's aligned grids), average when coarser.
The median composite masks each scene with its SCL band first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from shapely.geometry import box

from ..errors import SatSegError
from ..geo import bounds_to_wgs84
from ..jobs import Job, ensure_job
from ..raster import S2_RESOLUTION_M
from ..sources.sentinel2 import SCL_MASKED_WHEN_ASKED, SCL_NODATA
from .connectivity import check_connectivity
from .roi import Grid, Roi
from .tiling import Tile

EARTH_SEARCH_URL = "https://earth-search.aws.element84.com/v1"
STAC_COLLECTION = "sentinel-2-l2a"
# Asset keys: Earth Search v1 common names first, then the v0 / file-name style.
ASSET_KEYS = {
    "B1": ("coastal", "B01"), "B2": ("blue", "B02"), "B3": ("green", "B03"), "B4": ("red", "B04"),
    "B5": ("rededge1", "B05"), "B6": ("rededge2", "B06"), "B7": ("rededge3", "B07"), "B8": ("nir", "B08"),
    "B8A": ("nir08", "B8A"), "B9": ("nir09", "B09"), "B11": ("swir16", "B11"), "B12": ("swir22", "B12"),
    "SCL": ("scl", "SCL"),
}
# The local median reads every band of every scene for each tile: keep the
# least cloudy few so a long date range does not mean hours of downloads.
MAX_MEDIAN_SCENES = 16
SCL_MASKED = np.array(sorted(SCL_NODATA | SCL_MASKED_WHEN_ASKED), dtype=np.uint8)
GDAL_HTTP_ENV = dict(
    GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",  # no directory listing per file
    CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif,.TIF,.tiff",
    GDAL_HTTP_MAX_RETRY="4", GDAL_HTTP_RETRY_DELAY="1",  # 429/5xx back-off inside GDAL
    GDAL_HTTP_TIMEOUT="60", GDAL_HTTP_CONNECTTIMEOUT="10",
    VSI_CACHE="TRUE", AWS_NO_SIGN_REQUEST="YES",
)


@dataclass
class Scene:
    """What a tile reader needs of one STAC item (JSON-serialisable for the cache manifest)."""

    id: str
    datetime: str
    cloud_cover: Optional[float]
    bbox: list[float]
    hrefs: dict[str, str]        # band -> COG URL (SCL included when masking)
    dn_offsets: dict[str, float]  # band -> DN offset to harmonise (-1000 for baseline >= 04.00)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Scene":
        return cls(**d)


def _asset(item: dict, band: str) -> Optional[dict]:
    assets = item.get("assets") or {}
    for key in ASSET_KEYS[band]:
        if key in assets and assets[key].get("href"):
            return assets[key]
    return None


def _dn_offset(asset: dict) -> float:
    """DN shift that makes the product harmonised: raster:bands offset/scale (e.g. -0.1/0.0001)."""
    rb = (asset.get("raster:bands") or [{}])[0]
    scale, offset = rb.get("scale"), rb.get("offset")
    if scale and offset:
        return float(offset) / float(scale)
    return 0.0


def _scene(item: dict, bands: list[str], need_scl: bool) -> Optional[Scene]:
    hrefs, offsets = {}, {}
    for band in bands + (["SCL"] if need_scl else []):
        asset = _asset(item, band)
        if asset is None:
            return None
        hrefs[band] = asset["href"]
        offsets[band] = _dn_offset(asset) if band != "SCL" else 0.0
    props = item.get("properties") or {}
    cc = props.get("eo:cloud_cover")
    return Scene(str(item.get("id")), str(props.get("datetime")), None if cc is None else float(cc),
                 list(item.get("bbox") or [-180, -90, 180, 90]), hrefs, offsets)


def search_scenes(roi: Roi, start: dt.date, end: dt.date, bands: list[str], composite: str, max_cloud: float,
                  url: str = EARTH_SEARCH_URL) -> list[Scene]:
    """Scenes of ``sentinel-2-l2a`` over the ROI between the dates, least cloudy first."""
    check_connectivity(url, "STAC catalogue")
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    try:
        client = Client.open(url)
        search = client.search(collections=[STAC_COLLECTION], intersects=roi.wgs84_geojson(),
                               datetime=f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z",
                               max_items=2000)
        items = list(search.items_as_dicts())
    except (APIError, requests.RequestException, OSError) as exc:
        raise SatSegError(f"STAC search at {url} failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from exc
    except Exception as exc:  # pystac-client raises plain errors for a non-STAC answer
        raise SatSegError(f"{url} did not answer as a STAC API: {exc}") from exc
    need_scl = composite == "median"
    scenes = []
    for item in items:
        cc = (item.get("properties") or {}).get("eo:cloud_cover")
        if cc is not None and float(cc) > max_cloud:
            continue
        s = _scene(item, bands, need_scl)
        if s is not None:
            scenes.append(s)
    if not scenes:
        raise SatSegError(
            f"no Sentinel-2 L2A scenes in {url} for this ROI between {start} and {end} with cloud cover "
            f"<= {max_cloud:g} % ({len(items)} found before filtering); widen the date range or raise the cloud limit"
        )
    scenes.sort(key=lambda s: (s.cloud_cover if s.cloud_cover is not None else 100.0, s.datetime))
    return scenes[:1] if composite == "least_cloudy" else scenes[:MAX_MEDIAN_SCENES]


def _overlaps(scene: Scene, wgs84_box) -> bool:
    """Bounding-box test, trying +/-360 shifts so antimeridian tiles still match."""
    sb = box(*scene.bbox[:2], *scene.bbox[2:4]) if len(scene.bbox) == 4 else box(*scene.bbox[:2], *scene.bbox[3:5])
    w, s, e, n = wgs84_box
    return any(sb.intersects(box(w + k, s, e + k, n)) for k in (-360.0, 0.0, 360.0))


def _read(href: str, band: str, grid: Grid, tile: Tile, resampling: Resampling) -> np.ndarray:
    """One band of one scene warped onto the tile (0 where the scene has no data)."""
    try:
        with rasterio.open(href) as src:
            with WarpedVRT(src, crs=grid.crs, transform=grid.window_transform(tile.x, tile.y), width=tile.width,
                           height=tile.height, resampling=resampling, src_nodata=0, nodata=0) as vrt:
                return vrt.read(1)
    except RasterioError as exc:
        raise SatSegError(f"cannot read {band} from {href}: {exc}; finished tiles are cached, "
                          "fetch again to resume") from exc


def tile_reader(scenes: list[Scene], grid: Grid, bands: list[str], composite: str,
                job: Optional[Job] = None) -> Callable[[Tile], np.ndarray]:
    """A function returning one tile as (bands, h, w) uint16 harmonised DN, 0 = no data."""
    job = ensure_job(job)

    def resampling(band: str) -> Resampling:
        native = S2_RESOLUTION_M.get(band, 20)
        if grid.scale <= native:
            return Resampling.nearest
        return Resampling.mode if band == "SCL" else Resampling.average

    def fetch(tile: Tile) -> np.ndarray:
        t = grid.window_transform(tile.x, tile.y)
        tile_box = bounds_to_wgs84((t.c, t.f + tile.height * t.e, t.c + tile.width * t.a, t.f), grid.crs)
        use = [s for s in scenes if _overlaps(s, tile_box)]
        out = np.zeros((len(bands), tile.height, tile.width), np.uint16)
        if not use:
            return out
        with rasterio.Env(**GDAL_HTTP_ENV):
            valid = []
            for s in use:
                job.check()
                if composite == "median":
                    scl = _read(s.hrefs["SCL"], "SCL", grid, tile, resampling("SCL"))
                    valid.append(~np.isin(scl, SCL_MASKED))
                else:
                    valid.append(np.ones((tile.height, tile.width), bool))
            for i, band in enumerate(bands):
                stack = np.full((len(use), tile.height, tile.width), np.nan, np.float32)
                for k, s in enumerate(use):
                    job.check()
                    dn = _read(s.hrefs[band], band, grid, tile, resampling(band)).astype(np.float32)
                    ok = valid[k] & (dn > 0)
                    # Harmonise (remove the +1000 offset of baseline >= 04.00), keeping valid pixels >= 1.
                    stack[k][ok] = np.maximum(dn[ok] + s.dn_offsets.get(band, 0.0), 1.0)
                # Pixels with no clear scene stay NaN (no data); filling them first keeps
                # nanmedian quiet (warning filters are process-wide, not per thread).
                empty = np.isnan(stack).all(axis=0)
                stack[:, empty] = 0
                med = stack[0] if len(use) == 1 else np.nanmedian(stack, axis=0)
                med[empty] = np.nan
                out[i] = np.where(np.isfinite(med), np.clip(np.rint(med), 1, 65535), 0).astype(np.uint16)
        return out

    return fetch
