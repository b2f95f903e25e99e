"""Class means and covariances, regularized when singular, and the whitening
that turns Mahalanobis distances into one matrix product.

D_k² = (x−m_k)ᵀ Σ_k⁻¹ (x−m_k) = ‖L_k⁻¹ (x − m_k)‖² with Σ_k = L_k L_kᵀ (Cholesky).
Stacking every class's L_k⁻¹ gives one (K·b, b) matrix A and offsets c, so
for a (b, n) block Y = A·X − c is a single BLAS call, and the K squared norms
are b whole-row additions. That is what makes the
Gaussian methods several times faster than a per-class ``einsum``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rows import group_reduce

# Largest condition number accepted before shrinking a covariance towards a scaled identity.
MAX_CONDITION = 1e6


@dataclass
class GaussianStats:
    means: np.ndarray        # (K, b) float64
    covs: np.ndarray         # (K, b, b) float64, regularized
    counts: np.ndarray       # (K,)
    logdets: np.ndarray      # (K,) ln|Σ_k|
    A: np.ndarray            # (K*b, b) float32 stacked L_k⁻¹
    c: np.ndarray            # (K*b, 1) float32 stacked L_k⁻¹ m_k


def regularize(cov: np.ndarray, floor: float) -> tuple[np.ndarray, float]:
    """Shrink ``cov`` towards (trace/b)·I until it is well conditioned.

    Returns (covariance, shrinkage α); α = 0 means it was fine. ``floor`` is a
    variance used when the class has no spread at all (identical pixels).
    """
    b = cov.shape[0]
    scale = float(np.trace(cov)) / b
    if not np.isfinite(scale) or scale <= floor:
        scale = floor
    target = np.eye(b) * scale
    alpha = 0.0
    for candidate in (0.0, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.5, 1.0):
        c = (1 - candidate) * cov + candidate * target
        w = np.linalg.eigvalsh(c)
        if w[0] > 0 and w[-1] / w[0] < MAX_CONDITION:
            return c, candidate
        alpha = candidate
    return target, alpha


def gaussian_stats(sigs, warnings: list[str]):
    """Mean and covariance per signature, made safe: returns (GaussianStats, signatures used).

    With several signatures per class the guard (``signature_set.guard_gaussian``)
    first merges or pools the ones too small for a covariance of their own; then
    every remaining singular covariance is shrunk, with a warning.
    """
    from .signature_set import guard_gaussian

    several = len(set(sigs.class_of.tolist())) != sigs.n
    if several:
        sigs, _ = guard_gaussian(sigs, warnings)
    K, b = sigs.n, sigs.n_bands
    # Variance floor for degenerate classes: a tiny share of the overall spread of the data.
    floor = max(float(np.mean(sigs.overall_variance())) * 1e-6, 1e-12)
    covs = np.zeros((K, b, b))
    for k in range(K):
        cov, alpha = regularize(sigs.covs[k], floor)
        if alpha > 0:
            n = int(sigs.counts[k])
            why = "its pixels are (nearly) identical in some bands or too few for the number of bands" \
                if n <= b + 1 or alpha >= 0.5 else "its bands are almost perfectly correlated"
            what = f"signature '{sigs.names[k]}'" if several else f"class '{sigs.names[k]}'"
            warnings.append(
                f"{what}: covariance is singular or near-singular ({why}); "
                f"regularized by shrinking {alpha:g} towards a diagonal covariance"
            )
        covs[k] = cov
    means = sigs.means
    L = np.linalg.cholesky(covs)
    Linv = np.linalg.inv(L)
    logdets = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    A = Linv.reshape(K * b, b).astype(np.float32)
    c = np.einsum("kij,kj->ki", Linv, means).reshape(K * b, 1).astype(np.float32)
    return GaussianStats(means, covs, sigs.counts.copy(), logdets, A, c), sigs


def squared_mahalanobis(stats: GaussianStats, Xt: np.ndarray) -> np.ndarray:
    """(K, n) float32 squared Mahalanobis distances for a (b, n) float32 block."""
    Y = stats.A @ Xt
    Y -= stats.c
    np.square(Y, out=Y)
    return group_reduce(Y, len(stats.means))
