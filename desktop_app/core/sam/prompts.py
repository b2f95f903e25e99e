"""SAM prompts from a classifier's mask: one per class and connected component.

Each prompt has the component's bounding box, one positive point (the pixel
deepest inside the component), up to ``MAX_NEGATIVE`` negative points (pixels
of other classes inside the box, farthest from the component) and a
``mask_input``: logits in SAM's low-resolution frame (1 x 256 x 256 for SAM-2's
1024 px input; the model's ``mask_input_size`` in general), positive on
the component and negative elsewhere (from the classifier's per-class logits,
``core.sam.score_logits``, when they are given). Coordinates are window pixel indexes, (x, y) = (col, row), as SAM's predictor takes them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy import ndimage

from ..classes import NODATA, UNCLASSIFIED

LOW_RES = 256                 # SAM-2's mask_input side at its 1024 px input
MASK_LOGIT = 4.0              # |logit| of a binary mask_input (sigmoid(4) = 0.98)
SCORE_LOGIT_CLIP = 8.0        # |logit| at most, from the classifier's scores (sigmoid(8) = 0.9997)
MIN_LOGIT = 0.5               # |logit| at least: the sign always follows the component
MIN_COMPONENT_PX = 64         # smaller components keep the classifier's pixels (under 2x2 low-res cells)
MAX_PROMPTS = 96              # per window, largest components first
MAX_NEGATIVE = 2


@dataclass
class Prompt:
    class_id: int
    rows: slice                  # the component's bounding box in the window
    cols: slice
    component: np.ndarray        # bool, the component inside its box
    box: np.ndarray              # (4,) x0, y0, x1, y1: first and last column and row (inclusive)
    points: np.ndarray           # (n, 2) x, y = column, row (SAM's prompt encoder adds the 0.5 to the centre)
    labels: np.ndarray           # (n,) 1 positive, 0 negative
    mask_input: np.ndarray       # (low_res, low_res) float32 logits


def low_res_grid(shape: tuple[int, int], side: int = LOW_RES) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indexes of the window pixels at the centres of a side x side grid."""
    h, w = shape
    return (((np.arange(side) + 0.5) * h / side).astype(int), ((np.arange(side) + 0.5) * w / side).astype(int))


def _deepest(mask: np.ndarray) -> tuple[int, int]:
    d = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(np.argmax(d), d.shape)
    return int(r), int(c)


def _negatives(labels_box: np.ndarray, comp: np.ndarray, class_id: int) -> list[tuple[int, int]]:
    other = (labels_box != class_id) & (labels_box != NODATA) & (labels_box != UNCLASSIFIED)
    out = []
    if not other.any():
        return out
    dist = ndimage.distance_transform_edt(~comp)   # distance from the component
    dist = np.where(other, dist, -1.0)
    for _ in range(MAX_NEGATIVE):
        r, c = np.unravel_index(np.argmax(dist), dist.shape)
        if dist[r, c] <= 0:
            break
        out.append((int(r), int(c)))
        # the next point away from this one too
        rr, cc = np.ogrid[:dist.shape[0], :dist.shape[1]]
        dist = np.where((rr - r) ** 2 + (cc - c) ** 2 < max(4.0, dist[r, c]) ** 2, -1.0, dist)
    return out


def component_prompts(labels: np.ndarray, class_ids: Sequence[int], logits: Optional[np.ndarray] = None,
                      logit_ids: Optional[Sequence[int]] = None, max_prompts: int = MAX_PROMPTS,
                      low_res: int = LOW_RES) -> list[Prompt]:
    """Prompts for every class component of a window's class labels (rows, cols) uint8.

    ``logits`` (K, rows, cols) are the classifier's per-class logits (``core.sam.score_logits``)
    in the order of ``logit_ids`` (default ``class_ids``); they give the mask_input.
    """
    gr, gc = low_res_grid(labels.shape, low_res)
    low_labels = labels[np.ix_(gr, gc)]
    logit_index = {cid: k for k, cid in enumerate(logit_ids or class_ids)}
    # Candidates of every class, largest first: the decoder costs ~0.1 s per prompt on a CPU, so a
    # window gets at most max_prompts of them; the rest keep the classifier's pixels.
    found = []
    for cid in class_ids:
        comp_labels, n = ndimage.label(labels == cid)
        if n == 0:
            continue
        sizes = np.bincount(comp_labels.ravel(), minlength=n + 1)[1:]
        boxes = ndimage.find_objects(comp_labels)
        found += [(int(sizes[i]), int(cid), i + 1, boxes[i], comp_labels) for i in range(n)
                  if sizes[i] >= MIN_COMPONENT_PX]
    found.sort(key=lambda f: -f[0])
    prompts: list[Prompt] = []
    for _, cid, label, (rows, cols), comp_labels in found[:max_prompts]:
        comp = comp_labels[rows, cols] == label
        r, c = _deepest(comp)
        pts = [(cols.start + c, rows.start + r)]
        lab = [1]
        for nr, nc in _negatives(labels[rows, cols], comp, cid):
            pts.append((cols.start + nc, rows.start + nr))
            lab.append(0)
        low_comp = comp_labels[np.ix_(gr, gc)] == label
        if logits is not None and cid in logit_index:
            logit = np.clip(logits[logit_index[cid]][np.ix_(gr, gc)], -SCORE_LOGIT_CLIP, SCORE_LOGIT_CLIP)
            # the component at least slightly positive, everything else at least slightly negative: the
            # classifier's confidence shapes the prompt, the component decides its sign (docs/sam.md)
            mask_input = np.where(low_comp, np.maximum(logit, MIN_LOGIT), np.minimum(logit, -MIN_LOGIT))
        else:
            mask_input = np.where(low_comp, MASK_LOGIT, -MASK_LOGIT)
        mask_input[low_labels == NODATA] = -SCORE_LOGIT_CLIP if logits is not None else -MASK_LOGIT
        prompts.append(Prompt(
            cid, rows, cols, comp,
            np.array([cols.start, rows.start, cols.stop - 1, rows.stop - 1], np.float32),
            np.array(pts, np.float32), np.array(lab, np.int32), mask_input.astype(np.float32),
        ))
    return prompts
