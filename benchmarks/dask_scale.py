"""`satseg classify --dask local` against the single-process block path, as whole processes.

1. A synthetic Sentinel-2-sized tile (default 10980 x 10980 px, 4 bands float32,
   5 classes): `satseg classify ... --method mahalanobis` with and without
   `--dask local`; wall time, the peak memory of the satseg process and the peak
   of the whole process tree (satseg plus its dask scheduler/worker processes,
   summed RSS sampled every 0.1 s), and whether the two class rasters are equal.
2. Growth with area on `--dask local`: 1, 4 and 16 tiles of `--grow-side` px
   (one image of 1x1, 2x2 and 4x4 tiles), seconds per tile.

    .venv/bin/python benchmarks/dask_scale.py [--side 10980] [--grow-side 2048] [--keep DIR]

Figures go to README "Scale-out"; what the code relies on is docs/scale.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import cli_process  # noqa: E402

cli_process.BANDS = ["B2", "B3", "B4", "B8"]   # the 10 m bands of a Sentinel-2 tile


def run_measured(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, peak RSS of the process, peak summed RSS of its process tree), in MB."""
    import psutil

    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc = psutil.Process(p.pid)
    peak_self = peak_tree = 0
    while p.poll() is None:
        try:
            own = proc.memory_info().rss
            tree = own + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:   # a child ended between listing and reading it
            continue
        peak_self, peak_tree = max(peak_self, own), max(peak_tree, tree)
        time.sleep(0.1)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, peak_self / 2 ** 20, peak_tree / 2 ** 20


def classify(scene, samples, out, dask: bool):
    cmd = [sys.executable, "-m", "desktop_app.cli", "classify", str(scene), str(samples), "--method", "mahalanobis",
           "--out", str(out), "--json"] + (["--dask", "local"] if dask else [])
    return run_measured(cmd)


def equal(a, b) -> bool:
    import numpy as np
    import rasterio

    with rasterio.open(a) as x, rasterio.open(b) as y:
        return all(np.array_equal(x.read(1, window=w), y.read(1, window=w)) for _, w in x.block_windows(1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=10980, help="tile side in px (default 10980, a Sentinel-2 tile)")
    ap.add_argument("--grow-side", type=int, default=2048, help="tile side for the 1/4/16-tile growth runs")
    ap.add_argument("--skip-tile", action="store_true", help="only the growth runs")
    ap.add_argument("--keep", metavar="DIR", help="inputs and outputs here instead of a temp folder")
    args = ap.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="satseg-dask-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {len(os.sched_getaffinity(0))} usable cores, load average {os.getloadavg()[0]:.1f}")
    if not args.skip_tile:
        d = folder / "tile"
        d.mkdir(exist_ok=True)
        t = time.perf_counter()
        scene, samples = cli_process.make_inputs(d, args.side)
        print(f"tile: {args.side} x {args.side} px = {args.side ** 2 / 1e6:.1f} MP, 4 bands float32 "
              f"({time.perf_counter() - t:.0f} s to make)")
        one = classify(scene, samples, d / "one.tif", dask=False)
        many = classify(scene, samples, d / "dask.tif", dask=True)
        for name, (wall, own, tree) in (("single process", one), ("--dask local", many)):
            print(f"  {name:<15} {wall:7.1f} s   peak satseg process {own:7.0f} MB   "
                  f"peak process tree {tree:7.0f} MB")
        print(f"  dask / single wall time {many[0] / one[0]:.2f}x; class rasters identical: "
              f"{equal(d / 'one.tif', d / 'dask.tif')}")
    print(f"growth on --dask local, tiles of {args.grow_side} x {args.grow_side} px:")
    base = None
    for n in (1, 2, 4):
        d = folder / f"grow{n * n}"
        d.mkdir(exist_ok=True)
        scene, samples = cli_process.make_inputs(d, args.grow_side * n)
        wall, own, tree = classify(scene, samples, d / "dask.tif", dask=True)
        base = base or wall
        print(f"  {n * n:>2} tiles ({(args.grow_side * n) ** 2 / 1e6:6.1f} MP): {wall:7.1f} s  "
              f"{wall / (n * n):6.1f} s/tile  x{wall / base:5.2f} of 1 tile   peak tree {tree:6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
