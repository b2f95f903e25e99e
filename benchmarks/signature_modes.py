"""Signatures per class versus per polygon versus auto, and polygon-grouped versus pixel-level CV.

Whole ``satseg`` processes on the demo scene (written to a temporary folder): for each method
and signature mode, wall time of ``satseg classify`` and its overall accuracy / kappa against
the held-out validation polygons and against every pixel of truth.tif; then ``satseg train
--cv 5`` with folds grouped by polygon and at pixel level, and their ratio.

    .venv/bin/python benchmarks/signature_modes.py [--size 1000] [--methods spectral_angle,min_distance]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SATSEG = [sys.executable, "-m", "desktop_app.cli"]
ROOT = Path(__file__).resolve().parents[1]


def satseg(*args) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run(SATSEG + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1000, help="demo scene side in px (default 1000)")
    ap.add_argument("--methods", default="spectral_angle,min_distance,max_likelihood")
    ap.add_argument("--modes", default="per-class,per-polygon,auto")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        subprocess.run(SATSEG + ["demo-scene", str(d), "--size", str(args.size)], cwd=ROOT, check=True,
                       capture_output=True)
        scene, samples = d / "scene.tif", d / "samples.geojson"
        print(f"demo scene {args.size}x{args.size}, whole satseg processes")
        print(f"{'method':<16} {'signatures':<12} {'seconds':>8} {'OA val':>7} {'kappa':>7} {'OA truth':>9}")
        for method in args.methods.split(","):
            for mode in args.modes.split(","):
                out = d / "c.tif"
                _, secs = satseg("classify", scene, samples, "--method", method, "--signatures", mode,
                                 "--out", out, "--json")
                val, _ = satseg("accuracy", out, d / "validation.geojson", "--json")
                truth, _ = satseg("accuracy", out, d / "truth.tif", "--json")
                print(f"{method:<16} {mode:<12} {secs:>8.2f} {val['overall_accuracy']:>7.4f} {val['kappa']:>7.4f} "
                      f"{truth['overall_accuracy']:>9.4f}")
        print()
        print(f"{'method':<16} {'signatures':<12} {'CV by':<8} {'OA':>7} {'kappa':>7} {'seconds':>8}")
        for method in args.methods.split(","):
            res = {}
            for by in ("polygon", "pixel"):
                r, secs = satseg("train", scene, samples, "--method", method, "--signatures", "per-polygon",
                                 "--cv", "5", "--cv-by", by, "--json")
                res[by] = r["cv"]["overall_accuracy"]
                print(f"{method:<16} {'per-polygon':<12} {by:<8} {r['cv']['overall_accuracy']:>7.4f} "
                      f"{r['cv']['kappa']:>7.4f} {secs:>8.2f}")
            print(f"  pixel-level OA / polygon-grouped OA = {res['pixel'] / res['polygon']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
