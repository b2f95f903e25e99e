"""Synthetic multi-band scenes with known classes, for the benchmarks.

Classes are smooth blobs; each class has its own mean spectrum and a
correlated covariance, so Gaussian methods, boxes and angles all have real
work to do. Deterministic for a given seed.
"""
from __future__ import annotations

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from scipy import ndimage

from desktop_app.core.classes import ClassInfo, normalize_color
from desktop_app.core.samples import TrainingData

CRS_UTM = CRS.from_epsg(32643)


def class_model(n_bands: int, n_classes: int, seed: int = 0, noise: float = 0.01):
    """(means (K, b), cholesky factors (K, b, b)) of plausible reflectance classes.

    ``noise`` scales the within-class spread: 0.01 gives well separated
    classes, 0.04 overlapping ones (deeper random-forest trees).
    """
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.03, 0.45, (n_classes, n_bands))
    chols = []
    for _ in range(n_classes):
        a = rng.normal(0, 1, (n_bands, n_bands)) * noise
        chols.append(np.linalg.cholesky(a @ a.T + np.eye(n_bands) * noise ** 2))
    return means, np.array(chols)


def class_map(rows: int, cols: int, n_classes: int, seed: int = 0, coarse: int = 64) -> np.ndarray:
    """uint8 class ids 1..K as smooth blobs (computed coarse, then upsampled: cheap for big grids)."""
    rng = np.random.default_rng(seed)
    cr, cc = max(2, rows // coarse), max(2, cols // coarse)
    noise = ndimage.gaussian_filter(rng.normal(size=(n_classes, cr, cc)), (0, 2, 2))
    small = (noise.argmax(axis=0) + 1).astype(np.uint8)
    big = np.repeat(np.repeat(small, -(-rows // cr), axis=0), -(-cols // cc), axis=1)
    return big[:rows, :cols]


def pixels_for(labels: np.ndarray, means, chols, seed: int = 0) -> np.ndarray:
    """(b, n) float32 pixels for a flat array of labels 1..K."""
    rng = np.random.default_rng(seed)
    b = means.shape[1]
    out = np.empty((b, labels.size), np.float32)
    for k in range(means.shape[0]):
        idx = np.flatnonzero(labels == k + 1)
        z = rng.standard_normal((b, idx.size), dtype=np.float32)
        out[:, idx] = (chols[k].astype(np.float32) @ z) + means[k][:, None].astype(np.float32)
    return out


def training_data(means, chols, per_class: int = 2000, seed: int = 1) -> TrainingData:
    K, b = means.shape
    y = np.repeat(np.arange(1, K + 1), per_class)
    X = pixels_for(y, means, chols, seed).T.copy()
    classes = [ClassInfo(k + 1, f"class{k + 1}", normalize_color(None, k)) for k in range(K)]
    return TrainingData(X, y, classes, [f"B{i + 1}" for i in range(b)], {k + 1: per_class for k in range(K)})


def transform_for(origin=(500000.0, 3300000.0), pixel: float = 10.0) -> Affine:
    return Affine(pixel, 0, origin[0], 0, -pixel, origin[1])
