"""Throughput of every classifier on a synthetic 16-megapixel, 6-band, 5-class image.

For each method prints megapixels per second of ``classify_raster`` (the
block path the app uses: (bands, rows, cols) raster in, uint8 classes out)
and of a straightforward whole-array NumPy implementation of the same rule
run in the same process, their ratio, and how many pixels the two agree on.

    .venv/bin/python benchmarks/classify_speed.py [--side 4000] [--methods a,b] [--svm-side 500]

Targets (issue 3): Mahalanobis, maximum likelihood, parallelepiped, minimum
distance and spectral angle >= 3x the reference and >= 10 MP/s on 2 cores;
random forest (100 trees) >= 1 MP/s. SVM runs on a smaller square
(``--svm-side``) because kernel SVM prediction is slow by nature.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks.synthetic import CRS_UTM, class_map, class_model, pixels_for, training_data, transform_for  # noqa: E402
from desktop_app.core.classifiers import METHODS, make_classifier  # noqa: E402
from desktop_app.core.classify import classify_raster  # noqa: E402
from desktop_app.core.raster import Raster  # noqa: E402


# -- straightforward whole-array NumPy references (X is (n, b)) --------------------------
def ref_mahalanobis(clf, X):
    s = clf.stats
    d2 = np.empty((X.shape[0], len(s.means)))
    for k in range(len(s.means)):
        d = X - s.means[k]
        d2[:, k] = np.einsum("ij,jk,ik->i", d, np.linalg.inv(s.covs[k]), d)
    return clf.class_ids[d2.argmin(axis=1)]


def ref_max_likelihood(clf, X):
    s = clf.stats
    g = np.empty((X.shape[0], len(s.means)))
    for k in range(len(s.means)):
        d = X - s.means[k]
        d2 = np.einsum("ij,jk,ik->i", d, np.linalg.inv(s.covs[k]), d)
        g[:, k] = clf.log_priors[k] - 0.5 * np.linalg.slogdet(s.covs[k])[1] - 0.5 * d2
    return clf.class_ids[g.argmax(axis=1)]


def ref_parallelepiped(clf, X):
    K = len(clf.means)
    dist = np.full((X.shape[0], K), np.inf)
    for k in range(K):
        inside = ((X >= clf.lo[k]) & (X <= clf.hi[k])).all(axis=1)
        z = ((X - clf.means[k]) / clf.stds[k]) ** 2
        dist[inside, k] = z[inside].sum(axis=1)
    labels = clf.class_ids[dist.argmin(axis=1)]
    labels[np.isinf(dist).all(axis=1)] = 0
    return labels


def ref_min_distance(clf, X):
    d = np.stack([((X - m) ** 2).sum(axis=1) for m in clf.means], axis=1)
    return clf.class_ids[d.argmin(axis=1)]


def ref_spectral_angle(clf, X):
    norms = np.linalg.norm(X, axis=1)
    ang = np.stack([np.arccos(np.clip(X @ m / (norms * np.linalg.norm(m)), -1, 1)) for m in clf.means], axis=1)
    return clf.class_ids[ang.argmin(axis=1)]


def ref_sklearn(clf, X):
    return clf.class_ids[clf.model.predict(X)]


REFERENCES = {
    "mahalanobis": ref_mahalanobis, "max_likelihood": ref_max_likelihood, "parallelepiped": ref_parallelepiped,
    "min_distance": ref_min_distance, "spectral_angle": ref_spectral_angle,
    "random_forest": ref_sklearn, "svm": ref_sklearn,
}
TARGETS = {m: (10.0, 3.0) for m in ("mahalanobis", "max_likelihood", "parallelepiped", "min_distance", "spectral_angle")}
TARGETS["random_forest"] = (1.0, None)


def make_image(side: int, bands: int, classes: int, seed: int = 0, noise: float = 0.01):
    means, chols = class_model(bands, classes, seed, noise)
    truth = class_map(side, side, classes, seed)
    data = pixels_for(truth.ravel(), means, chols, seed + 2).reshape(bands, side, side)
    raster = Raster(data, transform_for(), CRS_UTM, [f"B{i + 1}" for i in range(bands)],
                    np.zeros((side, side), bool))
    return raster, truth, training_data(means, chols)


def timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None) -> int:
    # scikit-learn 1.9 warns from its own joblib workers in long-running processes; noise here.
    warnings.filterwarnings("ignore", message=".*sklearn.utils.parallel.delayed.*")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=4000, help="image side in px (default 4000 = 16 MP)")
    ap.add_argument("--svm-side", type=int, default=500, help="image side for SVM (default 500)")
    ap.add_argument("--bands", type=int, default=6)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs for the fast path (default 2)")
    ap.add_argument("--rf-noise", type=float, default=0.03,
                    help="also time random forest on overlapping classes (this within-class noise; deeper "
                         "trees, like real imagery); 0 to skip (default 0.03)")
    args = ap.parse_args(argv)
    raster, truth, training = make_image(args.side, args.bands, args.classes)
    print(f"synthetic image {args.side}x{args.side} = {raster.width * raster.height / 1e6:.1f} MP, "
          f"{args.bands} bands, {args.classes} classes; {len(training.y)} training px; cpu count {os.cpu_count()}")
    print(f"{'method':<16}{'MP/s':>8}{'ref MP/s':>10}{'ratio':>8}{'agree':>9}{'acc':>7}  target")
    runs = [(m, raster, truth, training) for m in args.methods.split(",")]
    if args.rf_noise > 0 and "random_forest" in args.methods.split(","):
        hard = make_image(args.side, args.bands, args.classes, noise=args.rf_noise)
        runs.append(("random_forest", *hard))
    for method, raster, truth, training in runs:
        r = raster
        if method == "svm":
            s = args.svm_side
            r = Raster(np.ascontiguousarray(raster.data[:, :s, :s]), raster.transform, raster.crs,
                       raster.band_names, raster.nodata_mask[:s, :s])
        clf = make_classifier(method).fit(training)
        name = method
        if method == "random_forest":
            depth = np.mean([e.get_depth() for e in clf.model.estimators_])
            name = f"rf depth {depth:.0f}"
        classify_raster(r, clf)  # warm-up (thread pools, caches)
        labels, t_fast = timed(lambda: classify_raster(r, clf), args.repeat)
        X = np.ascontiguousarray(r.data.reshape(r.count, -1).T)
        ref, t_ref = timed(lambda: REFERENCES[method](clf, X))
        mp = r.width * r.height / 1e6
        agree = float((ref.reshape(labels.shape) == labels).mean())
        acc = float((labels == truth[:r.height, :r.width]).mean())
        target = TARGETS.get(method)
        verdict = ""
        if target:
            ok = mp / t_fast >= target[0] and (target[1] is None or t_ref / t_fast >= target[1])
            verdict = (f">= {target[0]:g} MP/s" + (f", >= {target[1]:g}x" if target[1] else "")
                       + (": met" if ok else ": MISSED"))
        print(f"{name:<16}{mp / t_fast:>8.1f}{mp / t_ref:>10.2f}{t_ref / t_fast:>8.1f}{agree:>9.5f}{acc:>7.3f}  {verdict}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
