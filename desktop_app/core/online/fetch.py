"""One entry point for online imagery: ``fetch_imagery(request, cache_dir, job)``.

Used by ``satseg fetch`` and the Imagery panel alike. The ROI's UTM grid is
split into request tiles, the source fills the missing ones into a tile
cache (so a cancelled or failed fetch resumes), and the tiles are stitched
into a uint16 GeoTIFF in ``cache_dir`` whose tags record collection, dates,
composite, bands, scale and the scene ids used. The same request later is
answered from that file without any network.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from affine import Affine
from rasterio.crs import CRS

from .. import paths
from ..atomic import copy_file_atomic
from ..errors import SatSegError
from ..jobs import Job, ensure_job
from ..raster import S2_BANDS, normalize_band_name
from .roi import Roi, RoiInput, parse_roi
from .tile_cache import TileCache, stitch
from .tile_runner import Backoff, run_tiles
from .tiling import max_tile_side, plan_tiles

SOURCES = ("earthengine", "stac")
COMPOSITES = ("median", "least_cloudy")
SCALES = (10, 20, 30, 60)
DEFAULT_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")
# Tiles per request. Earth Engine: well under the 48 MiB limit, because a
# median composite of big tiles runs into the per-request compute limits.
# STAC: bounds the memory of the local median (scenes x bands x tile).
DEFAULT_TILE = {"earthengine": 1024, "stac": 512}
MIN_TILE = 32
# Seconds a single request may stay silent (docs/online.md): an Earth Engine
# median can compute for a minute before its first byte; a STAC server or
# file server that says nothing for half a minute is not going to.
DEFAULT_TIMEOUT = {"earthengine": 120.0, "stac": 30.0}
# 2: valid Earth Engine pixels kept >= 1 DN, per-tile scene choice, STAC Collection 1.
CACHE_VERSION = 2


def default_date_range(today: Optional[dt.date] = None) -> tuple[dt.date, dt.date]:
    """The last full calendar month before ``today`` (first and last day, inclusive)."""
    today = today or dt.date.today()
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def default_cache_dir() -> Path:
    """Per-user imagery cache folder (used when no project folder is given)."""
    return paths.cache_dir()


def _as_date(value, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise SatSegError(f"{name} date '{value}' is not a date like 2024-05-31") from exc


@dataclass
class FetchRequest:
    """What to fetch. ``roi`` is GeoJSON (dict, text or file path) in lon/lat.

    ``start``/``end`` are inclusive dates (default: the last full month).
    ``max_cloud`` filters whole scenes by their cloud-cover percentage;
    ``cs_threshold`` is the Cloud Score+ ``cs_cdf`` a pixel needs to be kept
    in the Earth Engine median. ``workers`` requests run in parallel.
    ``tile_size`` (px) is the side of one request: smaller tiles get past
    Earth Engine's "memory / timed out" limits. ``timeout`` (s) is how long
    one request may stay silent (default per source: ``DEFAULT_TIMEOUT``).
    """

    source: str
    roi: RoiInput
    start: Optional[dt.date | str] = None
    end: Optional[dt.date | str] = None
    bands: list[str] = field(default_factory=lambda: list(DEFAULT_BANDS))
    scale: float = 10
    composite: str = "median"
    max_cloud: float = 60.0
    cs_threshold: float = 0.6
    workers: int = 4
    tile_size: Optional[int] = None
    timeout: Optional[float] = None
    ee_project: Optional[str] = None
    ee_key_file: Optional[str] = None
    ee_url: Optional[str] = None
    stac_url: Optional[str] = None

    def checked(self) -> "CheckedRequest":
        """Validate every field; raises SatSegError naming the bad one."""
        if self.source not in SOURCES:
            raise SatSegError(f"unknown imagery source '{self.source}'; choose one of {', '.join(SOURCES)}")
        if self.composite not in COMPOSITES:
            raise SatSegError(f"unknown composite '{self.composite}'; choose one of {', '.join(COMPOSITES)}")
        if self.start is None and self.end is None:
            start, end = default_date_range()
        elif self.start is None or self.end is None:
            raise SatSegError("give both a start and an end date, or neither (last full month)")
        else:
            start, end = _as_date(self.start, "start"), _as_date(self.end, "end")
        if end < start:
            raise SatSegError(f"end date {end} is before start date {start}")
        if start > dt.date.today():
            raise SatSegError(f"start date {start} is in the future")
        try:
            scale = float(self.scale)
        except (TypeError, ValueError) as exc:
            raise SatSegError(f"scale '{self.scale}' is not a number of metres") from exc
        if not 10 <= scale <= 1000:
            raise SatSegError(f"scale {scale:g} m is outside 10..1000 m (Sentinel-2 is 10 m at best)")
        bands = [normalize_band_name(b) for b in self.bands]
        from .earthengine import EE_BANDS

        allowed = EE_BANDS if self.source == "earthengine" else tuple(b for b in S2_BANDS if b != "B10")
        bad = [b for b in bands if b not in allowed]
        if bad or not bands:
            raise SatSegError(f"band(s) {', '.join(bad) or '(none)'} not available; choose from {', '.join(allowed)}")
        if len(set(bands)) != len(bands):
            raise SatSegError(f"band list {', '.join(bands)} repeats a band")
        if not 0 < self.max_cloud <= 100:
            raise SatSegError(f"cloud limit {self.max_cloud:g} % must be in 0..100")
        if not 0 <= self.cs_threshold <= 1:
            raise SatSegError(f"Cloud Score+ threshold {self.cs_threshold:g} must be in 0..1")
        if self.tile_size is not None and (not isinstance(self.tile_size, int) or self.tile_size < MIN_TILE):
            raise SatSegError(f"tile size {self.tile_size} px must be a whole number of at least {MIN_TILE} px")
        if self.timeout is not None and not 0 < float(self.timeout) <= 3600:
            raise SatSegError(f"timeout {self.timeout:g} s must be in 0..3600 s")
        roi = parse_roi(self.roi)
        return CheckedRequest(self, roi, start, end, bands, scale)


@dataclass
class CheckedRequest:
    request: FetchRequest
    roi: Roi
    start: dt.date
    end: dt.date
    bands: list[str]
    scale: float

    def key(self) -> str:
        r = self.request
        ident = {
            "v": CACHE_VERSION, "source": r.source, "roi": self.roi.key(), "start": str(self.start),
            "end": str(self.end), "bands": self.bands, "scale": self.scale, "composite": r.composite,
            "max_cloud": r.max_cloud, "cs": r.cs_threshold if r.source == "earthengine" else None,
            "stac": (r.stac_url or "") if r.source == "stac" else None, "tile": self.tile_size(),
        }
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]

    def timeout(self) -> float:
        return float(self.request.timeout or DEFAULT_TIMEOUT[self.request.source])

    def tile_size(self) -> int:
        limit = max_tile_side(len(self.bands))
        return min(self.request.tile_size or DEFAULT_TILE[self.request.source], limit)

    def file_name(self) -> str:
        r = self.request
        return f"s2_{r.source}_{self.start:%Y%m%d}_{self.end:%Y%m%d}_{self.scale:g}m_{r.composite}_{self.key()}.tif"


@dataclass
class FetchResult:
    """The cached GeoTIFF (open it with ``core.sources.open_image``) and what went into it."""

    path: Path
    width: int
    height: int
    crs: CRS
    transform: Affine
    band_names: list[str]
    scenes: list[str]
    tiles_total: int
    tiles_fetched: int
    tiles_cached: int
    from_cache: bool
    tags: dict


@dataclass
class FetchPlan:
    """What a request would fetch, known before any network call (for the UI to show or refuse)."""

    width: int
    height: int
    crs: CRS
    scale: float
    tiles: int
    tile_size: int
    megabytes: float  # uncompressed uint16 output
    cached: bool      # a finished result for exactly this request is already in the cache


def _tiles_in_roi(c: "CheckedRequest", grid):
    # Tiles entirely outside an irregular ROI are never requested.
    return [t for t in plan_tiles(grid.width, grid.height, c.tile_size())
            if not c.roi.mask(grid, t.x, t.y, t.width, t.height).all()]


def plan_fetch(request: FetchRequest, cache_dir: Optional[str | os.PathLike] = None) -> FetchPlan:
    """Validate a request and size it (grid, tiles, MB) without touching the network."""
    c = request.checked()
    grid = c.roi.grid(c.scale)
    tiles = _tiles_in_roi(c, grid)
    cached = False
    if cache_dir is not None:
        cached = (Path(cache_dir) / c.file_name()).exists() and \
            bool(TileCache(cache_dir, c.key()).read_manifest().get("complete"))
    return FetchPlan(grid.width, grid.height, grid.crs, c.scale, len(tiles), c.tile_size(),
                     grid.width * grid.height * len(c.bands) * 2 / 2 ** 20, cached)


def _tags(c: CheckedRequest, scenes: list[str], collection: str) -> dict:
    r = c.request
    return {
        "SATSEG_SOURCE": r.source, "SATSEG_COLLECTION": collection, "SATSEG_START": str(c.start),
        "SATSEG_END": str(c.end), "SATSEG_COMPOSITE": r.composite, "SATSEG_BANDS": ",".join(c.bands),
        "SATSEG_SCALE": f"{c.scale:g}", "SATSEG_SCENES": json.dumps(scenes), "SATSEG_MAX_CLOUD": f"{r.max_cloud:g}",
        "SATSEG_CLOUD_MASK": ("Cloud Score+ cs_cdf >= %g" % r.cs_threshold if r.source == "earthengine" else "SCL")
        if r.composite == "median" else "none",
        "SATSEG_ROI": json.dumps(c.roi.wgs84_geojson()),
    }


def _copy_to(src: Path, dst: Path) -> None:
    """Copy the cached result to the user's path atomically."""
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatSegError(f"cannot create the folder of {dst}: {exc.strerror or exc}") from exc
    copy_file_atomic(src, dst)


def fetch_imagery(request: FetchRequest, cache_dir: str | os.PathLike, job: Optional[Job] = None,
                  out_path: Optional[str | os.PathLike] = None, *, backoff: Optional[Backoff] = None,
                  initialize: bool = True) -> FetchResult:
    """Fetch (or resume, or reuse) a Sentinel-2 composite for the request's ROI and dates.

    ``cache_dir`` holds the tile cache and the finished GeoTIFF; ``out_path``
    (optional) receives a copy. For Earth Engine, ``initialize`` signs in with
    the request's project/key/url unless ``ee`` is already initialised.
    Raises SatSegError (bad input, offline, quota, no scenes) or Cancelled;
    either way finished tiles stay cached for the next call.
    """
    job = ensure_job(job)
    c = request.checked()
    backoff = backoff or Backoff()
    grid = c.roi.grid(c.scale)
    tiles = _tiles_in_roi(c, grid)
    cache_dir = Path(cache_dir)
    cache = TileCache(cache_dir, c.key())
    result_path = cache_dir / c.file_name()
    manifest = cache.read_manifest()
    if manifest.get("complete") and result_path.exists():
        job.step(1.0, "using cached imagery")
        if out_path:
            _copy_to(result_path, Path(out_path))
        return _result(Path(out_path) if out_path else result_path, grid, c, manifest, len(tiles), 0, len(tiles), True)
    manifest.setdefault("request", {k: (str(v) if k in ("start", "end", "roi") else v)
                                    for k, v in asdict(request).items() if not k.startswith("ee_")})
    fetch_job = job.sub(0.0, 0.92)
    if request.source == "earthengine":
        from . import earthengine as ee_src

        collection = ee_src.EE_COLLECTION
        fetcher_job = fetch_job.sub(0.05, 1.0)
        if cache.missing(tiles):
            if initialize:
                job.step(0.0, "signing in to Earth Engine")
                # A new project, key or endpoint (changed in the app) starts a new session.
                ee_src.ensure_session(request.ee_project, request.ee_key_file, request.ee_url, job=job,
                                      timeout=c.timeout())
            if "scenes" not in manifest:
                job.step(0.01, "searching Earth Engine for scenes")
                manifest["scenes"] = ee_src.search_scenes(c.roi, c.start, c.end, request.composite, request.max_cloud,
                                                          backoff, job, request.ee_project, c.timeout())
                cache.write_manifest(manifest)
            image = ee_src.build_composite(manifest["scenes"], c.bands, request.composite, c.roi, c.start, c.end,
                                           request.cs_threshold)
            fetch = ee_src.tile_fetcher(image, grid, c.bands, backoff, fetcher_job, request.ee_project, c.timeout(),
                                        c.tile_size())
        else:
            fetch = None
    else:
        from . import stac as stac_src

        fetcher_job = fetch_job.sub(0.05, 1.0)
        if cache.missing(tiles):
            if "stac_scenes" not in manifest:
                job.step(0.01, "searching the STAC catalogue for scenes")
                scenes = stac_src.search_scenes(c.roi, c.start, c.end, c.bands, request.composite, request.max_cloud,
                                                request.stac_url or stac_src.EARTH_SEARCH_URL, timeout=c.timeout(),
                                                job=job, attempts=backoff.attempts, retry_delay=backoff.base)
                manifest["stac_scenes"] = [s.to_dict() for s in scenes]
                manifest["scenes"] = [s.id for s in scenes]
                cache.write_manifest(manifest)
            scenes = [stac_src.Scene.from_dict(d) for d in manifest["stac_scenes"]]
            fetch = stac_src.tile_reader(scenes, grid, c.bands, request.composite, fetcher_job, timeout=c.timeout(),
                                         attempts=backoff.attempts, retry_delay=backoff.base)
        else:
            fetch = None
        # Collection 1, plus the older collection where it filled a gap.
        used = {d.get("collection") or stac_src.STAC_COLLECTION for d in manifest.get("stac_scenes", [])}
        collection = ",".join(sorted(used, key=lambda n: n != stac_src.STAC_COLLECTION)) or stac_src.STAC_COLLECTION
    if fetch is not None:
        stats = run_tiles(tiles, cache, fetch, fetcher_job, workers=request.workers)
        fetched, cached = stats.fetched, stats.cached
    else:
        fetched, cached = 0, len(tiles)
    tags = _tags(c, manifest.get("scenes", []), collection)
    valid = stitch(cache, tiles, grid, result_path, c.bands, tags,
                   outside_mask=lambda t: c.roi.mask(grid, t.x, t.y, t.width, t.height), job=job.sub(0.92, 1.0))
    if valid == 0:
        result_path.unlink(missing_ok=True)
        raise SatSegError(f"no cloud-free pixels in the ROI between {c.start} and {c.end} ({len(manifest.get('scenes', []))} "
                          "scenes, all masked); widen the date range or use the least_cloudy composite")
    manifest.update(complete=True, tags=tags)
    cache.write_manifest(manifest)
    cache.drop_tiles()
    if out_path:
        _copy_to(result_path, Path(out_path))
    job.step(1.0, "done")
    return _result(Path(out_path) if out_path else result_path, grid, c, manifest, len(tiles), fetched, cached, False)


def _result(path, grid, c: CheckedRequest, manifest, total, fetched, cached, from_cache) -> FetchResult:
    return FetchResult(path=path, width=grid.width, height=grid.height, crs=grid.crs, transform=grid.transform,
                       band_names=list(c.bands), scenes=list(manifest.get("scenes", [])), tiles_total=total,
                       tiles_fetched=fetched, tiles_cached=cached, from_cache=from_cache,
                       tags=dict(manifest.get("tags", {})))
