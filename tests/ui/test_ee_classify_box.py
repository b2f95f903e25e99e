"""The 'on Earth Engine' choice beside Run classification."""
from desktop_app.core.classes import ClassInfo
from desktop_app.core.samples import SampleSet
from desktop_app.ui.ee_classify_box import ee_thresholds


def test_choice_sits_on_the_run_row_and_needs_a_roi(qtbot, demo_window, tmp_path):
    win = demo_window
    run, choice = win.model_panel.run_button, win.ee_choice
    assert choice.isVisible() and choice.text() == "on Earth Engine"
    assert abs(choice.geometry().center().y() - run.geometry().center().y()) <= 4   # same row
    assert choice.geometry().left() > run.geometry().right()
    win.grab().save(str(tmp_path / "window.png"))
    choice.setChecked(True)
    assert not win.roi
    started = []
    win.runner.start = lambda kind, *a, **k: started.append(kind)
    run.click()
    assert win.messages[-1][0] == "warning" and "region of interest" in win.messages[-1][1]
    assert not started   # nothing ran locally either
    choice.setChecked(False)


def test_panel_thresholds_become_the_engine_s():
    classes = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "water", "#0000ff")]
    samples = SampleSet([], classes)
    assert ee_thresholds(None, samples) is None
    assert ee_thresholds({"crop": 0.7, "water": 0.7}, samples) == 0.7
    assert ee_thresholds({"water": 3.0}, samples) == {2: 3.0}
