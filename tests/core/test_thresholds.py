"""Every threshold rule of docs/classifiers.md against hand-computed pixels: accepted, rejected, tie,
direction (near is never rejected while far is) and per-class values that really differ."""
import numpy as np
import pytest

from desktop_app.core.classes import ClassInfo
from desktop_app.core.classifiers import Evaluation, make_classifier
from desktop_app.core.errors import SatSegError
from desktop_app.core.samples import TrainingData

A, B = (2.0, 5.0), (20.0, 5.0)
# Around each mean: (±1, ±1) and the mean itself -> sample mean exactly m, covariance exactly I,
# standard deviation exactly 1 and min/max box exactly m ± 1 (all representable in float32).
SPREAD = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1], [0, 0]], float)


def training(means=(A, B), spread=SPREAD):
    X = np.vstack([np.asarray(m) + spread for m in means]).astype(np.float32)
    y = np.repeat(np.arange(1, len(means) + 1), len(spread))
    classes = [ClassInfo(i + 1, name, "#000000") for i, name in enumerate(["a", "b", "c"][:len(means)])]
    return TrainingData(X, y, classes, ["B1", "B2"], {i + 1: len(spread) for i in range(len(means))})


def px(*points):
    return np.array(points, np.float32)


def fit(method, **kw):
    return make_classifier(method, **kw).fit(training())


# -- Mahalanobis: reject k if D_k > T_k (distance, not squared) ---------------------------
def test_mahalanobis_hand_computed_distance_and_tie():
    clf = fit("mahalanobis")
    p = px((A[0] + 3, A[1] + 4))          # D_a = 5 exactly (covariance I)
    assert clf.scores(p)[0, 0] == pytest.approx(5.0, abs=1e-6)
    assert clf.predict(p).tolist() == [1]
    assert clf.predict(p, {1: 5.0, 2: 5.0}).tolist() == [1]        # D == T: accepted (tie)
    assert clf.predict(p, 4.99).tolist() == [0]                    # D > T for every class: unclassified
    # Class a rejected, b has no threshold: the pixel takes the best class that is not rejected.
    assert clf.predict(p, {"a": 4.99}).tolist() == [2]
    # Not squared: T = 5 accepts D = 5 although D² = 25 > 5.
    assert clf.predict(px((A[0] + 3, A[1] + 4)), {1: 5.0, 2: 1.0}).tolist() == [1]


def test_mahalanobis_direction_near_never_rejected_far_rejected():
    clf = fit("mahalanobis")
    near, far = px((A[0] + 1, A[1])), px((A[0] - 8, A[1] + 6))     # D = 1 and D = 10 from a
    for t in (1.0, 3.0, 9.99):
        labels = clf.predict(np.vstack([near, far]), {1: t, 2: t})
        assert labels.tolist() == [1, 0]
    assert clf.predict(np.vstack([near, far]), 10.0).tolist() == [1, 1]


def test_mahalanobis_per_class_thresholds_differ():
    clf = fit("mahalanobis")
    # The same distance (3) from a and from b, judged by different per-class limits.
    pa, pb = (A[0], A[1] + 3), (B[0], B[1] - 3)
    labels = clf.predict(px(pa, pb), {1: 2.0, 2: 8.0})
    assert labels.tolist() == [0, 2]
    labels = clf.predict(px(pa, pb), {1: 8.0, 2: 2.0})
    assert labels.tolist() == [1, 0]


# -- Maximum likelihood: reject k if D_k² > χ²_n(p_k) ---------------------------------------
def chi2_2dof_level(x):
    # For 2 degrees of freedom the chi-square CDF is 1 − exp(−x/2), so χ²_2(p) = −2 ln(1 − p).
    return 1 - np.exp(-x / 2)


def test_max_likelihood_hand_computed_loglikelihood_and_rule():
    clf = fit("max_likelihood")
    p = px((A[0] + 3, A[1] + 4))                                   # D_a² = 25
    g = clf.scores(p)[0, 0]
    assert g == pytest.approx(np.log(0.5) - 0.5 * 25 - np.log(2 * np.pi), abs=1e-4)
    assert clf.predict(p).tolist() == [1]
    assert clf.predict(p, {1: chi2_2dof_level(25.05), 2: 0.5}).tolist() == [1]     # χ² = 25.05 >= 25
    assert clf.predict(p, {1: chi2_2dof_level(24.95), 2: 0.5}).tolist() == [0]     # χ² = 24.95 < 25
    assert clf.predict(p, chi2_2dof_level(24.95)).tolist() == [0]
    # Direction: a larger confidence level accepts more.
    near, far = px((A[0] + 1, A[1])), px((A[0], A[1] + 6))         # D² = 1 and 36
    assert clf.predict(np.vstack([near, far]), 0.99).tolist() == [1, 0]   # χ²_2(0.99) = 9.21
    assert clf.predict(np.vstack([near, far]), 1 - 1e-9).tolist() == [1, 1]  # χ²_2 = 41.4
    # Per class: the same D² = 9 passes at p = 0.99 (9.21) and fails at p = 0.95 (5.99).
    pa, pb = (A[0], A[1] + 3), (B[0], B[1] - 3)
    assert clf.predict(px(pa, pb), {1: 0.99, 2: 0.95}).tolist() == [1, 0]


def test_max_likelihood_rejects_levels_outside_0_1():
    clf = fit("max_likelihood")
    with pytest.raises(SatSegError, match="out of range"):
        clf.predict(px(A), 1.5)


# -- Parallelepiped: box per band; overlaps to the smallest standardized distance -------------
def test_parallelepiped_minmax_box_faces_are_inside():
    clf = fit("parallelepiped")
    inside_corner = px((A[0] + 1, A[1] - 1))                       # on two faces of a's box
    just_out = px((A[0] + 1.01, A[1]))
    assert clf.predict(inside_corner).tolist() == [1]
    assert clf.predict(just_out).tolist() == [0]
    assert clf.scores(inside_corner)[0, 0] == pytest.approx(np.sqrt(2), abs=1e-6)


def test_parallelepiped_sigma_threshold_replaces_box_per_class():
    clf = fit("parallelepiped")
    p_tie, p_out = px((A[0] + 2, A[1])), px((A[0] + 2.01, A[1]))    # z = 2 and 2.01 (σ = 1)
    assert clf.predict(p_tie).tolist() == [0]                       # outside the min/max box (m ± 1)
    assert clf.predict(p_tie, {1: 2.0}).tolist() == [1]             # inside m ± 2σ: tie accepted
    assert clf.predict(p_out, {1: 2.0}).tolist() == [0]
    # Direction: a bigger k accepts more; per-class k differ.
    pa, pb = (A[0], A[1] + 3), (B[0], B[1] - 3)
    assert clf.predict(px(pa, pb), {1: 2.5, 2: 3.5}).tolist() == [0, 2]
    assert clf.predict(px(pa, pb), {1: 3.5, 2: 2.5}).tolist() == [1, 0]
    sig = make_classifier("parallelepiped", box="sigma", k=2.0).fit(training())
    assert sig.predict(p_tie).tolist() == [1] and sig.predict(p_out).tolist() == [0]


def test_parallelepiped_overlap_goes_to_smallest_standardized_distance():
    wide = np.array([[4, 4], [4, -4], [-4, 4], [-4, -4], [0, 0]], float)   # σ = 4, box m ± 4
    X = np.vstack([np.asarray((0.0, 0.0)) + wide, np.asarray((5.0, 0.0)) + SPREAD]).astype(np.float32)
    td = TrainingData(X, np.repeat([1, 2], 5), [ClassInfo(1, "wide", "#000000"), ClassInfo(2, "narrow", "#000000")],
                      ["B1", "B2"], {1: 5, 2: 5})
    clf = make_classifier("parallelepiped").fit(td)
    # (4, 0): in both boxes; z_wide = 1, z_narrow = 1 -> tie goes to the first class.
    # (4.5, 0): z_wide = 1.125 > z_narrow = 0.5 -> narrow, though nearer the wide class's edge.
    assert clf.predict(px((3.9, 0.0), (4.5, 0.0))).tolist() == [1, 2]


# -- Random forest / SVM: reject k if p_k < t_k ---------------------------------------------
def test_probability_rule_hand_computed():
    clf = fit("random_forest", trees=5)
    P = np.array([[0.6, 0.5, 0.3], [0.4, 0.5, 0.7]], np.float32)   # (K, n) probabilities
    ev = Evaluation(-P)
    assert clf.decide(ev).tolist() == [1, 1, 2]                     # tie 0.5/0.5 -> first class
    assert clf.decide(ev, 0.5).tolist() == [1, 1, 2]                # p == t accepted
    assert clf.decide(ev, 0.65).tolist() == [0, 0, 2]
    assert clf.decide(ev, {1: 0.55, 2: 0.75}).tolist() == [1, 0, 0]  # per-class limits
    assert clf.decide(ev, {1: 0.7}).tolist() == [2, 2, 2]          # a rejected, b unlimited
    with pytest.raises(SatSegError, match="out of range"):
        clf.decide(ev, 1.2)


def test_random_forest_threshold_end_to_end_direction():
    clf = fit("random_forest", trees=20)
    near, between = px(A), px(((A[0] + B[0]) / 2, A[1]))
    proba = clf.scores(np.vstack([near, between]))
    assert proba[0, 0] > proba[1].max()
    labels = clf.predict(np.vstack([near, between]), float(proba[1].max()) + 0.01)
    assert labels[0] == 1 and labels[1] == 0


# -- Minimum distance and spectral angle ------------------------------------------------------
def test_min_distance_hand_computed():
    clf = fit("min_distance")
    p = px((A[0] + 3, A[1] + 4))                                   # Euclidean 5 from a's mean
    assert clf.scores(p)[0, 0] == pytest.approx(5.0, abs=1e-5)
    assert clf.predict(p, 5.0).tolist() == [1]                      # tie accepted
    assert clf.predict(p, 4.99).tolist() == [0]
    assert clf.predict(px((A[0], A[1] + 3), (B[0], B[1] - 3)), {1: 2.0, 2: 4.0}).tolist() == [0, 2]


def test_spectral_angle_hand_computed():
    spread = np.array([[0, 0.1], [0, -0.1], [0, 0], [0.1, 0], [-0.1, 0]], float)
    td = training(means=((1.0, 0.0), (0.0, 1.0)), spread=spread)
    clf = make_classifier("spectral_angle").fit(td)
    ang = 0.3
    p = px((2 * np.cos(ang), 2 * np.sin(ang)))                     # 0.3 rad from a, brightness irrelevant
    assert clf.scores(p)[0, 0] == pytest.approx(ang, abs=1e-5)
    assert clf.scores(p)[0, 1] == pytest.approx(np.pi / 2 - ang, abs=1e-5)
    assert clf.predict(p).tolist() == [1]
    assert clf.predict(p, 0.301).tolist() == [1]
    assert clf.predict(p, 0.299).tolist() == [0]
    assert clf.predict(p, {1: 0.299, 2: 1.3}).tolist() == [2]       # b at 1.27 rad accepted instead
    assert clf.predict(px((0.0, 0.0))).tolist() == [0]              # no angle for a zero spectrum


# -- shared checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["mahalanobis", "max_likelihood", "min_distance", "spectral_angle",
                                    "parallelepiped", "random_forest"])
def test_thresholds_off_by_default_and_unknown_class_named(method):
    clf = fit(method, **({"trees": 5} if method == "random_forest" else {}))
    p = px((A[0] + 0.5, A[1] + 0.5), (B[0] - 0.5, B[1]))
    assert clf.predict(p).tolist() == clf.predict(p, None).tolist() == clf.predict(p, {}).tolist() == [1, 2]
    with pytest.raises(SatSegError, match="unknown class 'water'"):
        clf.predict(p, {"water": 1.0})


def test_decide_reuses_an_evaluation_like_predict():
    clf = fit("mahalanobis")
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(500, 2)) * 6 + np.array([11, 5])).astype(np.float32)
    ev = clf.evaluate(X)
    for t in (None, 1.0, {1: 2.0}, {1: 3.0, 2: 0.5}):
        assert np.array_equal(clf.decide(ev, t), clf.predict(X, t))


# -- the Gaussian rules on a correlated, unequal covariance (Σ_a ≠ I ≠ Σ_b) ---------------------
# Class a's samples are SPREAD mapped by (x, y) -> (x + y, 2y): sample covariance exactly
# Σ_a = [[2, 2], [2, 4]], |Σ_a| = 4, Σ_a⁻¹ = [[1, −½], [−½, ½]]; class b keeps Σ_b = I.
# Σ instead of Σ⁻¹, a dropped log-determinant or equal covariances would all fail here.
CORR = SPREAD @ np.array([[1.0, 0.0], [1.0, 2.0]])


def corr_training(a=(0.0, 0.0), b=(3.0, 0.0)):
    X = np.vstack([np.asarray(a) + CORR, np.asarray(b) + SPREAD]).astype(np.float32)
    classes = [ClassInfo(1, "a", "#000000"), ClassInfo(2, "b", "#000000")]
    return TrainingData(X, np.repeat([1, 2], 5), classes, ["B1", "B2"], {1: 5, 2: 5})


def test_mahalanobis_hand_computed_with_a_correlated_covariance():
    clf = make_classifier("mahalanobis").fit(corr_training(b=(30.0, 0.0)))
    along, across = px((1.0, 2.0)), px((2.0, -2.0))      # both about √5–√8 from a's mean in plain distance
    # dᵀΣ⁻¹d: (1, 2) -> 1 − 2 + 2 = 1;  (2, −2) -> 4 + 4 + 2 = 10   (with Σ: 18 and 8)
    assert clf.scores(along)[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert clf.scores(across)[0, 0] == pytest.approx(np.sqrt(10), abs=1e-5)
    assert clf.predict(along, {1: 1.0}).tolist() == [1]              # D == T accepted
    assert clf.predict(along, {1: 0.99, 2: 0.5}).tolist() == [0]
    assert clf.predict(across, {1: 3.17, 2: 0.5}).tolist() == [1]    # √10 = 3.162
    assert clf.predict(across, {1: 3.15, 2: 0.5}).tolist() == [0]


def test_max_likelihood_hand_computed_with_unequal_covariances():
    clf = make_classifier("max_likelihood").fit(corr_training())
    p = px((1.4, 0.0))
    # D_a² = 1.96, D_b² = 2.56: Mahalanobis picks a; ML adds ln|Σ_a| = ln 4 = 1.386 to a's rank -> b.
    assert make_classifier("mahalanobis").fit(corr_training()).predict(p).tolist() == [1]
    assert clf.predict(p).tolist() == [2]
    g = clf.scores(p)[0]
    assert g[0] == pytest.approx(np.log(0.5) - 0.5 * np.log(4) - 0.5 * 1.96 - np.log(2 * np.pi), abs=1e-4)
    assert g[1] == pytest.approx(np.log(0.5) - 0.5 * 2.56 - np.log(2 * np.pi), abs=1e-4)
    # The chi-square rule uses D² of the class's own covariance: D_b² = 2.56 <= χ²_2(p) iff p >= 1 − e^−1.28.
    assert clf.predict(p, {2: chi2_2dof_level(2.57)}).tolist() == [2]
    assert clf.predict(p, {1: 0.5, 2: chi2_2dof_level(2.55)}).tolist() == [0]   # a: χ²_2(0.5) = 1.386 < 1.96
    assert clf.predict(p, {1: chi2_2dof_level(1.97), 2: chi2_2dof_level(2.55)}).tolist() == [1]
