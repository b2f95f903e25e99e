"""Sentinel-2 L2A from a STAC catalogue (Earth Search), no Google account needed.

pystac-client finds the scenes (Collection 1 first, the older collection only
where Collection 1 has no item; pages of 100, cloud filter and sort done by
the server); rasterio reads only the ROI tile of each band's Cloud-Optimized
GeoTIFF over HTTP (GDAL issues range requests), warped onto the output UTM
grid -- nearest neighbour when the grid is as fine as the band (pixel-exact
on Sentinel-2's aligned grids), average when coarser. The median composite
masks each scene with its SCL band first; least_cloudy mosaics the clearest
scene of each grid tile. Offsets, deadlines and retries: docs/online.md.
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

from ..errors import SatSegError, advised
from ..geo import bounds_to_wgs84
from ..jobs import Cancelled, Job, ensure_job
from ..raster import S2_RESOLUTION_M
from ..sources.sentinel2 import SCL_MASKED_WHEN_ASKED, SCL_NODATA
from . import netcall
from .connectivity import check_connectivity
from .roi import Grid, Roi
from .scenes import per_tile
from .tiling import Tile

EARTH_SEARCH_URL = "https://earth-search.aws.element84.com/v1"
# Collection 1 (consistent processing and offsets); the older collection only fills its gaps.
STAC_COLLECTION = "sentinel-2-c1-l2a"
FALLBACK_COLLECTION = "sentinel-2-l2a"
PAGE_SIZE = 100
MAX_ITEMS = 2000
DEFAULT_TIMEOUT_S = 30.0
BOA_ADD_OFFSET = -1000.0  # processing baseline >= 04.00 stores reflectance * 10000 + 1000
# Asset keys: Earth Search v1 common names first, then the v0 / file-name style.
ASSET_KEYS = {
    "B1": ("coastal", "B01"), "B2": ("blue", "B02"), "B3": ("green", "B03"), "B4": ("red", "B04"),
    "B5": ("rededge1", "B05"), "B6": ("rededge2", "B06"), "B7": ("rededge3", "B07"), "B8": ("nir", "B08"),
    "B8A": ("nir08", "B8A"), "B9": ("nir09", "B09"), "B11": ("swir16", "B11"), "B12": ("swir22", "B12"),
    "SCL": ("scl", "SCL"),
}
# The local median reads every band of every scene for each tile: keep the
# least cloudy few of each grid tile so a long date range does not mean hours of downloads.
MAX_MEDIAN_SCENES = 16
SCL_MASKED = np.array(sorted(SCL_NODATA | SCL_MASKED_WHEN_ASKED), dtype=np.uint8)
GDAL_HTTP_ENV = dict(
    GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",  # no directory listing per file
    CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif,.TIF,.tiff",
    VSI_CACHE="TRUE", AWS_NO_SIGN_REQUEST="YES",
)


def gdal_http_env(timeout: float, attempts: int = 5, retry_delay: float = 1.0) -> dict:
    """GDAL's HTTP settings: a deadline per request, and 429/5xx/timeouts retried with back-off inside GDAL."""
    return dict(GDAL_HTTP_ENV, GDAL_HTTP_TIMEOUT=f"{timeout:g}", GDAL_HTTP_CONNECTTIMEOUT=f"{min(timeout, 10.0):g}",
                GDAL_HTTP_MAX_RETRY=str(max(0, attempts - 1)), GDAL_HTTP_RETRY_DELAY=f"{retry_delay:g}")


@dataclass
class Scene:
    """What a tile reader needs of one STAC item (JSON-serialisable for the cache manifest)."""

    id: str
    datetime: str
    cloud_cover: Optional[float]
    bbox: list[float]
    hrefs: dict[str, str]        # band -> COG URL (SCL included when masking)
    dn_offsets: dict[str, float]  # band -> DN offset to harmonise (see dn_offset)
    collection: str = STAC_COLLECTION
    tile: Optional[str] = None    # MGRS grid tile, e.g. "31UFS"

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


def _raster_bands_offset(asset: dict) -> float:
    rb = (asset.get("raster:bands") or [{}])[0]
    scale, offset = rb.get("scale"), rb.get("offset")
    if scale and offset:
        return float(offset) / float(scale)
    return 0.0


def dn_offset(props: dict, asset: dict) -> float:
    """DN shift that harmonises one band of an item (docs/online.md, "offset rule").

    ``raster:bands`` alone is wrong on some ``sentinel-2-l2a`` items (Earth
    Search issues #66, #71), so: ``earthsearch:boa_offset_applied`` true ->
    the COG is harmonised already (0); else processing baseline >= 04.00 ->
    -1000; an older baseline -> 0. Only an item with neither property (another
    catalogue) falls back to its ``raster:bands`` offset / scale.
    """
    if props.get("earthsearch:boa_offset_applied") is True:
        return 0.0
    baseline = props.get("s2:processing_baseline")
    try:
        return BOA_ADD_OFFSET if float(baseline) >= 4.0 else 0.0
    except (TypeError, ValueError):
        return _raster_bands_offset(asset)


def _tile_id(props: dict) -> Optional[str]:
    """MGRS tile of an item: Earth Search's grid:code ("MGRS-31UFS"), or its mgrs:* parts."""
    code = props.get("grid:code") or props.get("s2:mgrs_tile")
    if code:
        return str(code).removeprefix("MGRS-")
    parts = [props.get(k) for k in ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square")]
    return "".join(f"{p:02d}" if isinstance(p, int) else str(p) for p in parts) if all(parts) else None


def _scene(item: dict, bands: list[str], need_scl: bool) -> Optional[Scene]:
    props = item.get("properties") or {}
    hrefs, offsets = {}, {}
    for band in bands + (["SCL"] if need_scl else []):
        asset = _asset(item, band)
        if asset is None:
            return None
        hrefs[band] = asset["href"]
        offsets[band] = dn_offset(props, asset) if band != "SCL" else 0.0
    cc = props.get("eo:cloud_cover")
    return Scene(str(item.get("id")), str(props.get("datetime")), None if cc is None else float(cc),
                 list(item.get("bbox") or [-180, -90, 180, 90]), hrefs, offsets,
                 str(item.get("collection") or STAC_COLLECTION), _tile_id(props))


def _acquisition(s: Scene) -> tuple:
    """Same tile, same hour: the same acquisition in either collection."""
    return (s.tile, s.datetime[:13])


def _fill_gaps(scenes: list[Scene]) -> list[Scene]:
    """Collection 1 scenes, plus older-collection scenes of acquisitions Collection 1 lacks."""
    c1 = {_acquisition(s) for s in scenes if s.collection == STAC_COLLECTION}
    return [s for s in scenes if s.collection == STAC_COLLECTION or _acquisition(s) not in c1]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def search_scenes(roi: Roi, start: dt.date, end: dt.date, bands: list[str], composite: str, max_cloud: float,
                  url: str = EARTH_SEARCH_URL, *, timeout: float = DEFAULT_TIMEOUT_S,
                  job: Optional[Job] = None, attempts: int = 5, retry_delay: float = 1.0) -> list[Scene]:
    """The scenes a composite uses, least cloudy first: per grid tile, the clearest one
    (least_cloudy) or the ``MAX_MEDIAN_SCENES`` clearest (median)."""
    check_connectivity(url, "STAC catalogue")
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO
    from urllib3 import Retry

    # 429/5xx retried with back-off; a connection or a request that timed out only once,
    # so a silent server costs two deadlines, not six (docs/online.md, retry policy).
    retry = Retry(total=max(0, attempts - 1), connect=1, read=1, backoff_factor=retry_delay,
                  status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, raise_on_status=False)

    def run() -> list[dict]:
        # (Client.open hands its own timeout to the StacApiIO, so it goes there.)
        client = Client.open(url, stac_io=StacApiIO(max_retries=retry), timeout=timeout)
        search = client.search(
            collections=[STAC_COLLECTION, FALLBACK_COLLECTION], intersects=roi.wgs84_geojson(),
            datetime=f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z",
            query={"eo:cloud_cover": {"lte": max_cloud}} if max_cloud < 100 else None,
            sortby=[{"field": "properties.eo:cloud_cover", "direction": "asc"}],
            limit=PAGE_SIZE, max_items=MAX_ITEMS)
        return list(search.items_as_dicts())

    try:
        # Each request has the timeout; the whole search may take several pages, so no overall deadline.
        items = netcall.call(run, job, None, "searching the STAC catalogue")
    except Cancelled:
        raise
    except (APIError, requests.RequestException, OSError) as exc:
        if netcall.timed_out(exc):
            raise SatSegError(advised(f"the STAC catalogue at {url} did not answer within {timeout:g} s",
                                      cli="try again later (or raise --timeout)", app="try again later")) from exc
        status = getattr(exc, "status_code", None)
        raise SatSegError(f"STAC search at {url} failed{f' (HTTP {status})' if status else ''}: "
                          f"{_first_line(exc)}") from exc
    except Exception as exc:  # pystac-client raises plain errors for a non-STAC answer
        raise SatSegError(f"{url} did not answer as a STAC API: {exc}") from exc
    need_scl = composite == "median"
    scenes = []
    for item in items:
        cc = (item.get("properties") or {}).get("eo:cloud_cover")
        if cc is not None and float(cc) > max_cloud:  # a server without the query extension
            continue
        s = _scene(item, bands, need_scl)
        if s is not None:
            scenes.append(s)
    scenes = _fill_gaps(scenes)
    if not scenes:
        raise SatSegError(
            f"no Sentinel-2 L2A scenes in {url} for this ROI between {start} and {end} with cloud cover "
            f"<= {max_cloud:g} % ({len(items)} found before filtering); widen the date range or raise the cloud limit"
        )
    scenes.sort(key=lambda s: (s.cloud_cover if s.cloud_cover is not None else 100.0, s.datetime))
    per = 1 if composite == "least_cloudy" else MAX_MEDIAN_SCENES
    return per_tile(scenes, per, tile_of=lambda s: s.tile, cloud_of=lambda s: s.cloud_cover)


def _overlaps(scene: Scene, wgs84_box) -> bool:
    """Bounding-box test, trying +/-360 shifts so antimeridian tiles still match."""
    sb = box(*scene.bbox[:2], *scene.bbox[2:4]) if len(scene.bbox) == 4 else box(*scene.bbox[:2], *scene.bbox[3:5])
    w, s, e, n = wgs84_box
    return any(sb.intersects(box(w + k, s, e + k, n)) for k in (-360.0, 0.0, 360.0))


def _read(href: str, band: str, grid: Grid, tile: Tile, resampling: Resampling, timeout: float) -> np.ndarray:
    """One band of one scene warped onto the tile (0 where the scene has no data)."""
    try:
        with rasterio.open(href) as src:
            with WarpedVRT(src, crs=grid.crs, transform=grid.window_transform(tile.x, tile.y), width=tile.width,
                           height=tile.height, resampling=resampling, src_nodata=0, nodata=0) as vrt:
                return vrt.read(1)
    except RasterioError as exc:
        if netcall.timed_out(exc):
            raise SatSegError(advised(f"the file server did not answer within {timeout:g} s while reading {band} "
                                      f"from {href}; finished tiles are cached",
                                      cli="fetch again to resume (or raise --timeout)",
                                      app="fetch again to resume")) from exc
        raise SatSegError(f"cannot read {band} from {href}: {exc}; finished tiles are cached, "
                          "fetch again to resume") from exc


def _composite(stack: np.ndarray, composite: str) -> np.ndarray:
    """(scenes, h, w) float DN, NaN = no data -> (h, w): the median, or the first scene with data.

    Scenes come least cloudy first, so least_cloudy is a mosaic with the
    clearest scene on top and the next tile's scene where it has no data.
    """
    empty = np.isnan(stack).all(axis=0)
    if composite == "least_cloudy":
        first = (~np.isnan(stack)).argmax(axis=0)
        return np.take_along_axis(stack, first[None], 0)[0]
    # Pixels with no clear scene stay NaN (no data); filling them first keeps
    # nanmedian quiet (warning filters are process-wide, not per thread).
    stack[:, empty] = 0
    med = stack[0] if len(stack) == 1 else np.nanmedian(stack, axis=0)
    med[empty] = np.nan
    return med


def tile_reader(scenes: list[Scene], grid: Grid, bands: list[str], composite: str,
                job: Optional[Job] = None, *, timeout: float = DEFAULT_TIMEOUT_S, attempts: int = 5,
                retry_delay: float = 1.0) -> Callable[[Tile], np.ndarray]:
    """A function returning one tile as (bands, h, w) uint16 harmonised DN, 0 = no data."""
    job = ensure_job(job)
    env = gdal_http_env(timeout, attempts, retry_delay)

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
        with rasterio.Env(**env):
            valid = []
            for s in use:
                job.check()
                if composite == "median":
                    scl = _read(s.hrefs["SCL"], "SCL", grid, tile, resampling("SCL"), timeout)
                    valid.append(~np.isin(scl, SCL_MASKED))
                else:
                    valid.append(np.ones((tile.height, tile.width), bool))
            for i, band in enumerate(bands):
                stack = np.full((len(use), tile.height, tile.width), np.nan, np.float32)
                for k, s in enumerate(use):
                    job.check()
                    dn = _read(s.hrefs[band], band, grid, tile, resampling(band), timeout).astype(np.float32)
                    ok = valid[k] & (dn > 0)
                    # Harmonise (docs/online.md offset rule), keeping valid pixels >= 1 (0 is no data).
                    stack[k][ok] = np.maximum(dn[ok] + s.dn_offsets.get(band, 0.0), 1.0)
                value = _composite(stack, composite)
                out[i] = np.where(np.isfinite(value), np.clip(np.rint(value), 1, 65535), 0).astype(np.uint16)
        return out

    return fetch
