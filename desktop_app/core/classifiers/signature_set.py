"""Spectral signatures: several per class, each mapped back to its class.

A signature is the statistics of one spectral population: pixel count, mean,
covariance (ddof = 1), min and max per band. The statistics-based methods
(minimum distance, spectral angle, Mahalanobis, maximum likelihood,
parallelepiped) are fitted from signatures alone, so a signature catalogue or
a saved model gives the same classifier as the pixels did.

Modes (option ``signatures``; docs/classifiers.md, "Signatures"):

* ``per-class``: one signature per class (the classic rule);
* ``per-polygon``: one per training polygon;
* ``auto``: sub-clusters of each class, a Gaussian mixture whose component
  count (1..4) has the lowest BIC, bounded so every component can hold
  10 pixels per band.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..classes import ClassInfo
from ..errors import SatSegError

MODES = ("per-class", "per-polygon", "auto")
AUTO_MAX = 4               # most sub-clusters per class in ``auto``
PIXELS_PER_BAND = 10       # pixels per band a signature needs for its own covariance (Gaussian guard)
AUTO_SAMPLE = 4000         # pixels per class the mixture is fitted on


@dataclass
class SignatureSet:
    band_names: list[str]
    classes: list[ClassInfo]          # the classes the signatures belong to
    class_of: np.ndarray              # (S,) class id of each signature
    names: list[str]                  # (S,) e.g. "water" or "water/2"
    sources: list[str]                # (S,) where it came from: "class", a polygon label, "cluster 2 of 3"
    counts: np.ndarray                # (S,) pixels
    means: np.ndarray                 # (S, b) float64
    covs: np.ndarray                  # (S, b, b) float64, ddof = 1 (zeros for a single pixel)
    mins: np.ndarray                  # (S, b)
    maxs: np.ndarray                  # (S, b)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def n_bands(self) -> int:
        return len(self.band_names)

    def subset(self, rows) -> "SignatureSet":
        rows = list(rows)
        return SignatureSet(list(self.band_names), list(self.classes), self.class_of[rows],
                            [self.names[r] for r in rows], [self.sources[r] for r in rows], self.counts[rows],
                            self.means[rows], self.covs[rows], self.mins[rows], self.maxs[rows], list(self.notes))

    def pooled(self, rows) -> tuple[int, np.ndarray, np.ndarray]:
        """(count, mean, covariance ddof=1) of the pixels of several signatures together."""
        n = self.counts[rows].astype(np.float64)
        total = n.sum()
        mean = (n[:, None] * self.means[rows]).sum(axis=0) / total
        scatter = sum((n_i - 1) * c + n_i * np.outer(m - mean, m - mean)
                      for n_i, m, c in zip(n, self.means[rows], self.covs[rows]))
        return int(total), mean, scatter / max(total - 1, 1)

    def overall_variance(self) -> np.ndarray:
        """(b,) variance of all training pixels (ddof = 0), from the signatures' moments."""
        total, _, cov = self.pooled(list(range(self.n)))
        return np.diag(cov) * (total - 1) / total

    # -- JSON (catalogues, models) -------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "bands": list(self.band_names),
            "classes": [c.to_dict() for c in self.classes],
            "signatures": [
                {"class": self.class_name(i), "class_id": int(self.class_of[i]), "name": self.names[i],
                 "source": self.sources[i], "pixels": int(self.counts[i]), "mean": self.means[i].tolist(),
                 "cov": self.covs[i].tolist(), "min": self.mins[i].tolist(), "max": self.maxs[i].tolist()}
                for i in range(self.n)],
        }

    def class_name(self, i: int) -> str:
        return next(c.name for c in self.classes if c.id == int(self.class_of[i]))

    @classmethod
    def from_dict(cls, d: dict, where: str = "the signatures") -> "SignatureSet":
        try:
            bands = [str(b) for b in d["bands"]]
            classes = [ClassInfo(int(c["id"]), str(c["name"]), str(c.get("color") or "#808080")) for c in d["classes"]]
            rows = d["signatures"]
            b = len(bands)
            arr = lambda key, shape: np.array([r[key] for r in rows], np.float64).reshape((len(rows),) + shape)
            out = cls(bands, classes, np.array([int(r["class_id"]) for r in rows], np.int64),
                      [str(r["name"]) for r in rows], [str(r.get("source", "")) for r in rows],
                      np.array([int(r["pixels"]) for r in rows], np.int64), arr("mean", (b,)), arr("cov", (b, b)),
                      arr("min", (b,)), arr("max", (b,)))
        except (KeyError, TypeError, ValueError) as exc:
            raise SatSegError(f"{where} are damaged: {exc}") from None
        known = {c.id for c in classes}
        if not set(out.class_of.tolist()) <= known or not out.n:
            raise SatSegError(f"{where} are damaged: a signature names a class that is not listed, or none is given")
        if not (np.isfinite(out.means).all() and np.isfinite(out.covs).all()):
            raise SatSegError(f"{where} are damaged: non-finite statistics")
        return out


def _stats(x: np.ndarray):
    x = x.astype(np.float64)
    cov = np.atleast_2d(np.cov(x, rowvar=False)) if len(x) > 1 else np.zeros((x.shape[1],) * 2)
    return len(x), x.mean(axis=0), cov, x.min(axis=0), x.max(axis=0)


def build_signatures(X: np.ndarray, y: np.ndarray, classes: list[ClassInfo], band_names: list[str],
                     mode: str = "per-class", groups=None, group_labels=(), seed: int = 0) -> SignatureSet:
    """Signatures of training pixels X (n, b) with class ids y, in ``mode``."""
    if mode not in MODES:
        raise SatSegError(f"unknown signatures mode '{mode}'; choose one of {', '.join(MODES)}")
    if mode == "per-polygon" and groups is None:
        raise SatSegError("per-polygon signatures need to know each pixel's polygon (read the samples with "
                          "collect_training)")
    rows, notes = [], []
    for c in classes:
        sel = y == c.id
        if not sel.any():
            continue
        parts = [(c.name, "class", sel)]
        if mode == "per-polygon":
            polys = np.unique(groups[sel])
            parts = [(f"{c.name}/{j + 1}", _label(group_labels, g), sel & (groups == g)) for j, g in enumerate(polys)]
        elif mode == "auto":
            parts = _auto_parts(X, sel, c.name, len(band_names), seed, notes)
        for name, source, m in parts:
            rows.append((c.id, name, source) + _stats(X[m]))
    cid, names, sources, counts, means, covs, mins, maxs = zip(*rows)
    return SignatureSet(list(band_names), list(classes), np.array(cid, np.int64), list(names), list(sources),
                        np.array(counts, np.int64), np.array(means), np.array(covs), np.array(mins), np.array(maxs),
                        notes)


def _label(labels, g) -> str:
    return labels[g] if 0 <= g < len(labels) else f"polygon {g + 1}"


def _auto_parts(X, sel, class_name: str, b: int, seed: int, notes: list[str]):
    """Sub-clusters of one class: a full-covariance Gaussian mixture, component count by BIC."""
    idx = np.flatnonzero(sel)
    kmax = int(min(AUTO_MAX, len(idx) // (PIXELS_PER_BAND * b)))
    if kmax < 2:
        return [(class_name, "class", sel)]
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(seed)
    fit_idx = idx if len(idx) <= AUTO_SAMPLE else np.sort(rng.choice(idx, AUTO_SAMPLE, replace=False))
    Xf = X[fit_idx].astype(np.float64)
    best, best_bic = None, np.inf
    for k in range(1, kmax + 1):
        # k-means++ seeding: ten times faster than sklearn's default full k-means initialisation.
        gm = GaussianMixture(k, covariance_type="full", random_state=seed, reg_covar=1e-8,
                             init_params="k-means++").fit(Xf)
        bic = gm.bic(Xf)
        if bic < best_bic:
            best, best_bic = gm, bic
    k = best.n_components
    if k == 1:
        return [(class_name, "class", sel)]
    labels = best.predict(X[idx].astype(np.float64))
    parts = []
    for j in range(k):
        m = np.zeros_like(sel)
        m[idx[labels == j]] = True
        if m.any():
            parts.append((f"{class_name}/{len(parts) + 1}", f"cluster {j + 1} of {k} (BIC)", m))
    notes.append(f"class '{class_name}': {len(parts)} sub-clusters (lowest BIC of 1..{kmax})")
    return parts


def guard_gaussian(sigs: SignatureSet, warnings: list[str]) -> tuple[SignatureSet, np.ndarray]:
    """Make every signature safe for a Gaussian model; returns (signatures, use_class_cov (S,) bool).

    A class's single signature is left to the usual shrinkage. With several per
    class, a signature with at most ``bands`` pixels cannot have a covariance:
    it is merged into the nearest other signature of its class. One with fewer
    than 10 pixels per band (or an ill-conditioned covariance) keeps its mean
    but takes its class's covariance (the pooled estimate over all the class's
    pixels), so a tiny polygon's over-confident covariance never takes over the
    map. Each case is a warning naming the polygon.
    """
    from .gaussian import MAX_CONDITION

    b = sigs.n_bands
    keep = list(range(sigs.n))
    counts, means, covs = sigs.counts.copy(), sigs.means.copy(), sigs.covs.copy()
    mins, maxs = sigs.mins.copy(), sigs.maxs.copy()
    for cid in np.unique(sigs.class_of):
        rows = [r for r in keep if sigs.class_of[r] == cid]
        for r in sorted(rows, key=lambda r: counts[r]):
            rows_now = [q for q in keep if sigs.class_of[q] == cid]
            if len(rows_now) < 2 or counts[r] > b:
                continue
            others = [q for q in rows_now if q != r]
            q = min(others, key=lambda q: float(np.sum((means[q] - means[r]) ** 2)))
            tmp = SignatureSet(sigs.band_names, sigs.classes, sigs.class_of, sigs.names, sigs.sources, counts,
                               means, covs, mins, maxs)
            counts[q], means[q], covs[q] = tmp.pooled([q, r])
            mins[q], maxs[q] = np.minimum(mins[q], mins[r]), np.maximum(maxs[q], maxs[r])
            keep.remove(r)
            warnings.append(f"signature '{sigs.names[r]}' ({sigs.sources[r]}, {int(sigs.counts[r])} px) has no more "
                            f"pixels than bands ({b}): merged into '{sigs.names[q]}'")
    out = SignatureSet(sigs.band_names, sigs.classes, sigs.class_of, sigs.names, sigs.sources, counts, means, covs,
                       mins, maxs, list(sigs.notes)).subset(keep)
    use_class = np.zeros(out.n, bool)
    pooled_why: dict[int, list[str]] = {}
    for i in range(out.n):
        same = np.flatnonzero(out.class_of == out.class_of[i])
        if len(same) < 2:
            continue
        w = np.linalg.eigvalsh(out.covs[i])
        ill = not (w[0] > 0 and w[-1] / w[0] < MAX_CONDITION)
        if out.counts[i] < PIXELS_PER_BAND * b or ill:
            use_class[i] = True
            pooled_why.setdefault(int(out.class_of[i]), []).append(
                f"'{out.names[i]}' ({out.sources[i]}, {int(out.counts[i])} px{', ill-conditioned' if ill else ''})")
    for cid, items in pooled_why.items():
        # One warning per class, naming every polygon/cluster concerned.
        warnings.append(f"class '{out.class_name(int(np.flatnonzero(out.class_of == cid)[0]))}': {len(items)} "
                        f"signature(s) with fewer than {PIXELS_PER_BAND * b} pixels ({PIXELS_PER_BAND} per band) or an "
                        f"ill-conditioned covariance use the covariance of their whole class (pooled estimate): "
                        + ", ".join(items))
    if use_class.any():
        covs = out.covs.copy()
        for cid in np.unique(out.class_of[use_class]):
            same = np.flatnonzero(out.class_of == cid)
            class_cov = out.pooled(same)[2]
            covs[same[use_class[same]]] = class_cov
        out.covs = covs
    return out, use_class
