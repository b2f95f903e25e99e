"""Whole `satseg` processes as a user runs them, against a plain NumPy script doing the same job.

Writes a synthetic float32 GeoTIFF (default 4000 x 4000 = 16 MP, 6 bands, 5 classes) and
sample polygons over it, then times, each as its own process (best of ``--repeat``):

- ``satseg classify SCENE SAMPLES --method mahalanobis --out ...`` (start-up, imports, reading,
  training, classifying, writing: everything);
- a plain whole-array script: rasterio reads the image, the polygons are rasterized, class
  means/covariances come from NumPy, Mahalanobis distances for every pixel at once, argmin,
  a GeoTIFF is written;
- ``satseg --help`` and ``satseg info SCENE``.

    .venv/bin/python benchmarks/cli_process.py [--side 4000] [--repeat 2] [--keep DIR]

Targets (issue 12): classify <= 0.5x the plain script; --help <= 0.5 s; info <= 1 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import CRS_UTM, class_map, class_model, pixels_for, transform_for  # noqa: E402

BANDS = ["B2", "B3", "B4", "B8", "B11", "B12"]

# The plain script: what a user would write with rasterio + NumPy, whole arrays, no blocks.
PLAIN_SCRIPT = r'''
import json, sys
import numpy as np
import rasterio
from rasterio.features import rasterize
from pyproj import Transformer
from shapely.geometry import shape
from shapely.ops import transform as shp_transform

scene, samples, out = sys.argv[1:4]
with rasterio.open(scene) as src:
    X = src.read()                       # (b, rows, cols) float32, whole image
    profile, tr, crs = src.profile, src.transform, src.crs
b, rows, cols = X.shape
fc = json.load(open(samples))
to_img = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
names = []
shapes = []
for f in fc["features"]:
    name = f["properties"]["class"]
    if name not in names:
        names.append(name)
    shapes.append((shp_transform(to_img, shape(f["geometry"])), names.index(name) + 1))
y = rasterize(shapes, out_shape=(rows, cols), transform=tr, fill=0, dtype="uint8")
flat = X.reshape(b, -1)
d2 = np.empty((len(names), rows * cols), np.float32)
for k in range(len(names)):
    P = flat[:, y.ravel() == k + 1]
    m = P.mean(axis=1)
    inv = np.linalg.inv(np.cov(P))
    d = flat - m[:, None].astype(np.float32)
    d2[k] = np.einsum("in,ij,jn->n", d, inv.astype(np.float32), d)
labels = (d2.argmin(axis=0) + 1).astype(np.uint8).reshape(rows, cols)
profile.update(count=1, dtype="uint8", nodata=255)
with rasterio.open(out, "w", **profile) as dst:
    dst.write(labels, 1)
'''


def make_inputs(folder: Path, side: int, n_classes: int = 5, seed: int = 0) -> tuple[Path, Path]:
    from desktop_app.core.atomic import write_text_atomic
    from desktop_app.core.geo import WGS84, transform_geometry
    from desktop_app.core.geotiff import GeoTiffWriter
    from rasterio.windows import Window
    from shapely.geometry import box, mapping

    means, chols = class_model(len(BANDS), n_classes, seed)
    truth = class_map(side, side, n_classes, seed)
    transform = transform_for()
    scene = folder / "scene.tif"
    with GeoTiffWriter(scene, width=side, height=side, count=len(BANDS), dtype="float32", transform=transform,
                       crs=CRS_UTM, band_names=BANDS) as w:
        step = 1024
        for r in range(0, side, step):
            lab = truth[r:r + step]
            data = pixels_for(lab.ravel(), means, chols, seed + 2 + r).reshape(len(BANDS), *lab.shape)
            w.write(data, window=Window(0, r, side, lab.shape[0]))
    # Four 20 x 20 px squares per class, each entirely inside that class.
    features, rng = [], np.random.default_rng(seed)
    for k in range(1, n_classes + 1):
        found = 0
        for _ in range(20000):
            r, c = rng.integers(0, side - 20, 2)
            if (truth[r:r + 20, c:c + 20] == k).all():
                x0, y0 = transform @ (c, r)
                x1, y1 = transform @ (c + 20, r + 20)
                g = transform_geometry(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), CRS_UTM, WGS84)
                features.append({"type": "Feature", "properties": {"class": f"class{k}"}, "geometry": mapping(g)})
                found += 1
                if found == 4:
                    break
    samples = folder / "samples.geojson"
    write_text_atomic(samples, json.dumps({"type": "FeatureCollection", "features": features}))
    return scene, samples


def timed(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        dt = time.perf_counter() - t
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr}")
        best = min(best, dt)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=4000, help="image side in px (default 4000 = 16 MP)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per command; the best is reported (default 2)")
    ap.add_argument("--keep", metavar="DIR", help="write the inputs and outputs here instead of a temp folder")
    args = ap.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="satseg-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    scene, samples = make_inputs(folder, args.side)
    print(f"inputs: {args.side} x {args.side} px = {args.side ** 2 / 1e6:.1f} MP, {len(BANDS)} bands float32, "
          f"5 classes ({time.perf_counter() - t:.1f} s to make) in {folder}")
    from desktop_app.core.atomic import write_text_atomic

    py = sys.executable
    env_py = [py, "-m", "desktop_app.cli"]
    plain_py = folder / "plain_mahalanobis.py"
    write_text_atomic(plain_py, PLAIN_SCRIPT)
    ours = timed(env_py + ["classify", str(scene), str(samples), "--method", "mahalanobis",
                           "--out", str(folder / "satseg.tif"), "--json"], args.repeat)
    plain = timed([py, str(plain_py), str(scene), str(samples), str(folder / "plain.tif")], args.repeat)
    help_s = timed(env_py + ["--help"], max(args.repeat, 3))
    info_s = timed(env_py + ["info", str(scene)], max(args.repeat, 3))
    import rasterio

    with rasterio.open(folder / "satseg.tif") as a, rasterio.open(folder / "plain.tif") as b:
        agree = float((a.read(1) == b.read(1)).mean())
    print(f"satseg classify (whole process): {ours:6.2f} s")
    print(f"plain NumPy script (process):    {plain:6.2f} s")
    print(f"ratio satseg / plain:            {ours / plain:6.2f}x  (target <= 0.5x); labels agree on {agree:.2%}")
    print(f"satseg --help:                   {help_s:6.2f} s  (target <= 0.5 s)")
    print(f"satseg info SCENE:               {info_s:6.2f} s  (target <= 1 s)")
    print(f"os.cpu_count() = {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
