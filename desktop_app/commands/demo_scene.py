"""satseg demo-scene OUT_DIR"""
from __future__ import annotations

from ..core.demo_scene import write_demo_scene
from .progress import terminal_job

NAME = "demo-scene"
HELP = "write the synthetic demo scene (scene.tif, truth.tif, samples/validation/roi GeoJSON)"
DESCRIPTION = (
    "Write a deterministic synthetic Sentinel-2 L2A scene near Muzaffarnagar, India (UTM 43N, 10 m): "
    "scene.tif (12 bands, uint16 DN), truth.tif (class raster), samples.geojson (training polygons), "
    "validation.geojson (held-out polygons) and roi.geojson."
)


def add_arguments(p) -> None:
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into (created if missing)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7); the same seed gives the same files")
    p.add_argument("--size", type=int, default=1000, help="side in pixels (default 1000, at 10 m)")


def run(args) -> int:
    from ..core.errors import SatSegError

    if not 64 <= args.size <= 8000:
        raise SatSegError("--size must be between 64 and 8000 pixels")
    paths = write_demo_scene(args.out_dir, seed=args.seed, size=args.size, job=terminal_job())
    for p in paths.values():
        print(p)
    return 0
