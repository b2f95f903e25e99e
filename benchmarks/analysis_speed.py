"""Speed of the analyst's toolbox: region-growing preview latency and whole `satseg` processes.

    PYTHONPATH=. python benchmarks/analysis_speed.py [--size 4000]

Prints the preview time of region growing on the demo scene (the map tool's work per click or
slider move: read the window, grow, trace the polygon, reproject it to WGS84 for the map) and the
wall time of `satseg postprocess`, `sample-design`, `change` and `cluster` as separate processes
on the demo scene and on a SIZE x SIZE class map / 6-band image. Figures, not a timed test.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.synthetic import CRS_UTM, class_map, class_model, pixels_for, transform_for

SATSEG = [sys.executable, "-m", "desktop_app.cli"]


def preview_latency(scene: Path, n: int = 30) -> list[float]:
    from desktop_app.core.analysis.region_growing import grow_region
    from desktop_app.core.geo import WGS84, transform_geometry
    from desktop_app.core.sources import open_image

    rng = np.random.default_rng(0)
    times = []
    with open_image(scene) as src:
        for _ in range(n):
            r, c = (int(v) for v in rng.integers(0, 1000, 2))
            t0 = time.perf_counter()
            g = grow_region(src, r, c, max_distance=0.05, max_radius=100)
            poly = transform_geometry(g.polygon(), src.crs, WGS84)
            times.append((time.perf_counter() - t0) * 1000)
            assert not poly.is_empty
    return times


def run(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(SATSEG + argv, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    args = ap.parse_args()
    from desktop_app.core.classes import ClassInfo, normalize_color, write_class_raster
    from desktop_app.core.demo_scene import write_demo_scene
    from desktop_app.core.geotiff import GeoTiffWriter

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_demo_scene(d / "demo")
        t = preview_latency(d / "demo" / "scene.tif")
        print(f"region-growing preview, demo scene, radius 100 px, d 0.05: median {np.median(t):.1f} ms, "
              f"max {max(t):.1f} ms over {len(t)} clicks (target < 200 ms)")
        demo = d / "demo"
        print(f"demo 1000x1000: postprocess --majority 5 --sieve-ha 1: "
              f"{run(['postprocess', str(demo / 'truth.tif'), '--majority', '5', '--sieve-ha', '1', '--out', str(d / 'p.tif')]):.2f} s")
        print(f"demo: sample-design --total 300: "
              f"{run(['sample-design', str(demo / 'truth.tif'), '--total', '300', '--out', str(d / 's.geojson')]):.2f} s")
        print(f"demo: change: {run(['change', str(demo / 'truth.tif'), str(d / 'p.tif'), '--out', str(d / 'c.tif')]):.2f} s")
        print(f"demo 12 bands: cluster --k 8: "
              f"{run(['cluster', str(demo / 'scene.tif'), '--k', '8', '--out', str(d / 'k.tif')]):.2f} s")
        n = args.size
        labels = class_map(n, n, 6, seed=1, coarse=48).astype(np.uint8) + 1
        noise = np.random.default_rng(2).random((n, n)) < 0.05
        noisy = np.where(noise, np.random.default_rng(3).integers(1, 7, (n, n)), labels).astype(np.uint8)
        classes = [ClassInfo(i, f"c{i}", normalize_color(None, i - 1)) for i in range(1, 7)]
        write_class_raster(d / "big.tif", noisy, transform_for(), CRS_UTM, classes)
        write_class_raster(d / "big2.tif", labels, transform_for(), CRS_UTM, classes)
        means, chols = class_model(6, 6, seed=0)
        with GeoTiffWriter(d / "img.tif", width=n, height=n, count=6, dtype="float32", transform=transform_for(),
                           crs=CRS_UTM, band_names=["B2", "B3", "B4", "B8", "B11", "B12"]) as w:
            from rasterio.windows import Window
            for r0 in range(0, n, 500):
                rows = labels[r0:r0 + 500]
                px = pixels_for(rows.ravel(), means, chols, seed=r0).reshape(6, *rows.shape)
                w.write(px, window=Window(0, r0, n, rows.shape[0]))
        mp = n * n / 1e6
        for name, argv in [
            ("postprocess --majority 5 --sieve-ha 1", ["postprocess", str(d / "big.tif"), "--majority", "5",
                                                        "--sieve-ha", "1", "--out", str(d / "bp.tif")]),
            ("sample-design --total 600", ["sample-design", str(d / "big.tif"), "--total", "600",
                                           "--out", str(d / "bs.geojson")]),
            ("change", ["change", str(d / "big2.tif"), str(d / "big.tif"), "--out", str(d / "bc.tif")]),
            ("cluster --k 6 (6 bands)", ["cluster", str(d / "img.tif"), "--k", "6", "--out", str(d / "bk.tif")]),
        ]:
            s = run(argv)
            print(f"{n}x{n}: {name}: {s:.2f} s ({mp / s:.1f} MP/s)")


if __name__ == "__main__":
    main()
