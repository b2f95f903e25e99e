"""Issue 9's classifier defects, each with a test that failed before its fix: parallelepiped boxes
that rejected their own training pixels, NaN taken for class 1, BLAS thread limits that leaked
between overlapping predictions, and options that differed between the UI, the CLI and projects."""
import json
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from desktop_app.cli import main
from desktop_app.core.classes import NODATA, ClassInfo
from desktop_app.core.classifiers import METHODS, make_classifier
from desktop_app.core.classifiers.chunks import CHUNK
from desktop_app.core.classifiers.min_distance import MinDistanceClassifier
from desktop_app.core.classifiers.options import options_for, resolve_options, stored_options
from desktop_app.core.classify import classify_raster
from desktop_app.core.demo_scene import write_demo_scene
from desktop_app.core.errors import SatSegError
from desktop_app.core.raster import Raster
from desktop_app.core.samples import TrainingData

FAST = {"random_forest": {"trees": 10}, "svm": {"max_train_per_class": 100}}


def _training(X, y, bands=None):
    K = int(y.max())
    bands = bands or [f"B{i + 1}" for i in range(X.shape[1])]
    classes = [ClassInfo(k, f"c{k}", "#000000") for k in range(1, K + 1)]
    return TrainingData(X, y, classes, bands, {k: int((y == k).sum()) for k in range(1, K + 1)})


def test_parallelepiped_boxes_hold_every_own_training_pixel():
    # Bright, narrow classes (box half-width ≪ value), far apart so each training pixel lies
    # in its own box only. The old rescaled test x·(1/half) − centre/half rounded 9–17 of
    # these 24,000 pixels out of their own box (they became unclassified).
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.5 + 0.2 * k, 0.0005, (8000, 12)).astype(np.float32) for k in range(3)])
    y = np.repeat([1, 2, 3], 8000)
    clf = make_classifier("parallelepiped").fit(_training(X, y))
    assert np.array_equal(clf.predict(X), y)


@pytest.mark.parametrize("method", list(METHODS))
def test_non_finite_pixels_are_nodata_inside_the_classifier(method):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal([0.1, 0.2, 0.3], 0.02, (200, 3)),
                   rng.normal([0.3, 0.2, 0.1], 0.02, (200, 3))]).astype(np.float32)
    y = np.repeat([1, 2], 200)
    bad = X.copy()
    bad[5, 0] = np.nan                               # a NaN training pixel is left out with a warning
    clf = make_classifier(method, **FAST.get(method, {})).fit(_training(bad, y))
    assert any("non-finite" in w for w in clf.warnings)
    P = np.array([[0.1, 0.2, 0.3], [np.nan, 0.2, 0.3], [0.1, np.inf, 0.3], [0.1, 0.2, -np.inf]], np.float32)
    P = np.vstack([P, np.tile(P, (CHUNK // 4 + 1, 1))])   # more than one chunk
    labels = clf.predict(P)
    assert labels[0] == 1 and (labels[1:4] == NODATA).all()
    assert (labels[4:][1::4] == NODATA).all() and (labels[4:][0::4] == 1).all()
    assert (clf.predict(P, {1: 1e-6, 2: 1e-6} if method != "max_likelihood" else 0.5)[1:4] == NODATA).all()
    s = clf.scores(P[:4])
    assert np.isnan(s[1:4]).all() and np.isfinite(s[0]).all()
    # A raster whose nodata mask misses the NaN: the class raster still says nodata there.
    from affine import Affine

    r = Raster(P[:4].T.reshape(3, 2, 2).copy(), Affine.identity(), None, ["B1", "B2", "B3"],
               np.zeros((2, 2), bool))
    assert (classify_raster(r, clf).ravel()[1:] == NODATA).all()


class _Blocking(MinDistanceClassifier):
    """Minimum distance whose first chunk waits for an event (to overlap two predictions)."""

    def __init__(self, gate=None, started=None):
        super().__init__()
        self.gate, self.started = gate, started

    def _evaluate(self, Xt, full=True):
        if self.started is not None and not self.started.is_set():
            self.started.set()
            assert self.gate.wait(20)
        return super()._evaluate(Xt, full)


def _blas_threads():
    return {i["internal_api"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_overlapping_predictions_leave_blas_threads_as_they_were(monkeypatch):
    import threadpoolctl

    import desktop_app.core.classifiers.chunks as chunks
    from desktop_app.core.classifiers.pool import own_blas_threads

    monkeypatch.setattr(chunks, "_workers", lambda: 2)
    rng = np.random.default_rng(0)
    X = rng.random((3 * CHUNK, 4), dtype=np.float32)
    training = _training(X[:400], np.repeat([1, 2], 200))
    own_blas_threads()                                    # what the app does once, on its main thread
    before = _blas_threads()
    assert before and all(v == 1 for v in before.values())
    calls = []
    real = threadpoolctl.threadpool_limits
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", lambda *a, **k: calls.append(a) or real(*a, **k))
    gates = [threading.Event() for _ in range(4)]         # gate A, started A, gate B, started B
    a = _Blocking(gates[0], gates[1]).fit(training)
    b = _Blocking(gates[2], gates[3]).fit(training)
    ta = threading.Thread(target=a.predict, args=(X,))
    tb = threading.Thread(target=b.predict, args=(X,))
    ta.start()
    assert gates[1].wait(20)                              # A is inside its prediction
    tb.start()
    assert gates[3].wait(20)                              # B too
    gates[0].set()
    ta.join(20)                                           # A ends first, while B still runs
    assert not ta.is_alive()
    assert _blas_threads() == before                      # B still has BLAS at one thread
    gates[2].set()
    tb.join(20)
    assert _blas_threads() == before                      # nothing changed afterwards
    assert calls == []                                    # no limit set or restored per prediction


def test_one_set_of_options_with_one_default():
    for method in METHODS:
        clf = make_classifier(method)
        assert clf.options == resolve_options(method, {}) == {o.key: (None if o.zero_means_none else o.default)
                                                             for o in options_for(method)}
    assert make_classifier("random_forest").options["balanced"] is False
    with pytest.raises(SatSegError, match="has no option 'gamma'"):
        make_classifier("svm", gamma=0.1)
    with pytest.raises(SatSegError, match="trees of random_forest must be between 1"):
        make_classifier("random_forest", trees=0)
    warnings = []
    assert stored_options("random_forest", {"trees": 7, "colour": 1}, warnings)["trees"] == 7
    assert "colour" in warnings[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    write_demo_scene(d, size=120)
    return d


def test_cli_has_a_flag_for_every_option(demo, tmp_path, capsys):
    out = tmp_path / "c.tif"
    args = ["classify", str(demo / "scene.tif"), str(demo / "samples.geojson"), "--out", str(out), "--json"]
    assert main(args + ["--method", "random_forest", "--trees", "7", "--balanced", "--max-depth", "5"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["options"] == {"trees": 7, "max_depth": 5, "balanced": True, "seed": 0}
    for method, flags, expected in [
        ("svm", ["--C", "2.5", "--max-train-per-class", "50"], {"C": 2.5, "max_train_per_class": 50, "seed": 0}),
        ("max_likelihood", ["--priors", "samples"], {"priors": "samples", "signatures": "per-class"}),
        ("parallelepiped", ["--box", "sigma", "--k", "3", "--signatures", "per-polygon"],
         {"box": "sigma", "k": 3.0, "signatures": "per-polygon"}),
    ]:
        assert main(args + ["--method", method] + flags) == 0
        assert json.loads(capsys.readouterr().out)["options"] == expected
    assert main(args + ["--method", "mahalanobis", "--priors", "samples"]) == 2
    assert "--priors does not apply to --method mahalanobis" in capsys.readouterr().err
    assert not out.with_name("x.tif").exists()
