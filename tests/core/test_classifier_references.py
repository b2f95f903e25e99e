"""Every classifier against an independent reference, on data where the maths can go wrong.

Three Gaussian classes in four bands with non-identity, unequal covariances (a tight
class, a broad one, a strongly correlated one), so Σ versus Σ⁻¹, a dropped log-determinant
or a wrong prior would all change the answer; 40,000 test pixels span three 16,384-pixel
chunks. References: scipy's Mahalanobis distance and multivariate normal log-density,
scikit-learn's forest and SVM, plain formulas for minimum distance, spectral angle and the
parallelepiped, sklearn.metrics for the confusion matrix and kappa. Thresholds (docs/classifiers.md)
are checked on the same data against the reference scores.
"""
import numpy as np
import pytest
from scipy.spatial.distance import cdist, mahalanobis
from scipy.stats import chi2, multivariate_normal

from desktop_app.core.accuracy import accuracy_from_arrays
from desktop_app.core.classes import ClassInfo
from desktop_app.core.classifiers import make_classifier
from desktop_app.core.classifiers.chunks import CHUNK
from desktop_app.core.samples import TrainingData

# Overlapping classes, so the decision boundaries (where the methods differ) hold many pixels.
MEANS = np.array([[0.10, 0.15, 0.20, 0.28], [0.12, 0.14, 0.22, 0.26], [0.09, 0.17, 0.19, 0.27]])
N_TEST = 40_000


def _cov(seed, scale, corr):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    return scale ** 2 * (Q @ np.diag(corr) @ Q.T)


COVS = np.array([_cov(1, 0.012, [1.0, 0.6, 0.3, 0.1]), _cov(2, 0.04, [1.0, 0.8, 0.5, 0.4]),
                 _cov(3, 0.025, [1.0, 0.05, 0.02, 0.01])])


def _draw(rng, n):
    X = np.vstack([rng.multivariate_normal(MEANS[k], COVS[k], n) for k in range(3)]).astype(np.float32)
    return X, np.repeat(np.arange(1, 4), n)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X, y = _draw(rng, 700)
    counts = {1: 700, 2: 700, 3: 700}
    keep = np.r_[0:700, 700:1400, 1400:1700]            # unequal class sizes: priors matter
    X, y = X[keep], y[keep]
    counts[3] = 300
    classes = [ClassInfo(i, n, "#000000") for i, n in ((1, "tight"), (2, "broad"), (3, "flat"))]
    training = TrainingData(X, y, classes, ["B2", "B3", "B4", "B8"], counts)
    T, truth = _draw(rng, N_TEST // 3 + 1)
    T, truth = T[:N_TEST], truth[:N_TEST]
    assert N_TEST > 2 * CHUNK
    stats = [(X[y == k].astype(np.float64).mean(axis=0), np.cov(X[y == k].astype(np.float64), rowvar=False))
             for k in (1, 2, 3)]
    return training, T.astype(np.float32), truth, stats


def _ref_labels(scores, rejected, ids=np.array([1, 2, 3]), higher=False):
    """Best class not rejected by its own threshold; 0 when all are (the rule in plain numpy)."""
    s = np.where(rejected, np.inf if not higher else -np.inf, scores)
    best = ids[(s.argmax(axis=1) if higher else s.argmin(axis=1))]
    return np.where(rejected.all(axis=1), 0, best)


def _agree(a, b, share=1e-4):
    """Labels agree except on float32-vs-float64 knife edges (at most ``share`` of pixels)."""
    assert np.mean(a != b) <= share, np.mean(a != b)


def _mahalanobis_ref(T, stats):
    return np.column_stack([cdist(T.astype(np.float64), m[None], "mahalanobis", VI=np.linalg.inv(c))[:, 0]
                            for m, c in stats])


def test_mahalanobis_against_scipy(data):
    training, T, _, stats = data
    clf = make_classifier("mahalanobis").fit(training)
    D = _mahalanobis_ref(T, stats)
    # scipy's own per-pixel function on a sample, as a check of the vectorized reference.
    for i in range(0, N_TEST, 4001):
        for k, (m, c) in enumerate(stats):
            assert D[i, k] == pytest.approx(mahalanobis(T[i], m, np.linalg.inv(c)), rel=1e-9)
    ev = clf.evaluate(T)
    np.testing.assert_allclose(clf.scores(T), D, rtol=2e-4, atol=1e-4)
    assert ev.rank.shape == (3, N_TEST)
    _agree(clf.predict(T), _ref_labels(D, np.zeros_like(D, bool)))
    limits = np.array([2.5, 3.0, 1.8])
    _agree(clf.predict(T, {1: 2.5, 2: 3.0, 3: 1.8}), _ref_labels(D, D > limits))
    assert 0.01 < np.mean(clf.predict(T, {1: 2.5, 2: 3.0, 3: 1.8}) == 0) < 0.5   # the thresholds do bite


@pytest.mark.parametrize("priors", ["equal", "samples"])
def test_max_likelihood_against_scipy_logpdf(data, priors):
    training, T, _, stats = data
    clf = make_classifier("max_likelihood", priors=priors).fit(training)
    n = np.array([700, 700, 300])
    p = np.full(3, 1 / 3) if priors == "equal" else n / n.sum()
    L = np.column_stack([multivariate_normal(m, c).logpdf(T.astype(np.float64)) + np.log(p[k])
                         for k, (m, c) in enumerate(stats)])
    np.testing.assert_allclose(clf.scores(T), L, rtol=1e-4, atol=2e-3)
    labels = clf.predict(T)
    _agree(labels, _ref_labels(L, np.zeros_like(L, bool), higher=True))
    # Not the same map as Mahalanobis: the log-determinant and the priors matter on this data.
    assert np.mean(labels != make_classifier("mahalanobis").fit(training).predict(T)) > 0.01
    D2 = _mahalanobis_ref(T, stats) ** 2
    levels = np.array([0.9, 0.99, 0.5])
    rejected = D2 > chi2.ppf(levels, 4)
    _agree(clf.predict(T, {"tight": 0.9, "broad": 0.99, "flat": 0.5}), _ref_labels(L, rejected, higher=True))


def test_min_distance_against_the_plain_formula(data):
    training, T, _, stats = data
    clf = make_classifier("min_distance").fit(training)
    D = np.linalg.norm(T.astype(np.float64)[:, None, :] - np.array([m for m, _ in stats])[None], axis=2)
    ev = clf.evaluate(T)                            # more than one chunk (issue 9, item 3)
    assert ev.rank.shape == (3, N_TEST)
    np.testing.assert_allclose(clf.scores(T), D, rtol=1e-3, atol=2e-4)
    _agree(clf.predict(T), _ref_labels(D, np.zeros_like(D, bool)))
    limits = np.array([0.03, 0.08, 0.05])
    _agree(clf.predict(T, {1: 0.03, 2: 0.08, 3: 0.05}), _ref_labels(D, D > limits))


def test_spectral_angle_against_the_plain_formula(data):
    training, T, _, stats = data
    clf = make_classifier("spectral_angle").fit(training)
    M = np.array([m for m, _ in stats])
    X = T.astype(np.float64)
    cos = (X @ M.T) / np.linalg.norm(X, axis=1)[:, None] / np.linalg.norm(M, axis=1)[None]
    A = np.arccos(np.clip(cos, -1, 1))
    np.testing.assert_allclose(clf.scores(T), A, atol=2e-3)   # arccos near 0 amplifies float32 rounding
    _agree(clf.predict(T), _ref_labels(A, np.zeros_like(A, bool)), share=1e-3)
    limits = np.array([0.1, 0.15, 0.08])
    _agree(clf.predict(T, {1: 0.1, 2: 0.15, 3: 0.08}), _ref_labels(A, A > limits), share=1e-3)


def test_parallelepiped_against_the_plain_formula(data):
    training, T, _, _ = data
    clf = make_classifier("parallelepiped").fit(training)
    X, y = training.X.astype(np.float64), training.y
    lo = np.array([X[y == k].min(axis=0) for k in (1, 2, 3)])
    hi = np.array([X[y == k].max(axis=0) for k in (1, 2, 3)])
    m = np.array([X[y == k].mean(axis=0) for k in (1, 2, 3)])
    s = np.array([X[y == k].std(axis=0, ddof=1) for k in (1, 2, 3)])
    Tx = T.astype(np.float64)
    Z = (Tx[:, None, :] - m[None]) / s[None]
    dist = np.sqrt((Z ** 2).sum(axis=2))
    np.testing.assert_allclose(clf.scores(T), dist, rtol=1e-4, atol=1e-4)
    outside = ((Tx[:, None, :] < lo[None]) | (Tx[:, None, :] > hi[None])).any(axis=2)
    _agree(clf.predict(T), _ref_labels(dist, outside))
    # A threshold k_c replaces class c's box by mean ± k_c·σ; the others keep their min/max box.
    sigma_out = (np.abs(Z) > 1.5).any(axis=2)
    rejected = np.column_stack([outside[:, 0], sigma_out[:, 1], outside[:, 2]])
    _agree(clf.predict(T, {2: 1.5}), _ref_labels(dist, rejected))


def test_random_forest_against_scikit_learn(data):
    from sklearn.ensemble import RandomForestClassifier

    training, T, _, _ = data
    clf = make_classifier("random_forest", trees=30, balanced=True, seed=3).fit(training)
    ref = RandomForestClassifier(n_estimators=30, class_weight="balanced", random_state=3).fit(
        training.X, training.y)
    P = ref.predict_proba(T)
    np.testing.assert_allclose(clf.scores(T), P, atol=1e-6)
    assert np.array_equal(clf.predict(T), ref.predict(T).astype(np.uint8))
    rejected = P < np.array([0.6, 0.7, 0.5])
    _agree(clf.predict(T, {1: 0.6, 2: 0.7, 3: 0.5}), _ref_labels(P, rejected, higher=True), share=0)


def test_svm_against_scikit_learn(data):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    training, T, _, _ = data
    clf = make_classifier("svm", C=3.0, max_train_per_class=5000).fit(training)   # no cap: same pixels
    ref = make_pipeline(StandardScaler(), CalibratedClassifierCV(
        SVC(kernel="rbf", C=3.0, gamma="scale", random_state=0), method="sigmoid", ensemble=False))
    ref.fit(training.X, training.y)
    P = ref.predict_proba(T[:5000])
    np.testing.assert_allclose(clf.scores(T[:5000]), P, atol=1e-5)
    _agree(clf.predict(T[:5000]), ref.predict(T[:5000]).astype(np.uint8))


def test_confusion_matrix_and_kappa_against_sklearn_metrics(data):
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    training, T, truth, _ = data
    clf = make_classifier("max_likelihood").fit(training)
    pred = clf.predict(T, 0.95)                     # some unclassified pixels (0) too
    assert (pred == 0).any()
    report = accuracy_from_arrays(pred, truth.astype(np.uint8), training.classes)
    labels = [1, 2, 3, 0]
    cm = confusion_matrix(truth, pred, labels=labels)
    assert np.array_equal(report.matrix, cm[:3, :3])
    assert np.array_equal(report.unclassified, cm[:3, 3])
    assert report.kappa == pytest.approx(cohen_kappa_score(truth, pred, labels=labels), abs=1e-12)
    assert report.overall_accuracy == pytest.approx(np.mean(pred == truth), abs=1e-12)
