"""Fine-tune SAM-2 on a class mask: frozen encoder, cached features, class tokens + decoder + band head.

The target is the refined mask (or the classifier's). Pixels where the
refined and the classifier's masks disagree, unclassified pixels and nodata
are ignored. Every step takes one window under one of the 8 flips/rotations
and a random crop for the full-resolution part. Two variants are trained —
``full`` (tokens + decoder + head) and ``tokens`` (tokens alone) — and the one
scoring better on the validation polygons (else on the target) is kept.
With validation polygons training stops early when their score stops
improving (docs/sam.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from ..classes import NODATA, UNCLASSIFIED, ClassInfo
from ..errors import SatSegError
from ..jobs import Job, ensure_job

CROP = 512               # full-resolution crop per step (the decoder always sees the whole window)
LR_TOKENS = 1e-2
LR_DECODER = 1e-4
LR_HEAD = 3e-3
PATIENCE = 3             # evaluations without improvement before an early stop
MEMO_BYTES = 1 * 2 ** 30   # windows kept in memory between steps


@dataclass
class TrainData:
    """Windows to train on and the scene-wide settings a saved model needs again."""
    source: object
    tiles: list
    target: np.ndarray            # (rows, cols) int16 class index 0..K-1, -1 = ignore
    classes: list[ClassInfo]
    base: object
    mapping: object
    cache: object
    image_id: str
    head_bands: list[str]
    band_stats: np.ndarray        # (B, 2) mean, std
    truth: Optional[np.ndarray] = None            # validation polygons rasterised (class ids, 0 = none)
    truth_classes: Optional[list] = None
    _memo: dict = field(default_factory=dict)

    def window(self, i: int):
        """(features, standardised bands tensor, target tensor) of tile ``i``."""
        import torch

        if i in self._memo:
            return self._memo[i]
        tile = self.tiles[i]
        raster = self.source.read(tile.window)
        key = self.cache.key(self.image_id, tile.key(), self.mapping.key(), self.base.key)
        feats = self.cache.features(self.base, key, lambda: _rgb(self.mapping, raster))
        bands = band_tensor(raster, self.head_bands, self.band_stats, self.base.device)
        target = torch.from_numpy(self.target[tile.row:tile.row + tile.height,
                                              tile.col:tile.col + tile.width].astype(np.int64)).to(self.base.device)
        item = (feats, bands, target, raster.nodata_mask)
        if (len(self._memo) + 1) * (bands.numel() * 4 + 20 * 2 ** 20) < MEMO_BYTES:
            self._memo[i] = item
        return item


def _rgb(mapping, raster):
    from ..raster import resolve_bands

    idx = resolve_bands(raster.band_names, mapping.bands)
    return mapping.to_rgb(raster.data[idx], raster.nodata_mask)


def band_tensor(raster, bands: Sequence[str], stats: np.ndarray, device):
    import torch

    from ..raster import resolve_bands

    data = raster.data[resolve_bands(raster.band_names, bands)]
    z = (data - stats[:, 0, None, None]) / stats[:, 1, None, None]
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    z[:, raster.nodata_mask] = 0.0
    return torch.from_numpy(z).to(device)


def predict_window(net, feats, bands, nodata: np.ndarray, class_ids: Sequence[int]) -> np.ndarray:
    """uint8 class ids of one window (argmax of the class logits); nodata 255."""
    import torch

    with torch.no_grad():
        logits = net(feats, bands)
    lut = np.asarray(class_ids, np.uint8)
    out = lut[logits.argmax(0).cpu().numpy()]
    out[nodata] = NODATA
    return out


def _evaluate(net, data: TrainData) -> dict:
    """OA, kappa and per-class IoU on the validation polygons, else on the training target."""
    from ..accuracy import accuracy_from_arrays

    ids = [c.id for c in data.classes]
    preds, refs = [], []
    use_truth = data.truth is not None
    net.eval()
    for i, tile in enumerate(data.tiles):
        r = slice(tile.row, tile.row + tile.height)
        c = slice(tile.col, tile.col + tile.width)
        if use_truth:
            ref = data.truth[r, c]
        else:
            t = data.target[r, c]
            ref = np.where(t >= 0, np.asarray(ids + [0], np.uint8)[np.where(t >= 0, t, len(ids))], 0)
        core = np.zeros(ref.shape, bool)
        core[tile.core_in_tile()] = True
        has = (ref > 0) & core
        if not has.any():
            continue
        feats, bands, _, nodata = data.window(i)
        pred = predict_window(net, feats, bands, nodata, ids)
        preds.append(pred[has])
        refs.append(ref[has])
    net.train()
    if not preds:
        return {"overall_accuracy": None, "kappa": None, "iou": {}, "basis": "none"}
    report = accuracy_from_arrays(np.concatenate(preds), np.concatenate(refs), data.classes,
                                  data.truth_classes if use_truth else None)
    return {"overall_accuracy": round(report.overall_accuracy, 6), "kappa": round(report.kappa, 6),
            "iou": {p["name"]: p["iou"] for p in report.per_class()},
            "basis": "validation polygons" if use_truth else "training target"}


def train_variant(data: TrainData, variant: str, steps: int, seed: int = 0, job: Optional[Job] = None,
                  on_loss: Optional[Callable[[str, int, float], None]] = None, eval_every: Optional[int] = None):
    """(net, losses, score, steps run) for one variant; the state with the best validation score is kept."""
    import torch
    import torch.nn.functional as F

    from .net import ClassNet, dihedral

    job = ensure_job(job)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = ClassNet(data.base.model, len(data.classes), len(data.head_bands), variant).to(data.base.device)
    groups = [{"params": [net.class_tokens], "lr": LR_TOKENS}]
    if variant == "full":
        groups += [{"params": net.decoder.parameters(), "lr": LR_DECODER},
                   {"params": net.head.parameters(), "lr": LR_HEAD}]
    opt = torch.optim.AdamW(groups, weight_decay=1e-4)
    usable = [i for i, t in enumerate(data.tiles)
              if (data.target[t.row:t.row + t.height, t.col:t.col + t.width] >= 0).any()]
    if not usable:
        raise SatSegError("the class raster has no classified pixel to learn from")
    eval_every = eval_every or max(5, steps // 10)
    early = data.truth is not None
    best = (-1.0, None, None)
    stale = 0
    losses: list[float] = []
    net.train()
    step = 0
    for step in range(1, steps + 1):
        job.step((step - 1) / steps, f"{variant}: step {step}/{steps}" + (f", loss {losses[-1]:.3f}" if losses else ""))
        feats, bands, target, _ = data.window(usable[rng.integers(len(usable))])
        k = int(rng.integers(8))
        feats = {"image_embed": dihedral(feats["image_embed"], k),
                 "high_res_feats": [dihedral(f, k) for f in feats["high_res_feats"]]}
        bands, target = dihedral(bands, k), dihedral(target, k)
        h, w = target.shape
        r0 = int(rng.integers(max(1, h - CROP + 1)))
        c0 = int(rng.integers(max(1, w - CROP + 1)))
        crop = (r0, min(h, r0 + CROP), c0, min(w, c0 + CROP))
        tgt = target[crop[0]:crop[1], crop[2]:crop[3]]
        if not (tgt >= 0).any():
            continue
        logits = net(feats, bands, crop)
        loss = F.cross_entropy(logits[None], tgt[None], ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if on_loss is not None:
            on_loss(variant, step, losses[-1])
        if early and (step % eval_every == 0 or step == steps):
            score = _evaluate(net, data)
            oa = score["overall_accuracy"] or 0.0
            if oa > best[0]:
                best, stale = (oa, {k: v.clone() for k, v in net.state_dict().items()}, score), 0
            else:
                stale += 1
                if stale >= PATIENCE:
                    break
    job.step(1.0, f"{variant}: scoring")
    if early and best[1] is not None:
        net.load_state_dict(best[1])
        score = best[2]
    else:
        score = _evaluate(net, data)
    net.eval()
    return net, losses, score, step


def training_target(class_array: np.ndarray, classes: Sequence[ClassInfo],
                    classifier: Optional[np.ndarray] = None) -> np.ndarray:
    """int16 class index (0..K-1) per pixel; -1 where unclassified, nodata or (with ``classifier``) they disagree."""
    lut = np.full(256, -1, np.int16)
    for k, c in enumerate(classes):
        lut[c.id] = k
    target = lut[np.asarray(class_array)]
    if classifier is not None:
        target[np.asarray(classifier) != np.asarray(class_array)] = -1
    return target


def _refined_source(tags: dict, shape) -> Optional[np.ndarray]:
    """The classifier raster a refined raster was made from (its tags say which), if still there and on the grid."""
    import json

    from ..classes import read_class_raster
    from .scene import SAM_TAG

    try:
        info = json.loads(tags.get(SAM_TAG, "{}"))
        if info.get("kind") != "refine":
            return None
        array = read_class_raster(info["source_classes"])[0]
    except (ValueError, KeyError, SatSegError, TypeError):
        return None
    return array if array.shape == shape else None


def finetune_image(source, image_id: str, class_array: np.ndarray, classes: Sequence[ClassInfo], out_dir,
                   classifier: Optional[np.ndarray] = None, samples=None, model: Optional[str] = None,
                   random_init: bool = False, steps: int = 200, recipe: str = "true_colour", window: int = 1024,
                   overlap: int = 128, head_bands: Optional[Sequence[str]] = None, variants=("full", "tokens"),
                   device: Optional[str] = None, cache_dir="default", seed: int = 0, job: Optional[Job] = None,
                   on_loss=None, training_image: str = "") -> dict:
    """Fine-tune on ``class_array`` of ``source`` (``classifier``: the raster it was refined from) and save."""
    from ..project import now_iso
    from ..raster import resolve_bands
    from ..samples import rasterize_samples
    from .base import open_base
    from .features import FeatureCache
    from .recipe import scene_mapping
    from .saved import check_model_dir, save_model
    from .scene import fit_window
    from .windows import tile_scene

    job = ensure_job(job)
    start = time.perf_counter()
    if steps < 1:
        raise SatSegError("--steps must be at least 1")
    check_model_dir(out_dir)
    warnings: list[str] = []
    target = training_target(class_array, classes, classifier)
    truth = truth_classes = None
    if samples is not None:
        role = "validation" if samples.with_role("validation") else None
        truth = rasterize_samples(samples, source.shape, source.transform, source.crs, role=role)
        truth_classes = samples.classes
        if not truth.any():
            raise SatSegError("no validation polygon covers a pixel of the image")
    mapping = scene_mapping(source, recipe)
    bands = [source.band_names[i] for i in resolve_bands(source.band_names, head_bands or source.band_names)]
    preview = source.preview(1024, bands=bands)
    vals = preview.data[:, preview.valid_mask]
    stats = np.stack([vals.mean(axis=1), np.maximum(vals.std(axis=1), 1e-6)], axis=1)
    size = fit_window(window, warnings)
    tiles = tile_scene(source.height, source.width, size, min(overlap, size // 2 - 1))
    job.step(0.02, "loading SAM-2")
    base = open_base(model, random_init, device)
    cache = FeatureCache(cache_dir)
    data = TrainData(source, tiles, target, list(classes), base, mapping, cache, image_id, bands, stats, truth,
                     truth_classes)
    results = {}
    n = len(variants)
    for v_i, variant in enumerate(variants):
        sub = job.sub(0.05 + 0.9 * v_i / n, 0.05 + 0.9 * (v_i + 1) / n)
        results[variant] = train_variant(data, variant, steps, seed, sub, on_loss)
    cache.prune()
    best = max(results, key=lambda v: (results[v][2]["overall_accuracy"] or 0.0, v == "full"))
    net = results[best][0]
    meta = {
        "created_at": now_iso(), "variant": best, "base_model": base.identity(),
        "config": f"configs/{base.version}/{base.version}_hiera_{base.size}", "mapping": mapping.to_dict(),
        "head_bands": bands, "band_stats": stats.round(6).tolist(), "classes": [c.to_dict() for c in classes],
        "window": size, "overlap": overlap, "target": "refined (ignoring where it disagrees with the classifier)"
        if classifier is not None else "classifier", "training_image": training_image,
        "scores": {v: dict(r[2], steps=r[3], first_loss=r[1][0] if r[1] else None,
                           last_loss=r[1][-1] if r[1] else None) for v, r in results.items()},
    }
    save_model(out_dir, net.trained_state(), meta)
    job.step(1.0, "saved")
    return {"path": str(out_dir), "device": base.device, "model": base.identity(), "random_init": base.random_init,
            "seconds": round(time.perf_counter() - start, 3), "windows": len(tiles), "window": size,
            "cache_hits": cache.hits, "cache_misses": cache.misses, "kept": best, "scores": meta["scores"],
            "losses": {v: [round(x, 5) for x in r[1]] for v, r in results.items()}, "warnings": warnings}


def finetune_file(image, classes_path, out_dir, model: Optional[str] = None, random_init: bool = False,
                  steps: int = 200, validation=None, recipe: str = "true_colour", window: int = 1024,
                  overlap: int = 128, head_bands: Optional[Sequence[str]] = None, variants=("full", "tokens"),
                  device: Optional[str] = None, cache_dir="default", seed: int = 0, job: Optional[Job] = None,
                  on_loss=None) -> dict:
    """Fine-tune on ``classes_path`` (refined or classifier raster) of ``image`` and save to ``out_dir``."""
    import rasterio

    from ..classes import read_class_raster
    from ..classify import bounded_gdal_cache
    from ..samples import read_samples
    from ..sources import open_image
    from .features import image_identity
    from .saved import check_model_dir
    from .scene import check_same_grid

    if steps < 1:
        raise SatSegError("--steps must be at least 1")
    check_model_dir(out_dir)
    samples = read_samples(validation) if validation else None
    with bounded_gdal_cache(), open_image(image) as source:
        class_array, transform, crs, classes = read_class_raster(classes_path)
        check_same_grid(source, class_array, transform, crs, f"the class raster {classes_path}")
        with rasterio.open(classes_path) as ds:
            classifier = _refined_source(ds.tags(), class_array.shape)
        return finetune_image(source, image_identity(image), class_array, classes, out_dir, classifier, samples,
                              model, random_init, steps, recipe, window, overlap, head_bands, variants, device,
                              cache_dir, seed, job, on_loss, str(image))
