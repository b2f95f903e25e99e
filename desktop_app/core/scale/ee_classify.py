"""Classification inside Earth Engine: the same methods, class ids and thresholds as the local engine (docs/scale.md).

- random_forest: ``ee.Classifier.smileRandomForest`` trained on ``sampleRegions``;
  a threshold (minimum probability) uses its MULTIPROBABILITY output.
- mahalanobis without a threshold: ``ee.Classifier.minimumDistance('mahalanobis')``.
- max_likelihood, parallelepiped and thresholded mahalanobis: per-class mean,
  covariance, min, max and count from ``reduceRegion`` (:func:`stats_graph`) come
  back to the client, fit the *local* classifier (``fit_signatures``: the same
  regularisation, priors and chi-square limits), and that classifier's numbers
  become band-maths expressions (:func:`rank_rows`) the server evaluates per
  pixel. The expressions are plain ``+ - * **`` over constants, so a test can
  evaluate the very same strings with NumPy against the local prediction.

``ee`` is imported inside functions only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import Advice, SatSegError

SERVER_METHODS = ("random_forest", "mahalanobis", "max_likelihood", "parallelepiped")
STATS_METHODS = ("mahalanobis", "max_likelihood", "parallelepiped")
# Rank given to a rejected class: larger than any real distance; a pixel whose best rank is this is unclassified.
REJECTED = 1e30
CLASS_PROPERTY = "satseg_class"
# Reflectance = DN / 10000 for COPERNICUS/S2_SR_HARMONIZED (offset already removed by the harmonisation).
DN_SCALE = 10000.0
MAX_PIXELS = 1e13


def check_method(method: str, thresholds) -> None:
    """One line for a method or threshold Earth Engine cannot run the way the local engine does."""
    from ..classifiers import METHODS

    if method not in SERVER_METHODS:
        labels = [METHODS[m].label for m in SERVER_METHODS]
        labels = f"{', '.join(labels[:-1])} or {labels[-1]}"
        raise SatSegError(Advice(
            f"{METHODS[method].label if method in METHODS else method} cannot run on Earth Engine; choose {labels} "
            "as the Method in the Model panel, or untick 'on Earth Engine' to classify on this computer",
            f"--method {method} cannot run on Earth Engine; choose one of {', '.join(SERVER_METHODS)} "
            "(or classify locally with satseg classify)"))
    if method == "random_forest" and isinstance(thresholds, dict):
        why = "its probability output cannot be cut per class"
        raise SatSegError(Advice(f"Random forest on Earth Engine takes one threshold for every class ({why}); tick "
                                 "'One value for all classes' under Thresholds in the Model panel",
                                 f"random_forest on Earth Engine takes one --threshold VALUE for every class: {why}"))


def check_samples_in_roi(samples, roi) -> None:
    """Every training polygon must touch the ROI: the server only has imagery there."""
    from ..geo import WGS84, transform_geometry

    for p in samples.with_role("training"):
        if not transform_geometry(p.geometry, WGS84, roi.crs).intersects(roi.projected):
            raise SatSegError(f"sample {p.label or repr(p.class_name)} lies outside the ROI; "
                              "widen the ROI or drop the polygon")


def sample_features(samples, roi):
    """The training polygons as an ee.FeatureCollection in the ROI's UTM CRS, with their class id."""
    import json

    import ee
    from shapely.geometry import mapping

    from ..geo import WGS84, transform_geometry

    crs = roi.crs.to_string()
    feats = []
    for p in samples.with_role("training"):
        g = json.loads(json.dumps(mapping(transform_geometry(p.geometry, WGS84, roi.crs))))
        feats.append(ee.Feature(ee.Geometry(g, crs, False), {CLASS_PROPERTY: samples.class_id(p.class_name)}))
    return ee.FeatureCollection(feats)


# --- training and statistics graphs ---------------------------------------------------------------

def reflectance(composite, bands: list[str]):
    """The uint16 DN composite (0 = no data) as float reflectance, masked where any band is 0."""
    import ee

    dn = ee.Image(composite).select(bands)
    return dn.updateMask(dn.reduce(ee.Reducer.min()).gt(0)).divide(DN_SCALE)


def training_table(image, features, scale: float, crs: str):
    """The pixels under the sample polygons with their class id (``sampleRegions``)."""
    return image.sampleRegions(collection=features, properties=[CLASS_PROPERTY], scale=scale,
                               projection=crs, geometries=False)


def stats_graph(image, features, class_ids: list[int], bands: list[str], scale: float, crs: str):
    """ee.Dictionary {class id: {mean..., min..., max..., count, cov}} from ``reduceRegion`` per class."""
    import ee

    moments = (ee.Reducer.mean().combine(ee.Reducer.minMax(), "", True)
               .combine(ee.Reducer.count(), "", True))
    out = {}
    for cid in class_ids:
        region = features.filter(ee.Filter.eq(CLASS_PROPERTY, cid)).geometry()
        kw = dict(geometry=region, scale=scale, crs=crs, maxPixels=MAX_PIXELS)
        per_band = image.reduceRegion(reducer=moments, **kw)
        cov = image.toArray().reduceRegion(reducer=ee.Reducer.covariance(), **kw).get("array")
        out[str(cid)] = ee.Dictionary(per_band).set("cov", cov)
    return ee.Dictionary(out)


def signatures_from_stats(info: dict, classes, bands: list[str]):
    """A local SignatureSet from the server's statistics (``stats_graph(...).getInfo()``)."""
    from ..classifiers.signature_set import SignatureSet

    rows, missing = [], []
    for c in classes:
        d = info.get(str(c.id)) or {}
        count = int(d.get(f"{bands[0]}_count") or 0)
        if count == 0 or d.get("cov") is None:
            missing.append(c.name)
            continue
        rows.append((c, count, [d[f"{b}_mean"] for b in bands], d["cov"],
                     [d[f"{b}_min"] for b in bands], [d[f"{b}_max"] for b in bands]))
    if missing:
        raise SatSegError(f"no valid Earth Engine pixels under the samples of {', '.join(missing)} "
                          "(clouds or no imagery there in the date range)")
    return SignatureSet(list(bands), list(classes), np.array([r[0].id for r in rows]), [r[0].name for r in rows],
                        ["class"] * len(rows), np.array([r[1] for r in rows]),
                        np.array([r[2] for r in rows], np.float64), np.array([r[3] for r in rows], np.float64),
                        np.array([r[4] for r in rows], np.float64), np.array([r[5] for r in rows], np.float64))


# --- the fitted local classifier as band maths ----------------------------------------------------

@dataclass
class RankRow:
    """One signature row: rank expression (lower wins), rejection expression (1 = rejected) and its class id."""

    class_id: int
    rank: str
    reject: Optional[str]


def _lin(coefs, const) -> str:
    terms = " + ".join(f"({float(a)!r}) * x{j}" for j, a in enumerate(coefs))
    return f"({terms} - ({float(const)!r}))"


def _squared_sum(rows) -> str:
    return " + ".join(f"{r} ** 2" for r in rows)


def rank_rows(clf, thresholds=None) -> list[RankRow]:
    """The fitted local ``clf`` (mahalanobis, max_likelihood, parallelepiped) as per-row expressions over x0..x{b-1}."""
    b = clf.n_bands
    limits = clf.threshold_array(thresholds)     # (rows,) NaN = no threshold, the local engine's own parsing
    out = []
    if clf.name in ("mahalanobis", "max_likelihood"):
        from scipy.stats import chi2

        st = clf.stats
        for k in range(clf.n_rows):
            # D² = ‖L⁻¹x − L⁻¹m‖²: the same whitening (A, c) the local engine multiplies with.
            lin = [_lin(st.A[k * b + i], st.c[k * b + i, 0]) for i in range(b)]
            d2 = _squared_sum(lin)
            lim = limits[k] if limits is not None else np.nan
            reject = None
            if clf.name == "mahalanobis":
                rank = d2
                if not np.isnan(lim):
                    reject = f"({d2}) > {float(np.float32(lim) ** 2)!r}"
            else:
                rank = f"{d2} + ({float(clf.offset[k, 0])!r})"
                if not np.isnan(lim):
                    reject = f"({d2}) > {float(chi2.ppf(lim, b))!r}"
            out.append(RankRow(int(clf.row_ids[k]), rank, reject))
        return out
    if clf.name == "parallelepiped":
        box = clf._box_limits(limits)
        for k in range(clf.n_rows):
            z = [_lin([clf.scale[k, j, 0] if i == j else 0.0 for i in range(b)], clf.offset[k, j, 0])
                 for j in range(b)]
            if np.isnan(box[k]):
                out_of_box = " || ".join(f"(x{j} < {float(clf.lo32[k, j, 0])!r}) || (x{j} > {float(clf.hi32[k, j, 0])!r})"
                                         for j in range(b))
            else:
                kk = float(np.float32(box[k] ** 2))
                out_of_box = " || ".join(f"({zj} ** 2 > {kk!r})" for zj in z)
            out.append(RankRow(int(clf.row_ids[k]), _squared_sum(z), out_of_box))
        return out
    raise SatSegError(f"{clf.label} has no band-maths form on Earth Engine")


def rows_graph(image, rows: list[RankRow], bands: list[str]):
    """uint8 class ids from the per-row expressions: argmin of the ranks, 0 when every row is rejected."""
    import ee

    names = {f"x{j}": image.select(b) for j, b in enumerate(bands)}
    ranks = []
    for r in rows:
        rank = image.expression(r.rank, names).rename("rank")
        if r.reject:
            rank = rank.where(image.expression(r.reject, names), REJECTED)
        ranks.append(rank)
    stack = ee.Image.cat(ranks)
    best = stack.multiply(-1).toArray().arrayArgmax().arrayGet([0])
    labels = best.remap(list(range(len(rows))), [r.class_id for r in rows])
    low = stack.reduce(ee.Reducer.min())
    return labels.where(low.gte(REJECTED), 0)


def evaluate_rows(rows: list[RankRow], X: np.ndarray) -> np.ndarray:
    """What ``rows_graph`` computes, on a (b, n) float64 array here: the same expression strings, with NumPy.

    Used to check the server's arithmetic against the local engine (docs/scale.md).
    """
    env = {f"x{j}": X[j].astype(np.float64) for j in range(X.shape[0])}
    ranks = []
    for r in rows:
        rank = np.asarray(eval(r.rank, {"__builtins__": {}}, env), np.float64)   # noqa: S307 - our own strings
        if r.reject:
            reject = eval(r.reject.replace("||", "|"), {"__builtins__": {}}, env)   # noqa: S307
            rank = np.where(reject, REJECTED, rank)
        ranks.append(rank)
    stack = np.stack(ranks)
    labels = np.array([r.class_id for r in rows])[stack.argmin(axis=0)]
    return np.where(stack.min(axis=0) >= REJECTED, 0, labels).astype(np.uint8)


def classifier_graph(image, method: str, features, bands: list[str], scale: float, crs: str, *,
                     fitted=None, thresholds=None, trees: int = 100, seed: int = 0):
    """The server-side class image (before nodata = 255).

    ``fitted``: the local classifier fitted on the server's statistics, for the
    band-maths methods (max_likelihood, parallelepiped, thresholded mahalanobis).
    """
    import ee

    if method == "random_forest":
        table = training_table(image, features, scale, crs)
        rf = ee.Classifier.smileRandomForest(numberOfTrees=int(trees), seed=int(seed)).train(table, CLASS_PROPERTY, bands)
        labels = image.select(bands).classify(rf)
        if thresholds is not None:
            probs = image.select(bands).classify(rf.setOutputMode("MULTIPROBABILITY"))
            top = probs.arrayReduce(ee.Reducer.max(), [0]).arrayGet([0])
            labels = labels.where(top.lt(float(thresholds)), 0)
        return labels
    if method == "mahalanobis" and thresholds is None:
        table = training_table(image, features, scale, crs)
        md = ee.Classifier.minimumDistance("mahalanobis").train(table, CLASS_PROPERTY, bands)
        return image.select(bands).classify(md)
    if fitted is None:
        raise SatSegError(f"{method} on Earth Engine needs the class statistics first")
    return rows_graph(image, rank_rows(fitted, thresholds), bands)


def finish(labels, image):
    """uint8 result: 255 where the composite has no data (the local NODATA)."""
    return labels.updateMask(image.mask().reduce("min")).unmask(255).toUint8()
