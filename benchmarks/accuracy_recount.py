"""Validation accuracy after a threshold change: polygons rasterized every time versus kept.

On the demo scene (in memory) and a random class array: the median time of
``accuracy_against_polygons`` without a ``PolygonReference`` (rasterizes the validation polygons)
and with one that already holds them (re-counts the reference pixels only), and their ratio.

    PYTHONPATH=. .venv/bin/python benchmarks/accuracy_recount.py [--size 1000] [--repeat 20]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def median_ms(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000


def main() -> int:
    from desktop_app.core.accuracy import PolygonReference, accuracy_against_polygons
    from desktop_app.core.demo_scene import CLASSES, make_demo_scene
    from desktop_app.core.samples import samples_from_geojson

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1000, help="demo scene side in px (default 1000)")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    scene = make_demo_scene(size=args.size)
    img = scene.image
    samples = samples_from_geojson({"type": "FeatureCollection",
                                    "features": list(scene.samples["features"]) + list(scene.validation["features"])})
    pred = np.random.default_rng(0).integers(0, len(CLASSES) + 1, (img.height, img.width)).astype(np.uint8)
    ref = PolygonReference()
    kept = accuracy_against_polygons(pred, img.transform, img.crs, samples, CLASSES, reference=ref)
    fresh = accuracy_against_polygons(pred, img.transform, img.crs, samples, CLASSES)
    assert kept.to_dict() == fresh.to_dict()
    t_fresh = median_ms(lambda: accuracy_against_polygons(pred, img.transform, img.crs, samples, CLASSES),
                        args.repeat)
    t_kept = median_ms(lambda: accuracy_against_polygons(pred, img.transform, img.crs, samples, CLASSES,
                                                         reference=ref), args.repeat)
    print(f"{img.width} x {img.height} px, {len(samples.with_role('validation'))} validation polygons, "
          f"{fresh.total} reference pixels")
    print(f"rasterized every time: {t_fresh:.2f} ms median of {args.repeat}")
    print(f"kept (re-count only):  {t_kept:.2f} ms median of {args.repeat}")
    print(f"ratio: {t_fresh / t_kept:.1f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
