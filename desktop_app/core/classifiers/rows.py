"""Whole-row kernels for the (K, n) per-class arrays every method works on.

K (classes or signatures, or bands) is small and n (pixels) large: a loop over K
contiguous rows is far faster than numpy's reductions along axis 0, which walk
each column with a stride.
"""
from __future__ import annotations

import numpy as np


def finite_columns(Xt: np.ndarray) -> np.ndarray:
    """(n,) True where every band of a (bands, n) block is finite (whole-row passes, no strided reduction)."""
    finite = np.isfinite(Xt[0])
    for j in range(1, Xt.shape[0]):
        finite &= np.isfinite(Xt[j])
    return finite


def argmin_rows(a: np.ndarray, return_min: bool = False):
    """Index of the smallest row per column of a (K, n) array.

    K is small (classes), n large: K contiguous-row passes are far faster than
    ``a.argmin(axis=0)``, which walks each column with a stride. Ties go to
    the lower class index, as with ``argmin``.
    """
    K = a.shape[0]
    best = a[0].copy()
    idx = np.zeros(a.shape[1], np.uint8)
    for k in range(1, K):
        better = a[k] < best
        np.copyto(best, a[k], where=better)
        idx[better] = k
    return (idx, best) if return_min else idx


def group_reduce(Y: np.ndarray, K: int, op=np.add) -> np.ndarray:
    """(K, n) reduction of a (K*b, n) or (K, b, n) array over each class's b rows.

    A loop over the b bands of whole (K, n) slices: far faster than
    ``reshape(K, b, n).sum(axis=1)``, which numpy reduces with a stride.
    """
    Y3 = Y.reshape(K, -1, Y.shape[-1])
    acc = Y3[:, 0].copy()
    for j in range(1, Y3.shape[1]):
        op(acc, Y3[:, j], out=acc)
    return acc
