"""Refine a classifier's class raster with SAM-2 prompts, window by window.

For every class component a prompt (``core.sam.prompts``) gives SAM's mask.
A mask is *accepted* only when SAM's own predicted IoU is at least
``iou_min`` and its IoU with the classifier's component (agreement) is at
least ``agreement_min``. Accepted masks claim their pixels (higher predicted
IoU wins where they overlap); every other pixel keeps the classifier's class,
and nodata stays nodata (docs/sam.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..classes import NODATA, ClassInfo
from ..errors import SatSegError
from ..jobs import Job, ensure_job
from .prompts import Prompt, component_prompts
from .windows import Tile, stitch

IOU_MIN = 0.80           # SAM's predicted IoU of its own mask
AGREEMENT_MIN = 0.60     # IoU of SAM's mask with the classifier's component
CLAIM_MARGIN = 0.25      # a mask may claim pixels this share of the box size beyond the component's box
BATCH = 16               # prompts per decoder call


def check_thresholds(iou_min: float, agreement_min: float) -> None:
    """User-given acceptance thresholds: both are IoUs, so 0..1 (0 = this test accepts every mask)."""
    for flag, value in (("--iou-min", iou_min), ("--agreement-min", agreement_min)):
        if not np.isfinite(value) or not 0.0 <= value <= 1.0:
            raise SatSegError(f"{flag} must be between 0 and 1 (got {value:g})")


@dataclass
class RefineStats:
    prompts: int = 0
    accepted: int = 0
    decode_hits: int = 0           # windows whose masks came from the decoded-mask cache
    decode_misses: int = 0
    per_class: dict = field(default_factory=dict)


def _decode(base, feats: dict, prompts: Sequence[Prompt], shape: tuple[int, int]):
    """(low-res logits (n, side, side), predicted IoU (n,)) for prompts on one window."""
    import torch

    model = base.model
    size = model.image_size
    h, w = shape
    scale = torch.tensor([size / w, size / h], device=base.device)
    n_pts = max(len(p.points) for p in prompts)
    coords = torch.zeros((len(prompts), n_pts + 2, 2), device=base.device)
    labels = torch.full((len(prompts), n_pts + 2), -1, dtype=torch.int32, device=base.device)  # -1 = padding
    for i, p in enumerate(prompts):
        coords[i, :2] = torch.from_numpy(p.box.reshape(2, 2)).to(base.device)
        labels[i, :2] = torch.tensor([2, 3])            # SAM's box corner labels
        coords[i, 2:2 + len(p.points)] = torch.from_numpy(p.points).to(base.device)
        labels[i, 2:2 + len(p.points)] = torch.from_numpy(p.labels).to(base.device)
    coords = coords * scale
    masks = torch.from_numpy(np.stack([p.mask_input for p in prompts]))[:, None].to(base.device)
    with torch.no_grad():
        sparse, dense = model.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=masks)
        low, iou, _, _ = model.sam_mask_decoder(
            image_embeddings=feats["image_embed"], image_pe=model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=False,
            repeat_image=True, high_res_features=feats["high_res_feats"],
        )
    return low[:, 0], iou[:, 0]


def _claim_region(p: Prompt, shape: tuple[int, int]) -> tuple[slice, slice]:
    mr = int(np.ceil(CLAIM_MARGIN * (p.rows.stop - p.rows.start))) + 1
    mc = int(np.ceil(CLAIM_MARGIN * (p.cols.stop - p.cols.start))) + 1
    return (slice(max(0, p.rows.start - mr), min(shape[0], p.rows.stop + mr)),
            slice(max(0, p.cols.start - mc), min(shape[1], p.cols.stop + mc)))


def _decode_window(base, feats: dict, prompts: Sequence[Prompt], shape: tuple[int, int]):
    """[(predicted IoU, claim region, SAM's mask in the region)] for every prompt of one window."""
    import torch.nn.functional as F

    if int(base.model.sam_prompt_encoder.mask_input_size[0]) != base.low_res:
        raise SatSegError("the SAM-2 model's mask size differs from its configuration's image size")
    out = []
    for b0 in range(0, len(prompts), BATCH):
        batch = prompts[b0:b0 + BATCH]
        low, iou = _decode(base, feats, batch, shape)
        for p, lo, score in zip(batch, low, iou.tolist()):
            region = _claim_region(p, shape)
            full = F.interpolate(lo[None, None], size=shape, mode="bilinear", align_corners=False)[0, 0]
            out.append((score, region, (full[region] > 0).cpu().numpy()))
    return out


def _accept(prompts: Sequence[Prompt], decoded, labels: np.ndarray, iou_min: float, agreement_min: float) -> list:
    """The decoded masks that pass both thresholds: [(score, class id, region, mask)]."""
    accepted = []
    for p, (score, region, sam) in zip(prompts, decoded):
        if score < iou_min:
            continue
        comp = np.zeros_like(sam)
        comp[p.rows.start - region[0].start:p.rows.stop - region[0].start,
             p.cols.start - region[1].start:p.cols.stop - region[1].start] = p.component
        union = np.logical_or(sam, comp).sum()
        agreement = np.logical_and(sam, comp).sum() / union if union else 0.0
        if agreement >= agreement_min:
            accepted.append((score, p.class_id, region, sam))
    return accepted


def refine_window(base, feats_fn, labels: np.ndarray, class_ids: Sequence[int],
                  logits: Optional[np.ndarray] = None, logit_ids: Optional[Sequence[int]] = None,
                  iou_min: float = IOU_MIN, agreement_min: float = AGREEMENT_MIN, stats: Optional[RefineStats] = None,
                  cache=None, feature_key: Optional[str] = None) -> np.ndarray:
    """Refined labels of one window (same shape and dtype as ``labels``).

    ``feats_fn()`` gives the window's encoder features; it is not called when
    ``cache`` holds this window's decoded masks for the same prompts.
    """
    from .decoded import pack, prompts_key, unpack

    stats = stats if stats is not None else RefineStats()
    prompts = component_prompts(labels, class_ids, logits, logit_ids, low_res=base.low_res)
    stats.prompts += len(prompts)
    key = prompts_key(feature_key, prompts, BATCH, CLAIM_MARGIN) if cache is not None and feature_key else None
    arrays = cache.decoded(key) if key else None
    if arrays is not None and len(arrays["iou"]) == len(prompts):
        stats.decode_hits += 1
        decoded = unpack(arrays)
    else:
        stats.decode_misses += 1
        decoded = _decode_window(base, feats_fn(), prompts, labels.shape) if prompts else []
        if key:
            cache.store_decoded(key, pack(decoded))    # the whole window at once: Cancel leaves no partial entry
    accepted = _accept(prompts, decoded, labels, iou_min, agreement_min)
    stats.accepted += len(accepted)
    out = labels.copy()
    for score, cid, region, sam in sorted(accepted, key=lambda a: a[0]):
        view = out[region]
        view[sam & (labels[region] != NODATA)] = cid
    return out


def refine_scene(source, class_array: np.ndarray, classes: Sequence[ClassInfo], base, mapping, tiles: list[Tile],
                 cache, image_id: str, logits=None, iou_min: float = IOU_MIN,
                 agreement_min: float = AGREEMENT_MIN, job: Optional[Job] = None) -> tuple[np.ndarray, RefineStats]:
    """Refined class array for the whole scene (the classifier's where SAM is not accepted).

    ``logits``: the classifier's per-class logits for the mask_input (``score_logits.ScoreLogits``:
    ``ids`` and ``window(row, col, height, width)``); None = from the class mask.
    """
    job = ensure_job(job)
    out = np.array(class_array, np.uint8, copy=True)
    stats = RefineStats()
    ids = [c.id for c in classes]
    for i, tile in enumerate(tiles):
        job.step(i / len(tiles), f"window {i + 1}/{len(tiles)}")
        labels = class_array[tile.row:tile.row + tile.height, tile.col:tile.col + tile.width]
        if not np.isin(labels, ids).any():
            continue                                   # nothing to refine: no read, no encoding
        key = cache.key(image_id, tile.key(), mapping.key(), base.key)

        def rgb():
            r = source.read(tile.window, bands=mapping.bands)
            return mapping.to_rgb(r.data, r.nodata_mask)

        tile_logits = None if logits is None else logits.window(tile.row, tile.col, tile.height, tile.width)

        def feats():
            f = cache.features(base, key, rgb)
            job.check()
            return f

        refined = refine_window(base, feats, labels, ids, tile_logits, None if logits is None else logits.ids,
                                iou_min, agreement_min, stats, cache, key)
        stitch(out, tile, refined)
    out[np.asarray(class_array) == NODATA] = NODATA
    for c in classes:
        before = np.asarray(class_array) == c.id
        after = out == c.id
        n = int(before.sum())
        stats.per_class[c.id] = {"id": c.id, "name": c.name, "classifier_pixels": n, "refined_pixels": int(after.sum()),
                                 "changed_share": round(float((before != after).sum()) / n, 6) if n else 0.0}
    job.step(1.0, "refined")
    return out, stats


def refine_image(source, image_id: str, class_array: np.ndarray, classes: Sequence[ClassInfo], out,
                 model: Optional[str] = None, random_init: bool = False, recipe: str = "true_colour",
                 window: int = 1024, overlap: int = 128, device: Optional[str] = None, cache_dir="default",
                 iou_min: float = IOU_MIN, agreement_min: float = AGREEMENT_MIN, source_classes: Optional[str] = None,
                 logits=None, job: Optional[Job] = None) -> tuple[np.ndarray, dict]:
    """Refine ``class_array`` (on ``source``'s grid) and write it to ``out``: (refined array, summary).

    ``logits``: the classifier's scores as per-class logits (``score_logits.ScoreLogits``) for the
    mask_input; None (or one without a temperature) = the mask_input comes from the class mask.
    """
    from ..atomic import check_writable
    from ..classes import write_class_raster
    from .base import open_base
    from .features import FeatureCache
    from .recipe import scene_mapping
    from .scene import fit_window, output_tags
    from .windows import tile_scene

    job = ensure_job(job)
    start = time.perf_counter()
    out = Path(out)
    check_writable(out)
    warnings: list[str] = []
    mapping = scene_mapping(source, recipe)
    window = fit_window(window, warnings)
    tiles = tile_scene(source.height, source.width, window, min(overlap, window // 2 - 1))
    job.step(0.02, "preparing SAM-2")   # the model itself is built when a window needs it
    base = open_base(model, random_init, device)
    cache = FeatureCache(cache_dir)
    if logits is not None and logits.temperature is None:
        logits = None
    refined, stats = refine_scene(source, class_array, classes, base, mapping, tiles, cache, image_id, logits,
                                  iou_min=iou_min, agreement_min=agreement_min, job=job.sub(0.05, 0.95))
    cache.prune()
    mask_input = {"from": "class mask"} if logits is None else \
        {"from": "classifier scores", "median_winning_margin": logits.temperature}
    settings = {"window": window, "overlap": overlap, "iou_min": iou_min, "agreement_min": agreement_min,
                "source_classes": source_classes, "mask_input": mask_input}
    write_class_raster(out, refined, source.transform, source.crs, classes,
                       output_tags("refine", base, mapping, settings))
    job.step(1.0, "written")
    return refined, {
        "path": str(out), "device": base.device if base.built else None, "model_built": base.built,
        "model": base.identity(), "random_init": base.random_init,
        "seconds": round(time.perf_counter() - start, 3), "windows": len(tiles), "window": window,
        # windows not encoded in this run: their decoded masks or their features came from the cache
        "cache_hits": stats.decode_hits + cache.hits, "cache_misses": cache.misses,
        "decode_hits": stats.decode_hits, "decode_misses": stats.decode_misses, "prompts": stats.prompts,
        "accepted": stats.accepted, "iou_min": iou_min, "agreement_min": agreement_min, "mask_input": mask_input,
        "classes": list(stats.per_class.values()),
        "changed_share": {c["name"]: c["changed_share"] for c in stats.per_class.values()},
        "mapping": mapping.to_dict(), "warnings": warnings,
    }


def refine_file(image, classes_path, out, model: Optional[str] = None, random_init: bool = False,
                recipe: str = "true_colour", window: int = 1024, overlap: int = 128, device: Optional[str] = None,
                cache_dir="default", iou_min: float = IOU_MIN, agreement_min: float = AGREEMENT_MIN,
                job: Optional[Job] = None) -> dict:
    """Refine the class raster ``classes_path`` of ``image`` into ``out``; a JSON-ready summary."""
    from ..atomic import check_writable
    from ..classes import read_class_raster
    from ..classify import bounded_gdal_cache
    from ..sources import open_image
    from .features import image_identity
    from .scene import check_same_grid

    out = Path(out)
    if out.resolve() in (Path(image).resolve(), Path(classes_path).resolve()):
        raise SatSegError("--out must not be one of the inputs")
    check_writable(out)
    with bounded_gdal_cache(), open_image(image) as source:
        class_array, transform, crs, classes = read_class_raster(classes_path)
        check_same_grid(source, class_array, transform, crs, f"the class raster {classes_path}")
        return refine_image(source, image_identity(image), class_array, classes, out, model, random_init, recipe,
                            window, overlap, device, cache_dir, iou_min, agreement_min,
                            str(Path(classes_path).resolve()), job=job)[1]
