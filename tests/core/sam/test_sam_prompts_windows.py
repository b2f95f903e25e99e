"""Prompts from masks and window tiling/stitching (no model needed)."""
import numpy as np
import pytest
from scipy import ndimage

from desktop_app.core.classes import NODATA
from desktop_app.core.errors import SatSegError
from desktop_app.core.sam.prompts import MASK_LOGIT, component_prompts
from desktop_app.core.sam.windows import stitch, tile_scene


def _labels():
    lab = np.full((128, 128), 3, np.uint8)
    lab[8:40, 16:64] = 1          # a rectangle of class 1
    lab[80:120, 80:100] = 1       # a second component of class 1
    lab[60:70, 4:124] = 2         # a band of class 2
    lab[0:4, :] = NODATA
    return lab


def test_boxes_points_and_mask_input_from_masks():
    lab = _labels()
    prompts = component_prompts(lab, [1, 2], low_res=64)
    assert len(prompts) == 3
    comps, n = ndimage.label(lab == 1)
    for p in prompts:
        mask = np.zeros(lab.shape, bool)
        mask[p.rows, p.cols] = p.component
        rows, cols = np.nonzero(mask)
        # box: first/last column and row of the component, as SAM's predictor takes XYXY boxes
        assert p.box.tolist() == [cols.min(), rows.min(), cols.max(), rows.max()]
        # the positive point lies inside the component, at its largest distance from the edge
        x, y = p.points[0].astype(int)
        assert p.labels[0] == 1 and mask[y, x]
        edt = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        assert edt[y, x] == edt.max()
        # negative points: pixels of another class (not nodata) inside the box
        for (x, y), lab_ in zip(p.points[1:].astype(int), p.labels[1:]):
            assert lab_ == 0
            assert lab[y, x] not in (p.class_id, NODATA)
            assert p.box[0] <= x <= p.box[2] and p.box[1] <= y <= p.box[3]
        # mask_input: (64, 64) logits, +4 on the component (sampled at 2 px cell centres), -4 elsewhere
        assert p.mask_input.shape == (64, 64) and p.mask_input.dtype == np.float32
        expected = np.where(mask[1::2, 1::2], MASK_LOGIT, -MASK_LOGIT)
        np.testing.assert_array_equal(p.mask_input, expected)
    # largest components first (the decoder budget goes to them)
    sizes = [int(p.component.sum()) for p in prompts]
    assert sizes == sorted(sizes, reverse=True)


def test_small_components_give_no_prompt():
    lab = np.zeros((64, 64), np.uint8)
    lab[10:15, 10:15] = 1          # 25 px: under the minimum
    assert component_prompts(lab, [1]) == []


@pytest.mark.parametrize("shape,size,overlap", [((1000, 1000), 256, 32), ((300, 700), 256, 64), ((100, 90), 256, 32)])
def test_tile_cores_cover_every_pixel_once_and_round_trip_exactly(shape, size, overlap):
    tiles = tile_scene(*shape, size=size, overlap=overlap)
    cover = np.zeros(shape, int)
    for t in tiles:
        assert t.row + t.height <= shape[0] and t.col + t.width <= shape[1]
        cover[t.core_in_scene()] += 1
    assert (cover == 1).all()
    const = np.full(shape, 7, np.uint8)
    out = np.zeros(shape, np.uint8)
    for t in tiles:
        stitch(out, t, const[t.row:t.row + t.height, t.col:t.col + t.width])
    np.testing.assert_array_equal(out, const)
    # any content round-trips: each core is copied from the window that contains it
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, shape).astype(np.uint8)
    out[:] = 0
    for t in tiles:
        stitch(out, t, scene[t.row:t.row + t.height, t.col:t.col + t.width].copy())
    np.testing.assert_array_equal(out, scene)


def test_cores_keep_half_the_overlap_as_context():
    tiles = tile_scene(1000, 1000, size=256, overlap=64)
    for t in tiles:
        r0, r1, c0, c1 = t.core
        if r0 > 0:
            assert r0 - t.row >= 32
        if r1 < 1000:
            assert t.row + t.height - r1 >= 32


def test_bad_window_settings():
    with pytest.raises(SatSegError, match="at least 64"):
        tile_scene(100, 100, size=32)
    with pytest.raises(SatSegError, match="overlap"):
        tile_scene(100, 100, size=128, overlap=64)
