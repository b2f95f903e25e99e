"""Several signatures per class (issue 17): per-polygon and auto beat per-class on a class made
of two populations; a tiny polygon never takes over a maximum-likelihood map; thresholds per
class and per signature."""
import numpy as np
import pytest

from desktop_app.core.classes import ClassInfo
from desktop_app.core.classifiers import make_classifier
from desktop_app.core.classifiers.signature_set import build_signatures
from desktop_app.core.errors import SatSegError
from desktop_app.core.samples import TrainingData

BANDS = ["B2", "B3", "B4", "B8"]
CLASSES = [ClassInfo(1, "urban", "#ff0000"), ClassInfo(2, "grass", "#00ff00")]
# "urban" = roofs and roads (two populations far apart); "grass" lies between them, so the
# urban class mean falls on grass and one signature per class mislabels urban pixels.
ROOFS = np.array([0.30, 0.28, 0.26, 0.30])
ROADS = np.array([0.08, 0.09, 0.10, 0.12])
GRASS = np.array([0.18, 0.20, 0.15, 0.23])


def _pop(rng, mean, n, sd=0.012):
    return rng.normal(mean, sd, (n, 4)).astype(np.float32)


def _training(rng, tiny=None):
    X = [_pop(rng, ROOFS, 300), _pop(rng, ROADS, 300), _pop(rng, GRASS, 300), _pop(rng, GRASS + 0.01, 300)]
    y = [1, 1, 2, 2]
    if tiny is not None:
        X.append(tiny.astype(np.float32))
        y.append(2)
    groups = np.concatenate([np.full(len(x), i) for i, x in enumerate(X)])
    labels = [f"feature {i + 1} (class '{CLASSES[c - 1].name}')" for i, c in enumerate(y)]
    yy = np.concatenate([np.full(len(x), c) for x, c in zip(X, y)])
    X = np.vstack(X)
    return TrainingData(X, yy, CLASSES, BANDS, {1: int((yy == 1).sum()), 2: int((yy == 2).sum())},
                        groups=groups, group_labels=labels)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(5)
    T = np.vstack([_pop(rng, ROOFS, 3000), _pop(rng, ROADS, 3000), _pop(rng, GRASS, 6000)])
    truth = np.repeat([1, 1, 2], [3000, 3000, 6000])
    return _training(rng), T, truth


@pytest.mark.parametrize("method", ["spectral_angle", "min_distance"])
def test_per_polygon_and_auto_beat_per_class(scene, method):
    training, T, truth = scene
    acc = {}
    for mode in ("per-class", "per-polygon", "auto"):
        clf = make_classifier(method, signatures=mode).fit(training)
        labels = clf.predict(T)
        assert set(np.unique(labels)) <= {1, 2}          # signatures map back to their classes
        acc[mode] = float(np.mean(labels == truth))
    assert acc["per-polygon"] > acc["per-class"] + 0.04, acc
    assert acc["auto"] > acc["per-class"] + 0.04, acc
    assert acc["per-polygon"] > 0.95 and acc["auto"] > 0.95, acc


def test_auto_finds_the_two_populations_by_bic(scene):
    training = scene[0]
    sigs = build_signatures(training.X, training.y, CLASSES, BANDS, "auto", seed=0)
    urban = [n for n, c in zip(sigs.names, sigs.class_of) if c == 1]
    assert len(urban) == 2
    got = sorted(sigs.means[sigs.class_of == 1][:, 0])
    assert got == pytest.approx([ROADS[0], ROOFS[0]], abs=0.005)
    assert sigs.counts[sigs.class_of == 1].tolist() in ([300, 300], [300, 300][::-1])


@pytest.mark.parametrize("method", ["mahalanobis", "max_likelihood", "parallelepiped"])
def test_every_statistics_method_takes_per_polygon_signatures(scene, method):
    training, T, truth = scene
    clf = make_classifier(method, signatures="per-polygon").fit(training)
    assert clf.n_rows == 4 and clf.row_names == ["urban/1", "urban/2", "grass/1", "grass/2"]
    labels = clf.predict(T)
    assert set(np.unique(labels)) <= {0, 1, 2}
    assert np.mean(labels == truth) > 0.9
    s = clf.scores(T[:10])
    assert s.shape == (10, 2)                            # scores per class: its best signature


@pytest.mark.parametrize("n_tiny", [3, 12])
def test_a_tiny_polygon_never_takes_over_a_maximum_likelihood_map(n_tiny):
    rng = np.random.default_rng(9)
    # A few almost identical grass pixels: their own covariance would be (near) singular, with a
    # log-determinant that wins the likelihood nearly everywhere.
    tiny = GRASS + rng.normal(0, 1e-4, (n_tiny, 4))
    training = _training(rng, tiny=tiny)
    T = np.vstack([_pop(rng, ROOFS, 2000), _pop(rng, ROADS, 2000), _pop(rng, GRASS, 2000)])
    truth = np.repeat([1, 1, 2], 2000)
    clf = make_classifier("max_likelihood", signatures="per-polygon").fit(training)
    labels = clf.predict(T)
    assert np.mean(labels == truth) > 0.95
    assert np.mean(labels == 2) < 0.4                    # grass is 1/3 of the scene
    polygon = "feature 5 (class 'grass')"
    assert any(polygon in w for w in clf.warnings), clf.warnings
    word = "merged into" if n_tiny <= 4 else "covariance of their whole class"
    assert any(word in w and polygon in w for w in clf.warnings), clf.warnings


def test_thresholds_per_class_and_per_signature(scene):
    training, T, _ = scene
    clf = make_classifier("min_distance", signatures="per-polygon").fit(training)
    roofs_px = np.array([ROOFS], np.float32)
    roads_px = np.array([ROADS], np.float32)
    both = np.vstack([roofs_px, roads_px])
    assert clf.predict(both).tolist() == [1, 1]
    assert clf.predict(both, {"urban": 0.001}).tolist() == [0, 0] or \
        clf.predict(both, {"urban": 0.001}).tolist()[0] != 1
    # One signature of urban off (tiny limit), the other without one: only its pixels drop out.
    labels = clf.predict(both, {"urban/1": 0.001})
    assert labels[1] == 1 and labels[0] != 1
    with pytest.raises(SatSegError, match="unknown class 'urban/9'"):
        clf.predict(both, {"urban/9": 0.1})


def test_pixel_methods_refuse_other_signature_modes():
    with pytest.raises(SatSegError, match="random_forest has no option 'signatures'"):
        make_classifier("random_forest", signatures="per-polygon")


def test_per_polygon_needs_polygons():
    rng = np.random.default_rng(1)
    t = _training(rng)
    t.groups = None
    with pytest.raises(SatSegError, match="per-polygon signatures need"):
        make_classifier("min_distance", signatures="per-polygon").fit(t)
