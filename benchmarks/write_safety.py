"""What the data-safety checks of the atomic writer cost (docs/data-safety.md).

    PYTHONPATH=. python benchmarks/write_safety.py [--size 2048] [--bands 12]

Writes a SIZE x SIZE uint16 GeoTIFF of BANDS bands through ``GeoTiffWriter`` (temporary file,
fsync, GDAL error state, block-table check, rename) and times the check alone on the finished
file; then runs `satseg classify` on the demo scene as a whole process, whose class raster
and exports go through the same writer. Prints seconds and the share of the check.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rasterio.transform import from_origin

SATSEG = [sys.executable, "-m", "desktop_app.cli"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--bands", type=int, default=12)
    args = p.parse_args()
    from desktop_app.core.geotiff import GeoTiffWriter, verify_geotiff

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="satseg-bench-") as tmp:
        path = Path(tmp) / "big.tif"
        start = time.perf_counter()
        with GeoTiffWriter(path, width=args.size, height=args.size, count=args.bands, dtype="uint16",
                           transform=from_origin(500000, 3300000, 10, 10), crs="EPSG:32643", nodata=0) as w:
            for r0 in range(0, args.size, 512):
                rows = min(512, args.size - r0)
                w.write(rng.integers(1, 5000, (args.bands, rows, args.size), dtype=np.uint16),
                        window=((r0, r0 + rows), (0, args.size)))
        total = time.perf_counter() - start
        start = time.perf_counter()
        verify_geotiff(path)
        check = time.perf_counter() - start
        print(f"GeoTIFF {args.size} x {args.size} x {args.bands} uint16, {path.stat().st_size / 1e6:.0f} MB: "
              f"written and verified in {total:.2f} s; block-table check {check * 1000:.0f} ms "
              f"({100 * check / total:.2f} % of the write)")
        demo = Path(tmp) / "demo"
        subprocess.run(SATSEG + ["demo-scene", str(demo)], check=True, capture_output=True)
        start = time.perf_counter()
        subprocess.run(SATSEG + ["classify", str(demo / "scene.tif"), str(demo / "samples.geojson"),
                                 "--out", str(Path(tmp) / "c.tif"), "--vector", str(Path(tmp) / "c.geojson"),
                                 "--report", str(Path(tmp) / "c.csv")], check=True, capture_output=True)
        print(f"satseg classify demo scene (1000 x 1000, 12 bands) with --vector and --report, one batch: "
              f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
