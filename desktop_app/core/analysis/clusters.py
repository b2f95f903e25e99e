"""Unsupervised start: k-means clusters of an image.

scikit-learn's MiniBatchKMeans is fitted on a random sample of valid pixels
(from the whole image up to 4 MP; from 64 random 256 x 256 tiles of a bigger
one, so a full tile is not decoded twice), then every pixel is assigned to its
nearest centre block by block (bounded memory) into a SatSeg class raster
with classes "cluster 1".."cluster K". A fixed seed gives the same clusters.
See docs/analysis.md, "Clusters".
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..classes import NODATA, ClassInfo, class_raster_writer, normalize_color
from ..errors import Advice, SatSegError
from ..jobs import Job, ensure_job
from ..raster import BandRef, Raster

SAMPLE_PIXELS = 100_000
# Up to this size the fit samples from the whole image; above it, from FIT_TILES random 256 x 256
# tiles spread over the image, so the pixels are not all decoded twice (once to fit, once to assign).
WHOLE_READ_PIXELS = 4_000_000
FIT_TILES = 64
TILE = 256


def _tile_sample(source, bands, seed: int):
    """Valid pixels (n, bands) of FIT_TILES random tiles of a big image, and the band names."""
    from rasterio.windows import Window

    rows, cols = -(-source.height // TILE), -(-source.width // TILE)
    rng = np.random.Generator(np.random.PCG64(seed + 1))
    picks = rng.choice(rows * cols, size=min(FIT_TILES, rows * cols), replace=False)
    parts, names = [], None
    for p in np.sort(picks):
        r, c = divmod(int(p), cols)
        w = Window(c * TILE, r * TILE, min(TILE, source.width - c * TILE), min(TILE, source.height - r * TILE))
        block = source.read(w, bands=bands)
        names = list(block.band_names)
        parts.append(block.pixels())
    return np.concatenate(parts), names


def fit_clusters(source, k: int, bands: Optional[Sequence[BandRef]] = None, sample: int = SAMPLE_PIXELS,
                 seed: int = 0):
    """A fitted MiniBatchKMeans (n_init=3, random_state=seed) on a pixel sample of ``source``."""
    from sklearn.cluster import MiniBatchKMeans

    if k < 2 or k > 254:
        raise SatSegError(f"--k must be between 2 and 254, not {k}")
    if isinstance(source, Raster):   # an image already in memory (the app's small images)
        sel = source.select(bands)
        step = max(1, int(np.ceil(max(sel.height, sel.width) / 2048)))
        preview = Raster(sel.data[:, ::step, ::step], sel.transform, sel.crs, sel.band_names,
                         sel.nodata_mask[::step, ::step])
    elif source.width * source.height <= WHOLE_READ_PIXELS:
        preview = source.read(bands=bands)
    else:
        preview = None
    if preview is not None:
        X = preview.pixels()
        names = list(preview.band_names)
    else:
        X, names = _tile_sample(source, bands, seed)
    if len(X) == 0:
        raise SatSegError("the image has no valid pixels to cluster")
    rng = np.random.Generator(np.random.PCG64(seed))
    if len(X) > sample:
        X = X[np.sort(rng.choice(len(X), size=sample, replace=False))]
    distinct = len(np.unique(X, axis=0))
    if k > distinct:
        why = f"the {distinct} distinct pixel values in the image (sample of {len(X)} pixels)"
        raise SatSegError(Advice(f"K = {k} clusters is more than {why}: set K to at most {distinct} (k-means clusters, "
                                 "Tools panel)", f"--k {k} is more than {why}: choose at most {distinct} clusters"))
    model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096,
                            max_iter=200).fit(X.astype(np.float64))
    # Order clusters by brightness (mean reflectance) so ids are stable and meaningful across runs.
    order = np.argsort(model.cluster_centers_.mean(axis=1), kind="stable")
    model.cluster_centers_ = model.cluster_centers_[order]
    return model, names


def predict_clusters(centres: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Nearest-centre ids 1..K for (bands, n) pixels (squared Euclidean distance, a BLAS product)."""
    c = centres.astype(np.float32)
    d = (c * c).sum(axis=1)[:, None] - 2.0 * (c @ data)
    return (np.argmin(d, axis=0) + 1).astype(np.uint8)


def cluster_image(source, k: int, out_path, bands: Optional[Sequence[BandRef]] = None, sample: int = SAMPLE_PIXELS,
                  seed: int = 0, block: int = 1024, job: Optional[Job] = None) -> dict:
    """Cluster ``source`` into a class raster at ``out_path`` (atomic); returns a summary."""
    from ..atomic import check_writable

    job = ensure_job(job)
    check_writable(out_path)
    job.step(0.0, "fitting k-means on a pixel sample")
    model, names = fit_clusters(source, k, bands, sample, seed)
    centres = model.cluster_centers_
    classes = [ClassInfo(i + 1, f"cluster {i + 1}", normalize_color(None, i)) for i in range(k)]
    counts = np.zeros(256, np.int64)
    windows = source.windows(block)
    with class_raster_writer(out_path, width=source.width, height=source.height, transform=source.transform,
                             crs=source.crs, classes=classes,
                             extra_tags={"SATSEG_METHOD": "kmeans", "SATSEG_BANDS": ",".join(names),
                                         "SATSEG_KMEANS_SEED": str(seed)}) as w:
        for i, win in enumerate(windows):
            job.step(0.1 + 0.9 * i / len(windows), f"assigning block {i + 1}/{len(windows)}")
            r = source.read(win, bands=names)
            labels = np.full(r.shape, NODATA, np.uint8)
            valid = r.valid_mask
            if valid.any():
                labels[valid] = predict_clusters(centres, r.data[:, valid])
            w.write(labels, window=win)
            counts += np.bincount(labels.ravel(), minlength=256)
    job.step(1.0, "clusters written")
    return {"path": str(out_path), "k": k, "seed": seed, "bands": names,
            "centres": np.round(centres, 6).tolist(),
            "clusters": [{"id": c.id, "name": c.name, "color": c.color, "pixels": int(counts[c.id])} for c in classes],
            "nodata": int(counts[NODATA])}


def cluster_raster(raster: Raster, k: int, bands: Optional[Sequence[BandRef]] = None, sample: int = SAMPLE_PIXELS,
                   seed: int = 0, block: int = 1024, job: Optional[Job] = None):
    """(uint8 labels, classes, centres, band names) for an in-memory Raster, block by block."""
    job = ensure_job(job)
    job.step(0.0, "fitting k-means on a pixel sample")
    model, names = fit_clusters(raster, k, bands, sample, seed)
    sel = raster.select(names)
    out = np.full(sel.shape, NODATA, np.uint8)
    for r0 in range(0, sel.height, block):
        job.step(0.2 + 0.8 * r0 / sel.height, "assigning pixels")
        rows = slice(r0, r0 + block)
        valid = sel.valid_mask[rows]
        part = out[rows]
        part[valid] = predict_clusters(model.cluster_centers_, sel.data[:, rows][:, valid])
    classes = [ClassInfo(i + 1, f"cluster {i + 1}", normalize_color(None, i)) for i in range(k)]
    job.step(1.0, "clustered")
    return out, classes, model.cluster_centers_, names


def relabel(array: np.ndarray, classes: Sequence[ClassInfo], names: dict[int, str],
            colors: Optional[dict[str, str]] = None) -> tuple[np.ndarray, list[ClassInfo]]:
    """Rename clusters and merge those given the same name into one class.

    ``names`` maps a cluster id to a class name (missing ids keep their name;
    an empty name makes the cluster unclassified). New ids are 1..M in order of
    first appearance; the colour is the first merged cluster's unless
    ``colors`` gives one for the name.
    """
    colors = colors or {}
    lut = np.arange(256, dtype=np.uint8)
    out_classes: list[ClassInfo] = []
    by_name: dict[str, int] = {}
    for c in classes:
        name = names.get(c.id, c.name).strip()
        if not name:
            lut[c.id] = 0
            continue
        if name not in by_name:
            by_name[name] = len(out_classes) + 1
            out_classes.append(ClassInfo(by_name[name], name, normalize_color(colors.get(name, c.color),
                                                                               len(out_classes))))
        lut[c.id] = by_name[name]
    return lut[np.asarray(array, dtype=np.uint8)], out_classes
