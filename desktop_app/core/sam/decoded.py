"""A window's decoded SAM masks, cached next to its encoder features.

A repeated refine with the same image, classes, recipe, window and model
gives the same prompts, so the mask decoder would give the same masks: the
entry keeps, per prompt, SAM's predicted IoU and its mask thresholded at
logit 0 on the window grid, bit-packed inside the prompt's claim region (the
only pixels acceptance and stitching look at). That is smaller than the
float low-res logits and needs no torch to use. Acceptance (``iou_min``,
``agreement_min``) is decided afterwards from these, so changed thresholds
also skip the model (docs/sam.md).
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

# Bump when what a prompt decodes to changes (decoder call, batching, claim region, thresholding).
DECODE_VERSION = 1


def prompts_key(feature_key: str, prompts, batch: int, claim_margin: float) -> str:
    """SHA-256 of the window's feature key and everything its prompts feed the decoder.

    The whole prompt list counts, in order: prompts are decoded in padded
    batches, so a prompt's mask also depends on its batch neighbours.
    """
    h = hashlib.sha256(json.dumps([feature_key, DECODE_VERSION, batch, claim_margin]).encode())
    for p in prompts:
        h.update(json.dumps([p.class_id, p.rows.start, p.rows.stop, p.cols.start, p.cols.stop]).encode())
        for a in (p.component, p.box, p.points, p.labels, p.mask_input):
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def pack(decoded: list[tuple[float, tuple[slice, slice], np.ndarray]]) -> dict:
    """Arrays of an entry from [(predicted IoU, claim region, bool mask in the region)] per prompt."""
    bits = [np.packbits(m.ravel()) for _, _, m in decoded]
    return {
        "iou": np.array([s for s, _, _ in decoded], np.float64),
        "regions": np.array([[r.start, r.stop, c.start, c.stop] for _, (r, c), _ in decoded], np.int64).reshape(-1, 4),
        "offsets": np.cumsum([0] + [len(b) for b in bits]).astype(np.int64),
        "bits": np.concatenate(bits) if bits else np.zeros(0, np.uint8),
    }


def unpack(arrays: dict) -> list[tuple[float, tuple[slice, slice], np.ndarray]]:
    out = []
    for i, (s, (r0, r1, c0, c1)) in enumerate(zip(arrays["iou"].tolist(), arrays["regions"].tolist())):
        packed = arrays["bits"][arrays["offsets"][i]:arrays["offsets"][i + 1]]
        mask = np.unpackbits(packed, count=(r1 - r0) * (c1 - c0)).reshape(r1 - r0, c1 - c0).astype(bool)
        out.append((s, (slice(r0, r1), slice(c0, c1)), mask))
    return out
