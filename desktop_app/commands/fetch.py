"""satseg fetch: Sentinel-2 for an ROI from Earth Engine or a STAC catalogue, cached for offline work."""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

from ..core.online.fetch import (COMPOSITES, DEFAULT_BANDS, DEFAULT_TILE, DEFAULT_TIMEOUT, MIN_TILE, SCALES, SOURCES,
                                 FetchRequest, default_cache_dir, fetch_imagery)
from ..core.raster import parse_band_option
from .common import add_json_argument, print_json
from .progress import terminal_job

NAME = "fetch"
HELP = "download a Sentinel-2 composite for an ROI (Earth Engine or STAC) into a GeoTIFF"
DESCRIPTION = (
    "Fetch Sentinel-2 L2A for the polygon in ROI.geojson and write it to SCENE.tif (uint16 DN, band names as "
    "descriptions, source/dates/composite/scene ids as SATSEG_* tags). Earth Engine: cloud-masked median with "
    "Cloud Score+ or the least-cloudy scene of COPERNICUS/S2_SR_HARMONIZED, needs a sign-in (or --ee-key) and a "
    "Cloud project. STAC: Earth Search sentinel-2-c1-l2a (sentinel-2-l2a where it has gaps), no account, SCL-masked "
    "median computed locally. Tiles are cached: an interrupted fetch (Ctrl-C, exit 130) resumes, and a repeated one "
    "is answered offline from the cache. Every request has a deadline (--timeout); see docs/online.md."
)


def add_arguments(p) -> None:
    p.add_argument("--source", choices=SOURCES, required=True, help="imagery service")
    p.add_argument("--roi", required=True, metavar="ROI.geojson", help="GeoJSON polygon(s) in lon/lat")
    p.add_argument("--start", metavar="DATE", help="first day, YYYY-MM-DD (default: start of last full month)")
    p.add_argument("--end", metavar="DATE", help="last day, inclusive (default: end of last full month)")
    p.add_argument("--bands", metavar="LIST", default=",".join(DEFAULT_BANDS),
                   help="comma-separated Sentinel-2 bands (default: %(default)s)")
    p.add_argument("--scale", type=int, choices=SCALES, default=10, metavar="M",
                   help="pixel size in metres: 10, 20, 30 or 60 (default 10)")
    p.add_argument("--composite", choices=COMPOSITES, default="median",
                   help="cloud-masked median (default) or least-cloudy single scene")
    p.add_argument("--max-cloud", type=float, default=60.0, metavar="PCT",
                   help="skip scenes whose cloud cover is above PCT %% (default 60)")
    p.add_argument("--out", required=True, metavar="SCENE.tif", help="output GeoTIFF")
    p.add_argument("--cache-dir", metavar="DIR", help=f"tile cache folder (default {default_cache_dir()})")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="parallel requests (default 4)")
    p.add_argument("--tile-size", type=int, metavar="PX",
                   help=f"side of one request in pixels, at least {MIN_TILE} (default: Earth Engine "
                        f"{DEFAULT_TILE['earthengine']}, STAC {DEFAULT_TILE['stac']}); smaller tiles get past Earth "
                        "Engine's 'memory limit' / 'timed out' errors")
    p.add_argument("--timeout", type=float, metavar="S",
                   help=f"seconds one request may stay silent before it is retried (default: Earth Engine "
                        f"{DEFAULT_TIMEOUT['earthengine']:g}, STAC {DEFAULT_TIMEOUT['stac']:g})")
    p.add_argument("--ee-project", metavar="ID", help="Google Cloud project registered for Earth Engine")
    p.add_argument("--ee-url", metavar="URL", help="advanced: alternative Earth Engine endpoint")
    p.add_argument("--ee-key", metavar="FILE", help="service-account JSON key instead of the stored sign-in")
    p.add_argument("--stac-url", metavar="URL", help="STAC API (default Earth Search v1)")
    add_json_argument(p)


@contextmanager
def ctrl_c_cancels(job, note: str = "finished tiles are kept in the cache"):
    """The first Ctrl-C cancels ``job`` (exit 130; ``note`` says what is kept); a second one forces the exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum, frame):
        if job.cancelled:
            raise KeyboardInterrupt
        sys.stderr.write(f"\ncancelling: {note} (Ctrl-C again to force)\n")
        job.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run(args) -> int:
    from pathlib import Path

    from ..core.atomic import check_outputs

    # Before any download: --out must be a writable file name (a missing folder is created at the end).
    if Path(args.out).parent.exists() or Path(args.out).is_dir():
        check_outputs({"--out": args.out}, inputs=[args.roi])
    request = FetchRequest(
        source=args.source, roi=args.roi, start=args.start, end=args.end,
        bands=parse_band_option(args.bands) or [], scale=args.scale, composite=args.composite,
        max_cloud=args.max_cloud, workers=max(1, args.workers), tile_size=args.tile_size, timeout=args.timeout,
        ee_project=args.ee_project, ee_key_file=args.ee_key, ee_url=args.ee_url, stac_url=args.stac_url,
    )
    cache_dir = args.cache_dir or default_cache_dir()
    job = terminal_job()
    with ctrl_c_cancels(job):
        result = fetch_imagery(request, cache_dir, job, out_path=args.out)
    info = {
        "path": str(result.path), "width": result.width, "height": result.height, "crs": result.crs.to_string(),
        "pixel_size": result.transform.a, "bands": result.band_names, "scenes": result.scenes,
        "tiles_total": result.tiles_total, "tiles_fetched": result.tiles_fetched,
        "tiles_cached": result.tiles_cached, "from_cache": result.from_cache,
    }
    if print_json(args, info):
        return 0
    print(f"{info['path']}: {result.width} x {result.height} px at {result.transform.a:g} m, {info['crs']}")
    print(f"  bands:  {' '.join(result.band_names)}")
    print(f"  scenes: {len(result.scenes)} ({', '.join(result.scenes[:6])}{', ...' if len(result.scenes) > 6 else ''})")
    source = "cache" if result.from_cache else f"{result.tiles_fetched} fetched, {result.tiles_cached} from cache"
    print(f"  tiles:  {result.tiles_total} ({source})")
    return 0
