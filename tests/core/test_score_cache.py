"""Kept evaluations re-decide to exactly the labels of a fresh prediction (issue 12), in memory and on disk."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.classes import NODATA, ClassInfo
from desktop_app.core.classifiers import METHODS, make_classifier
from desktop_app.core.classify import classify_array
from desktop_app.core.raster import Raster
from desktop_app.core.samples import TrainingData
from desktop_app.core.scale import score_cache
from desktop_app.core.scale.score_cache import classify_cached

BANDS = ["B2", "B3", "B4", "B8"]
MEANS = np.array([[0.05, 0.08, 0.06, 0.35], [0.10, 0.12, 0.15, 0.20], [0.02, 0.03, 0.02, 0.01]], np.float32)


def scene(rng, h=150, w=170):
    """Three classes' spectra with noise, NaN pixels (nodata by value) and a nodata mask corner."""
    cls = rng.integers(0, 3, (h, w))
    data = MEANS[cls].transpose(2, 0, 1) + rng.normal(0, 0.03, (4, h, w)).astype(np.float32)
    data[:, 5, 7] = 0.0                    # an all-zero pixel (spectral angle: unusable)
    data[2, 10:12, 20:25] = np.nan         # non-finite band -> nodata
    mask = np.zeros((h, w), bool)
    mask[:20, -30:] = True                 # the image's own nodata
    return Raster(data.astype(np.float32), Affine(10, 0, 500000, 0, -10, 3300000), CRS.from_epsg(32643),
                  BANDS, mask)


def training(rng):
    X = np.vstack([m + rng.normal(0, 0.03, (60, 4)) for m in MEANS]).astype(np.float32)
    y = np.repeat([1, 2, 3], 60)
    classes = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "urban", "#ff0000"), ClassInfo(3, "water", "#0000ff")]
    return TrainingData(X, y, classes, BANDS, {1: 60, 2: 60, 3: 60}, groups=np.repeat(np.arange(6), 30),
                        group_labels=[f"p{i}" for i in range(6)])


def random_thresholds(clf, rng):
    """Per-class values spread over the range where they matter (scores of the scene's pixels)."""
    lo, hi = clf.threshold_range
    if clf.name in ("random_forest", "svm"):
        return {c.id: float(rng.uniform(0.9, 0.99999)) for c in clf.classes}
    return {c.id: float(min(hi, max(lo, rng.uniform(0.5, 1.5) * (clf.default_threshold(c.id) or 1.0))))
            for c in clf.classes}


@pytest.mark.parametrize("on_disk", [False, True])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_redecide_equals_fresh_prediction(method, on_disk, tmp_path, monkeypatch):
    rng = np.random.default_rng(abs(hash(method)) % 2 ** 32)
    if on_disk:
        monkeypatch.setattr(score_cache, "IN_MEMORY_BYTES", 0)
    image = scene(rng)
    opts = {"trees": 20} if method == "random_forest" else {}
    clf = make_classifier(method, **opts).fit(training(rng))
    labels, cache = classify_cached(image, clf, None, block=64, folder=tmp_path)
    try:
        assert cache.on_disk == on_disk
        fresh = classify_array(image, clf, None, block=64)
        assert np.array_equal(labels, fresh)
        assert (labels == NODATA).sum() == 20 * 30 + 10   # mask corner + the NaN pixels
        settings = [None, 0.0 if clf.threshold_range[0] == 0 and method != "parallelepiped" else None]
        settings += [random_thresholds(clf, rng) for _ in range(4)]
        changed = 0
        for t in settings:
            got = cache.decide(t)
            want = classify_array(image, clf, t, block=64)
            assert np.array_equal(got, want), (method, t)
            changed += not np.array_equal(got, fresh)
        assert changed >= 2   # the thresholds really moved the result
    finally:
        cache.close()


def test_big_cache_goes_to_an_anonymous_file(tmp_path, monkeypatch):
    monkeypatch.setattr(score_cache, "IN_MEMORY_BYTES", 0)
    rng = np.random.default_rng(1)
    clf = make_classifier("mahalanobis").fit(training(rng))
    _, cache = classify_cached(scene(rng), clf, None, block=64, folder=tmp_path)
    # Compact: the rank rows as float32 over the valid pixels, one flag byte each; nothing else.
    valid = 150 * 170 - 20 * 30
    assert cache.nbytes == valid * (4 * clf.n_rows + 1)
    assert list(tmp_path.iterdir()) == []      # unlinked: nothing to leave behind
    cache.close()


@pytest.mark.parametrize("method", ["mahalanobis", "spectral_angle", "parallelepiped"])
def test_kept_layout_rebuilds_the_evaluation_exactly(method, tmp_path, monkeypatch):
    """Winner byte + winning rank + the other rows give back the classifier's own rank rows and flags."""
    from desktop_app.core.scale.score_cache import _evaluation

    monkeypatch.setattr(score_cache, "IN_MEMORY_BYTES", 0)
    rng = np.random.default_rng(3)
    image = scene(rng)
    clf = make_classifier(method).fit(training(rng))
    _, cache = classify_cached(image, clf, None, block=64, folder=tmp_path)
    try:
        for b in cache.blocks:
            _, want = score_cache._evaluate_block(clf, image.window(b.window), None)   # what was kept
            got = _evaluation(cache._arrays(b), slice(None))
            usable = np.ones(b.n, bool) if want.nodata is None else ~want.nodata
            assert np.array_equal(got.rank[:, usable], want.rank[:, usable])
            for k in want.extra:
                assert np.array_equal(got.extra[k][..., usable], want.extra[k][..., usable])
            for flag in ("nodata", "invalid"):
                a, e = getattr(got, flag), getattr(want, flag)
                assert (a is None and (e is None or not e[usable if flag == "invalid" else slice(None)].any())) or \
                    np.array_equal(a, e if flag == "nodata" else e & usable)
    finally:
        cache.close()


def test_redecide_counts_areas_in_the_same_pass(tmp_path):
    """The tally filled while deciding equals the area table of the finished class array."""
    from desktop_app.core.areas import AreaTally, area_table, class_areas

    rng = np.random.default_rng(4)
    image = scene(rng)
    clf = make_classifier("max_likelihood").fit(training(rng))
    first = AreaTally(image.transform, image.crs)
    labels, cache = classify_cached(image, clf, None, block=64, tally=first)
    t = {c.id: 0.6 for c in clf.classes}            # confidence 0.6: the outer pixels are rejected
    again = AreaTally(image.transform, image.crs)
    got = cache.decide(t, tally=again)
    for tally, array in ((first, labels), (again, got)):
        mine = area_table(tally.counts, tally.areas, clf.classes, image.crs)
        ref = class_areas(array, image.transform, image.crs, clf.classes)
        assert [r.pixels for r in mine.all_rows()] == [r.pixels for r in ref.all_rows()]
        assert mine.unclassified.pixels == ref.unclassified.pixels and mine.nodata.pixels == ref.nodata.pixels
        assert np.allclose([r.area_m2 for r in mine.all_rows()], [r.area_m2 for r in ref.all_rows()], rtol=1e-9)
    assert again.counts[0] > first.counts[0]        # the thresholds left pixels unclassified


def test_ties_and_infinite_ranks_decide_as_a_fresh_prediction():
    """Rows that tie, a winner at +inf and rows without a threshold: the winner shortcut keeps
    the decide rule's answers (best row not rejected, ties to the lower row)."""
    from desktop_app.core.classifiers.evaluation import Evaluation
    from desktop_app.core.scale.score_cache import ScoreCache
    from rasterio.windows import Window

    rng = np.random.default_rng(5)
    clf = make_classifier("mahalanobis").fit(training(rng))
    values = np.array([0.0, 1.0, 4.0, 9.0, np.inf], np.float32)
    rank = values[rng.integers(0, 5, (3, 4000))]
    rank[:, :5] = [[1, 1, np.inf, 4, 0], [1, 4, np.inf, 4, 0], [9, 1, np.inf, 1, 0]]
    ev = Evaluation(rank)
    cache = ScoreCache(clf, 40, 100, 0)
    cache.add(Window(0, 0, 100, 40), None, ev)
    for t in [None, {1: 1.0}, {1: 2.0, 2: 1.0, 3: 0.5}, {1: 0.0, 2: 0.0, 3: 0.0}, {2: 3.0}]:
        limits = clf.threshold_array(t)
        assert np.array_equal(cache.decide(t).ravel(), clf._decide(ev, limits)), t


@pytest.mark.parametrize("method", sorted(METHODS))
def test_winner_test_is_the_rejection_rule_of_the_winning_row(method):
    """``winner_rejected`` says exactly what ``_rejected`` says for each pixel's winning row
    (the shortcut every method but parallelepiped takes)."""
    from desktop_app.core.classifiers.rows import argmin_rows

    rng = np.random.default_rng(7)
    opts = {"trees": 10} if method == "random_forest" else {}
    clf = make_classifier(method, **opts).fit(training(rng))
    X = scene(rng).data.reshape(4, -1)[:, :3000]
    ev = clf._evaluate_chunk(np.nan_to_num(X))
    win, wrank = argmin_rows(ev.rank, return_min=True)
    supported = 0
    for t in [None] + [random_thresholds(clf, rng) for _ in range(3)]:
        limits = clf.threshold_array(t)
        got = clf.winner_rejected(win, wrank, ev.extra, limits)
        if got is None:
            continue
        supported += 1
        want = np.zeros(ev.n, bool) if limits is None else clf._rejected(ev, limits)[win, np.arange(ev.n)]
        assert np.array_equal(got, want), t
    assert supported == (0 if method == "parallelepiped" else 4)
