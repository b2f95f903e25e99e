"""The classifier's per-class scores as SAM mask_input logits (docs/sam.md, "Prompts")."""
import numpy as np
import pytest

from desktop_app.core.sam.prompts import component_prompts
from desktop_app.core.sam.score_logits import ScoreLogits, margin_logits, winning_margin


def test_margin_logits_against_a_hand_computed_example():
    # four pixels, three classes, distances (lower is closer) -> oriented scores g = -distance
    dist = np.array([[1, 2, 5, 4],
                     [3, 2.5, 1, 8],
                     [6, 9, 2, 0]], np.float64)
    g = -dist
    # winning margins (best - second best): 2, 0.5, 1, 4 -> median 1.5
    np.testing.assert_allclose(winning_margin(g), [2, 0.5, 1, 4])
    t = float(np.median(winning_margin(g)))
    assert t == 1.5
    # margin of class k = g_k - best other g; times 4 / 1.5 = 8/3; clipped to +-8
    #   pixel 1: margins  2, -2, -5   -> 5.333, -5.333, -8 (-13.3 clipped)
    #   pixel 2: margins  0.5, -0.5, -7 -> 1.333, -1.333, -8
    #   pixel 3: margins -4, 1, -1    -> -8 (-10.7), 2.667, -2.667
    #   pixel 4: margins -4, -8, 4    -> -8, -8, 8 (10.7 clipped)
    expected = np.array([[16 / 3, 4 / 3, -8, -8],
                         [-16 / 3, -4 / 3, 8 / 3, -8],
                         [-8, -8, -8 / 3, 8]])
    got = margin_logits(g, t)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # a nodata pixel (non-finite score) is -8 for every class
    g[:, 1] = np.nan
    assert (margin_logits(g, t)[:, 1] == -8).all()


def test_prompt_mask_input_takes_the_logits_with_the_components_sign():
    lab = np.full((64, 64), 2, np.uint8)
    lab[8:40, 8:40] = 1
    logits = np.zeros((2, 64, 64), np.float32)
    logits[0] = np.linspace(-6, 6, 64)[None, :]          # the classifier's logit for class 1, by column
    logits[1] = -logits[0]
    p = component_prompts(lab, [1, 2], logits=logits, low_res=64)
    p1 = next(q for q in p if q.class_id == 1)
    inside = lab == 1
    np.testing.assert_allclose(p1.mask_input[inside], np.maximum(logits[0][inside], 0.5))
    np.testing.assert_allclose(p1.mask_input[~inside], np.minimum(logits[0][~inside], -0.5))
    # logit planes may come in another order than the classes (logit_ids)
    p_swapped = component_prompts(lab, [1, 2], logits=logits[::-1].copy(), logit_ids=[2, 1], low_res=64)
    np.testing.assert_array_equal(next(q for q in p_swapped if q.class_id == 1).mask_input, p1.mask_input)


@pytest.fixture(scope="module")
def classified(small_scene):
    from desktop_app.core.classifiers import make_classifier
    from desktop_app.core.samples import collect_training, read_samples
    from desktop_app.core.scale.score_cache import classify_cached
    from desktop_app.core.sources import open_image

    with open_image(small_scene / "scene.tif") as src:
        clf = make_classifier("mahalanobis")
        clf.fit(collect_training(src, read_samples(small_scene / "samples.geojson")))
        labels, cache = classify_cached(src, clf, None, block=100)       # 3 x 3 kept blocks
        pixels = src.read().data.reshape(len(src.band_names), -1).T
    return clf, labels, cache, pixels


def test_window_logits_follow_the_classifiers_scores_across_kept_blocks(classified):
    clf, labels, cache, pixels = classified
    logits = ScoreLogits(cache)
    assert logits.ids == [c.id for c in clf.classes] and len(cache.blocks) == 9
    # independent reference: the classifier's scores of every pixel (n, K), margins by sorting
    g = -clf.scores(pixels).astype(np.float64)                         # Mahalanobis distance: lower is closer
    top2 = -np.sort(-g, axis=1)[:, :2]
    win = top2[:, 0] - top2[:, 1]
    # the temperature is the median winning margin (of a sample of every block's pixels)
    assert np.quantile(win, 0.4) <= logits.temperature <= np.quantile(win, 0.6)
    row, col, h, w = 37, 53, 120, 140                                   # crosses four kept blocks
    got = logits.window(row, col, h, w)
    assert got.shape == (len(logits.ids), h, w)
    gw = g.reshape(256, 256, -1)[row:row + h, col:col + w]
    for k in range(g.shape[1]):
        other = np.delete(gw, k, axis=2).max(axis=2)
        ref = np.clip((gw[..., k] - other) * 4 / logits.temperature, -8, 8)
        np.testing.assert_allclose(got[k], ref, rtol=1e-4, atol=1e-4)
    # the only positive logit of a pixel is its class's: the classifier's decision
    ids = np.array(logits.ids)
    np.testing.assert_array_equal(ids[got.argmax(axis=0)], labels[row:row + h, col:col + w])
    assert ((got > 0).sum(axis=0) == 1).all()


def test_refine_with_the_classifiers_scores(classified, small_scene, tmp_path):
    from desktop_app.core.classes import read_class_raster
    from desktop_app.core.sam.features import image_identity
    from desktop_app.core.sam.refine import refine_image
    from desktop_app.core.sources import open_image

    clf, labels, cache, _ = classified
    kw = dict(random_init=True, window=256, overlap=32, cache_dir=tmp_path / "cache")
    with open_image(small_scene / "scene.tif") as src:
        ident = image_identity(small_scene / "scene.tif")
        _, plain = refine_image(src, ident, labels, clf.classes, tmp_path / "a.tif", **kw)
        refined, scored = refine_image(src, ident, labels, clf.classes, tmp_path / "b.tif", logits=ScoreLogits(cache),
                                       **kw)
    assert plain["mask_input"] == {"from": "class mask"}
    assert scored["mask_input"]["from"] == "classifier scores" and scored["mask_input"]["median_winning_margin"] > 0
    # same prompts' boxes and points, other mask_input: the decoded cache cannot serve it
    assert scored["prompts"] == plain["prompts"] and scored["decode_misses"] == 1 and scored["cache_hits"] == 1
    # random weights: rejected masks keep the classifier's pixels
    if scored["accepted"] == 0:
        np.testing.assert_array_equal(refined, labels)
    assert read_class_raster(tmp_path / "b.tif")[3] == list(clf.classes)
