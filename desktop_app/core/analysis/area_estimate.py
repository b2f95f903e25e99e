"""Error-adjusted areas and accuracies from a stratified random sample of points.

The estimator of Olofsson et al. (2014), "Good practices for estimating area
and assessing accuracy of land change", Remote Sensing of Environment 148,
42–57, doi:10.1016/j.rse.2014.02.015 (equations 2–10; docs/analysis.md,
"Area estimate"). Strata are the map classes; W_i is the mapped share of
stratum i; n_ij the sample count mapped i with reference j.

    p_ij = W_i n_ij / n_i·                       area-weighted error matrix
    p̂_·k = Σ_i p_ij[:, k]                        area proportion of class k
    S(p̂_·k)² = Σ_i (W_i p_ik − p_ik²) / (n_i· − 1)
    Â_k = A p̂_·k,   95 % CI = ± 1.96 A S(p̂_·k)
    Ô = Σ_j p_jj,   V(Ô) = Σ_i W_i² U_i (1 − U_i) / (n_i· − 1)
    U_i = p_ii / p_i·,  V(U_i) = U_i (1 − U_i) / (n_i· − 1)
    P_j = p_jj / p̂_·j,  V(P_j) = eq. 7 of the paper

z = 1.96 as in the paper.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import SatSegError

Z95 = 1.96


@dataclass
class AreaEstimate:
    classes: list[str]                 # strata = map classes, then reference-only classes
    mapped_area_m2: np.ndarray         # (K,) mapped area per class (0 for reference-only classes)
    counts: np.ndarray                 # (K, K) sample counts [map, reference]
    proportions: np.ndarray            # (K, K) area-weighted error matrix p_ij
    area_m2: np.ndarray
    area_se_m2: np.ndarray
    users: np.ndarray
    users_se: np.ndarray
    producers: np.ndarray
    producers_se: np.ndarray
    overall: float
    overall_se: float
    warnings: list[str] = field(default_factory=list)

    def per_class(self) -> dict:
        out = {}
        for k, name in enumerate(self.classes):
            out[name] = {
                "area_m2": _f(self.area_m2[k]), "ci95_m2": _f(Z95 * self.area_se_m2[k]),
                "area_se_m2": _f(self.area_se_m2[k]), "mapped_area_m2": _f(self.mapped_area_m2[k]),
                "users_accuracy": _f(self.users[k]), "users_accuracy_se": _f(self.users_se[k]),
                "producers_accuracy": _f(self.producers[k]), "producers_accuracy_se": _f(self.producers_se[k]),
                "sample_points": int(self.counts[k].sum()),
            }
        return out

    def to_dict(self) -> dict:
        return {
            "estimator": "stratified (Olofsson et al. 2014), strata = map classes, 95 % CI = ±1.96 SE",
            "area_estimate": self.per_class(),
            "overall_accuracy": _f(self.overall), "overall_accuracy_se": _f(self.overall_se),
            "classes": list(self.classes),
            "sample_counts": self.counts.astype(int).tolist(),
            "area_weighted_matrix": [[round(float(v), 8) for v in row] for row in self.proportions],
            "matrix_axes": "rows = map class (stratum), columns = reference class (order of 'classes')",
            "sample_points": int(self.counts.sum()),
            "warnings": list(self.warnings),
        }


def _f(v) -> Optional[float]:
    v = float(v)
    return None if not np.isfinite(v) else v


def stratified_estimate(classes: Sequence[str], mapped_area_m2: Sequence[float], counts) -> AreaEstimate:
    """Olofsson et al. (2014) estimates from mapped areas and a sample error matrix [map, reference].

    Classes with no mapped area (reference-only) get a zero weight; their row of counts must be empty.
    """
    counts = np.asarray(counts, dtype=np.float64)
    mapped = np.asarray(mapped_area_m2, dtype=np.float64)
    K = len(classes)
    if counts.shape != (K, K) or mapped.shape != (K,):
        raise SatSegError("the error matrix must be K × K and the mapped areas K long")
    total = mapped.sum()
    if total <= 0:
        raise SatSegError("the map has no classified area")
    W = mapped / total
    n_i = counts.sum(axis=1)
    warnings = []
    sampled = n_i > 0
    if np.any((W > 0) & ~sampled):
        missing = [c for c, w, s in zip(classes, W, sampled) if w > 0 and not s]
        raise SatSegError(f"stratum {', '.join(missing)} has no labelled sample point: every mapped class needs "
                          "points to estimate areas")
    if np.any(sampled & (n_i < 2)):
        warnings.append("a stratum with a single point has no variance estimate (standard errors are 0 there)")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(sampled[:, None], counts / np.where(sampled, n_i, 1)[:, None], 0.0)   # n_ij / n_i.
        p = W[:, None] * share
        dof = np.where(n_i > 1, n_i - 1, np.inf)
        p_col = p.sum(axis=0)
        se_p = np.sqrt(((W[:, None] * p - p ** 2) / dof[:, None]).sum(axis=0))
        U = np.where(sampled, np.diag(share), np.nan)
        V_U = U * (1 - U) / dof
        P = np.diag(p) / p_col
        overall = float(np.trace(p))
        V_O = float(np.nansum(W ** 2 * U * (1 - U) / dof))
        # Producer's accuracy variance, Olofsson et al. (2014) eq. 7 (with N_i. ∝ W_i).
        Nj = (W[:, None] * share).sum(axis=0)          # estimated reference share, = p_col
        V_P = np.full(K, np.nan)
        for j in range(K):                              # K ≤ 255: a loop over classes, not pixels
            if not (Nj[j] > 0):
                continue
            term1 = W[j] ** 2 * (1 - P[j]) ** 2 * U[j] * (1 - U[j]) / dof[j] if sampled[j] else 0.0
            others = np.arange(K) != j
            term2 = P[j] ** 2 * np.nansum(W[others] ** 2 * share[others, j] * (1 - share[others, j]) / dof[others])
            V_P[j] = (term1 + term2) / Nj[j] ** 2
    return AreaEstimate(list(classes), mapped, counts, p, p_col * total, se_p * total, U, np.sqrt(V_U), P,
                        np.sqrt(V_P), overall, float(np.sqrt(V_O)), warnings)


# ------------------------------------------------------------------ points on a map


def read_points(path) -> tuple[list[dict], dict]:
    """(features, foreign members) of a GeoJSON point file (WGS84)."""
    p = Path(path)
    if not p.is_file():
        raise SatSegError(f"point file {p} does not exist")
    try:
        fc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SatSegError(f"{p} is not a GeoJSON file: {exc}") from None
    feats = fc.get("features") if isinstance(fc, dict) else None
    if not isinstance(feats, list):
        raise SatSegError(f"{p} is not a GeoJSON FeatureCollection")
    return feats, {k: v for k, v in fc.items() if k not in ("type", "features")}


def is_point_file(path) -> bool:
    """True for a GeoJSON whose features are all points (a validation sample), False otherwise."""
    p = Path(path)
    if p.suffix.lower() not in (".geojson", ".json") or not p.is_file():
        return False
    try:
        feats, _ = read_points(p)
    except SatSegError:
        return False
    types = {((f or {}).get("geometry") or {}).get("type") for f in feats}
    return bool(feats) and types <= {"Point"}


def estimate_from_points(classes_path, points_path, reference_field: str = "reference") -> AreaEstimate:
    """Area estimate of a class raster from labelled sample points (GeoJSON, property ``reference``)."""
    from ..areas import class_areas_of_file
    from ..classes import read_class_raster

    feats, _ = read_points(points_path)
    _check_labelled(feats, reference_field, points_path)
    table = class_areas_of_file(classes_path)
    array, transform, crs, _ = read_class_raster(classes_path)   # uint8: fits in memory
    return estimate_from_features(array, transform, crs, table, feats, reference_field)


def _check_labelled(feats, reference_field, where) -> list[int]:
    refs = [((f or {}).get("properties") or {}).get(reference_field) for f in feats]
    labelled = [i for i, r in enumerate(refs) if isinstance(r, str) and r.strip()]
    if not labelled:
        raise SatSegError(f"{where} has no reference labels (property '{reference_field}' is empty on every "
                          "point): label the points first (validation-points mode in the app)")
    return labelled


def estimate_from_features(array: np.ndarray, transform, crs, table, feats: list, reference_field: str = "reference",
                           where: str = "the point file") -> AreaEstimate:
    """The estimate for a class array (with its AreaTable ``table``) and GeoJSON point features (WGS84)."""
    import rasterio
    from pyproj import Transformer

    from ..classes import NODATA

    labelled = _check_labelled(feats, reference_field, where)
    refs = [((f or {}).get("properties") or {}).get(reference_field) for f in feats]
    warnings = []
    if len(labelled) < len(feats):
        warnings.append(f"{len(feats) - len(labelled)} of {len(feats)} points have no reference label and are "
                        "left out")
    names = [r.class_name for r in table.rows]
    by_id = {r.class_id: k for k, r in enumerate(table.rows)}
    lonlat = np.array([feats[i]["geometry"]["coordinates"][:2] for i in labelled], dtype=np.float64)
    xs, ys = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    rows, cols = rasterio.transform.rowcol(transform, xs, ys)
    rows, cols = np.asarray(rows), np.asarray(cols)
    h, w = array.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    mapped = np.full(len(labelled), NODATA, np.uint8)
    mapped[inside] = array[rows[inside], cols[inside]]
    keep = np.isin(mapped, list(by_id))
    if not keep.any():
        raise SatSegError("no labelled point falls on a classified pixel of the map: the points do not overlap it")
    dropped = int((~keep).sum())
    if dropped:
        warnings.append(f"{dropped} labelled point(s) lie outside the map, on nodata or on unclassified pixels "
                        "and are left out")
    strata = [((feats[i].get("properties") or {}).get("stratum")) for i in labelled]
    differ = sum(1 for s, v, k in zip(strata, mapped, keep) if k and isinstance(s, str) and s != names[by_id[int(v)]])
    if differ:
        warnings.append(f"{differ} point(s) have a 'stratum' that is not the map class at their location: was the "
                        "sample drawn from another map? The map's class is used")
    ref_names = [refs[i].strip() for i, k in zip(labelled, keep) if k]
    all_names = list(names) + sorted({n for n in ref_names if n not in names})
    extra = all_names[len(names):]
    if extra:
        warnings.append(f"reference class(es) {', '.join(extra)} are not classes of the map (omission only)")
    index = {n: k for k, n in enumerate(all_names)}
    K = len(all_names)
    m_idx = np.array([by_id[int(v)] for v in mapped[keep]])
    r_idx = np.array([index[n] for n in ref_names])
    counts = np.bincount(m_idx * K + r_idx, minlength=K * K).reshape(K, K)
    areas = np.array([r.area_m2 for r in table.rows] + [0.0] * len(extra))
    # Classes present in the class list but absent from the map have zero weight and need no points.
    est = stratified_estimate(all_names, areas, counts)
    est.warnings = warnings + est.warnings
    if table.unclassified.pixels:
        est.warnings.append("unclassified pixels are outside every stratum; their area is not estimated")
    return est
