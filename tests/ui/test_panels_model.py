"""ModelPanel: method choice, options, per-class thresholds (debounced), run state."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import numpy as np
from types import SimpleNamespace

from desktop_app.core.classes import ClassInfo
from desktop_app.ui.model_panel import DEBOUNCE_MS, ModelPanel

CLASSES = [ClassInfo(1, "water", "#1f78b4"), ClassInfo(2, "urban", "#e31a1c"), ClassInfo(4, "forest", "#1b7837")]


@pytest.fixture
def panel(qtbot):
    p = ModelPanel()
    qtbot.addWidget(p)
    return p


def test_default_is_mahalanobis_with_rule_tooltip(panel):
    assert panel.method() == "mahalanobis"
    panel.set_classes(CLASSES)
    check, spin = panel._rows["water"]
    assert "D_k > T_k" in spin.toolTip() or "D_k > T" in spin.toolTip()
    assert "not squared" in spin.toolTip()
    assert "unclassified" in spin.toolTip()
    assert panel.thresholds() is None


def test_threshold_per_class_and_debounce(panel, qtbot):
    panel.set_classes(CLASSES)
    hits = []
    panel.thresholds_changed.connect(lambda: hits.append(1))
    check, spin = panel._rows["urban"]
    check.setChecked(True)
    assert hits == [1]               # the first change of a pause is applied at once (no wait)
    for v in (3.0, 3.5, 4.0, 4.5):   # a slider drag: many changes in a burst
        spin.setValue(v)
    assert hits == [1]
    # ... and the burst is gathered into one more signal at the end of the quiet period
    # (waited for, not slept: a loaded machine may fire the timer late), with nothing left pending.
    qtbot.waitUntil(lambda: len(hits) > 1, timeout=5000)
    assert hits == [1, 1] and not panel._pending and not panel._debounce.isActive()
    assert panel.thresholds() == {"urban": 4.5}


def test_one_value_for_all(panel, qtbot):
    panel.set_classes(CLASSES)
    panel.all_check.setChecked(True)
    panel.all_spin.setValue(7.25)
    assert panel.thresholds() == {"water": 7.25, "urban": 7.25, "forest": 7.25}
    panel.all_check.setChecked(False)
    # Unticking takes the thresholds away again (none were on before), rows editable again.
    check, spin = panel._rows["water"]
    assert check.isEnabled() and not check.isChecked() and not spin.isEnabled()
    assert panel.thresholds() is None


def test_unticking_all_restores_the_per_class_thresholds(panel, qtbot):
    panel.set_classes(CLASSES)
    check, spin = panel._rows["urban"]
    check.setChecked(True)
    spin.setValue(4.0)
    panel.all_check.setChecked(True)
    panel.all_spin.setValue(9.0)
    assert panel.thresholds() == {"water": 9.0, "urban": 9.0, "forest": 9.0}
    with qtbot.waitSignal(panel.thresholds_changed, timeout=2000):
        panel.all_check.setChecked(False)
    assert panel.thresholds() == {"urban": 4.0}


def test_method_switch_keeps_each_methods_thresholds(panel):
    panel.set_classes(CLASSES)
    panel.set_thresholds({"water": 4.0})
    panel.set_method("max_likelihood")
    assert panel.thresholds() is None
    _, spin = panel._rows["water"]
    assert spin.maximum() < 1.0           # a confidence level, not a distance
    assert "χ²" in spin.toolTip()
    panel.set_method("mahalanobis")
    assert panel.thresholds() == {"water": 4.0}


def test_set_classes_keeps_settings_of_remaining_classes(panel, qtbot):
    panel.set_classes(CLASSES)
    panel.set_thresholds({"forest": 2.5})
    qtbot.waitUntil(lambda: not panel._debounce.isActive(), timeout=5000)   # that change's quiet period ends
    with qtbot.assertNotEmitted(panel.thresholds_changed, wait=DEBOUNCE_MS * 2):
        panel.set_classes(CLASSES[1:] + [ClassInfo(5, "barren", "#bf812d")])
    assert panel.thresholds() == {"forest": 2.5}
    assert set(panel._rows) == {"urban", "forest", "barren"}
    with qtbot.waitSignal(panel.thresholds_changed, timeout=1000):
        panel.set_classes(CLASSES[:2])          # forest (with its threshold) deleted
    assert panel.thresholds() is None


def test_run_needs_two_classes_and_running_state(panel, qtbot):
    panel.set_classes(CLASSES[:1])
    assert not panel.run_button.isEnabled() and "at least two" in panel.hint.text()
    panel.set_classes(CLASSES)
    assert panel.run_button.isEnabled()
    with qtbot.waitSignal(panel.run_requested):
        panel.run_button.click()
    panel.set_running(True)
    assert not panel.run_button.isEnabled() and not panel.method_combo.isEnabled()
    panel.set_running(False)
    assert panel.run_button.isEnabled()


def test_options_and_state_round_trip(panel):
    panel.set_classes(CLASSES)
    panel.set_method("parallelepiped")
    assert "k" not in panel.options()          # k only applies to the mean ± k·σ box
    panel.set_options({"box": "sigma", "k": 3.0})
    assert panel.options() == {"signatures": "per-class", "box": "sigma", "k": 3.0}
    panel.set_method("random_forest")
    assert panel.options() == {"trees": 100, "max_depth": None, "balanced": False}   # one default: core options.py
    panel.set_options({"trees": 50, "max_depth": 8, "balanced": False})
    panel.set_thresholds({"urban": 0.6})
    state = panel.state()
    other = ModelPanel()
    other.set_classes(CLASSES)
    other.set_state(state)
    assert other.state() == state


def test_every_core_method_offered_with_its_own_help(panel):
    from desktop_app.core.classifiers import METHODS, make_classifier

    assert list(panel.specs) == list(METHODS)
    for key, cls in METHODS.items():
        assert panel.specs[key].threshold_help == cls.threshold_help
        lo, hi = cls.threshold_range
        assert lo <= panel.specs[key].threshold_default <= hi
        panel.set_method(key)
        # The panel's option values must be accepted by the classifier's own fit.
        rng = np.random.default_rng(0)
        X = np.concatenate([rng.normal(0.1, 0.01, (30, 3)), rng.normal(0.3, 0.01, (30, 3))]).astype(np.float32)
        training = SimpleNamespace(X=X, y=np.repeat([1, 2], 30), classes=CLASSES[:2], band_names=["B2", "B3", "B4"])
        clf = make_classifier(key, **panel.options()).fit(training)
        assert list(clf.predict(X[[0, 59]])) == [1, 2]


def test_mahalanobis_start_value_follows_band_count(panel):
    from scipy.stats import chi2

    panel.set_classes(CLASSES)
    panel.set_thresholds({"water": 4.0})
    panel.set_band_count(10)
    expected = round(float(np.sqrt(chi2.ppf(0.999, 10))), 2)
    assert panel._rows["urban"][1].value() == expected          # switched-off rows get the suggestion
    assert panel.thresholds() == {"water": 4.0}                 # a value the user set is kept
    panel.set_method("random_forest")
    assert panel._rows["urban"][1].value() == 0.5
