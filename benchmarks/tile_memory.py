"""Peak memory (RSS) while classifying a full Sentinel-2 tile from disk.

Writes a 10980 x 10980, 4-band (B2 B3 B4 B8) uint16 tiled GeoTIFF under
/tmp (about 1 GB, deleted afterwards), then classifies it with every method
in a fresh child process each, block by block through ``classify_image``,
and prints the child's peak resident set size (VmHWM: includes the Python
interpreter, numpy/scipy/scikit-learn and GDAL's block cache) and its speed.

    .venv/bin/python benchmarks/tile_memory.py [--side 10980] [--methods a,b] [--svm-rows 2048]

Target (issue 3): peak RSS under 1.5 GB for every method. SVM prediction is
slow by nature, so by default it classifies only the first ``--svm-rows``
rows of the tile (memory depends on the block size, not on how many blocks
are done); pass ``--svm-rows 0`` for the whole tile.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

BANDS = ["B2", "B3", "B4", "B8"]
LIMIT_MB = 1536


def write_tile(path: str, side: int, seed: int = 0) -> None:
    """A synthetic tile written strip by strip (the parent never holds it whole)."""
    from benchmarks.synthetic import CRS_UTM, class_map, class_model, pixels_for, transform_for
    from desktop_app.core.geotiff import GeoTiffWriter
    from rasterio.windows import Window

    means, chols = class_model(len(BANDS), 5, seed)
    labels = class_map(side, side, 5, seed, coarse=128)
    with GeoTiffWriter(path, width=side, height=side, count=len(BANDS), dtype="uint16",
                       transform=transform_for((300000.0, 3400020.0)), crs=CRS_UTM, nodata=0,
                       band_names=BANDS, compress="none") as w:
        for r in range(0, side, 1024):
            h = min(1024, side - r)
            px = pixels_for(labels[r:r + h].ravel(), means, chols, seed + r)
            dn = np.clip(np.round(px * 10000), 1, 65535).astype(np.uint16).reshape(len(BANDS), h, side)
            w.write(dn, Window(0, r, side, h))


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM belongs to the process's own address space; ru_maxrss is
    not used on Linux because it carries the parent's peak across fork + exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, path: str, rows: int, out: str) -> None:
    """Runs in its own process: fit, classify the file block by block, report peak RSS."""
    from benchmarks.synthetic import class_model, training_data
    from desktop_app.core.classifiers import make_classifier
    from desktop_app.core.classify import bounded_gdal_cache, classify_image
    from desktop_app.core.sources import open_image

    means, chols = class_model(len(BANDS), 5, 0)
    td = training_data(means, chols)
    td.band_names = list(BANDS)
    clf = make_classifier(method).fit(td)
    # As `satseg classify` does: GDAL's cache capped from the moment the image is opened.
    with bounded_gdal_cache(), open_image(path) as src:
        if rows:
            src.height = min(rows, src.height)   # classify only the first rows (SVM): same blocks, fewer of them
        t = time.perf_counter()
        summary = classify_image(src, clf, out, block=1024)
        seconds = time.perf_counter() - t
        mp = src.width * src.height / 1e6
    peak_mb = peak_rss_mb()
    print(json.dumps({"method": method, "peak_rss_mb": round(peak_mb, 1), "seconds": round(seconds, 1),
                      "megapixels": round(mp, 1), "mp_per_s": round(mp / seconds, 2),
                      "classified": sum(summary.pixels.values())}))


def main(argv=None) -> int:
    from desktop_app.core.classifiers import METHODS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=10980)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--svm-rows", type=int, default=2048, help="rows classified by SVM (0 = all; default 2048)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary tile")
    ap.add_argument("--child", nargs=4, metavar=("METHOD", "PATH", "ROWS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3])
        return 0
    tmp = tempfile.mkdtemp(prefix="satseg-tile-", dir="/tmp")
    tile = os.path.join(tmp, "tile.tif")
    try:
        t = time.perf_counter()
        write_tile(tile, args.side)
        size_mb = os.path.getsize(tile) / 2 ** 20
        print(f"tile {args.side} x {args.side} x {len(BANDS)} uint16: {size_mb:.0f} MB written in "
              f"{time.perf_counter() - t:.0f} s ({tile})")
        print(f"{'method':<16}{'peak RSS MB':>12}{'MP':>8}{'s':>8}{'MP/s':>8}  target < {LIMIT_MB} MB")
        worst = 0.0
        for method in args.methods.split(","):
            rows = args.svm_rows if method == "svm" else 0
            out = os.path.join(tmp, f"{method}.tif")
            p = subprocess.run([sys.executable, __file__, "--child", method, tile, str(rows), out],
                               capture_output=True, text=True)
            if p.returncode != 0:
                print(f"{method:<16} failed: {p.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            worst = max(worst, r["peak_rss_mb"])
            verdict = "met" if r["peak_rss_mb"] < LIMIT_MB else "MISSED"
            note = f" (first {rows} rows)" if rows else ""
            print(f"{method:<16}{r['peak_rss_mb']:>12.0f}{r['megapixels']:>8.1f}{r['seconds']:>8.1f}"
                  f"{r['mp_per_s']:>8.2f}  {verdict}{note}")
            sys.stdout.flush()
            os.remove(out)
        print(f"worst peak RSS: {worst:.0f} MB")
    finally:
        if not args.keep:
            for f in os.listdir(tmp):
                os.remove(os.path.join(tmp, f))
            os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
