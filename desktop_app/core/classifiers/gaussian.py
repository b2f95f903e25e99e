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

from .base import group_reduce

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


def gaussian_stats(X: np.ndarray, index: np.ndarray, class_names: list[str], warnings: list[str]) -> GaussianStats:
    """Per-class mean and covariance of X (n, b); a warning per regularized class."""
    K = int(index.max()) + 1
    b = X.shape[1]
    X64 = X.astype(np.float64)
    # Variance floor for degenerate classes: a tiny share of the overall spread of the data.
    total_var = float(np.mean(np.var(X64, axis=0)))
    floor = max(total_var * 1e-6, 1e-12)
    means = np.zeros((K, b))
    covs = np.zeros((K, b, b))
    counts = np.zeros(K, np.int64)
    for k in range(K):
        xk = X64[index == k]
        counts[k] = len(xk)
        means[k] = xk.mean(axis=0)
        cov = np.cov(xk, rowvar=False) if len(xk) > 1 else np.zeros((b, b))
        cov = np.atleast_2d(cov)
        cov, alpha = regularize(cov, floor)
        if alpha > 0:
            why = "its pixels are (nearly) identical in some bands or too few for the number of bands" \
                if len(xk) <= b + 1 or alpha >= 0.5 else "its bands are almost perfectly correlated"
            warnings.append(
                f"class '{class_names[k]}': covariance is singular or near-singular ({why}); "
                f"regularized by shrinking {alpha:g} towards a diagonal covariance"
            )
        covs[k] = cov
    L = np.linalg.cholesky(covs)
    Linv = np.linalg.inv(L)
    logdets = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    A = Linv.reshape(K * b, b).astype(np.float32)
    c = np.einsum("kij,kj->ki", Linv, means).reshape(K * b, 1).astype(np.float32)
    return GaussianStats(means, covs, counts, logdets, A, c)


def squared_mahalanobis(stats: GaussianStats, Xt: np.ndarray) -> np.ndarray:
    """(K, n) float32 squared Mahalanobis distances for a (b, n) float32 block."""
    Y = stats.A @ Xt
    Y -= stats.c
    np.square(Y, out=Y)
    return group_reduce(Y, len(stats.means))
