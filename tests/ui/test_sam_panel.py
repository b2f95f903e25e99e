"""The SAM-2 panel in the window: disabled without a model; refine, fine-tune (live loss plot),
segment and scores with the shrunk random-weight architecture; state saved in the project."""
import json

import pytest
import rasterio

from desktop_app.core.sam.runtime import OVERRIDES_ENV, SHRINK_OVERRIDES
from ui_helpers import open_demo, run_and_wait


@pytest.fixture
def sam_env(monkeypatch, tmp_path):
    import torch

    torch.set_num_threads(1)        # a shared test machine: see tests/core/sam/conftest.py
    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(OVERRIDES_ENV, " ".join(SHRINK_OVERRIDES))


def test_without_a_model_every_control_is_visible_but_disabled(qtbot, sam_env, make_window):
    win = make_window()
    p = win.sam_tools.panel
    win.show_panel("dock_sam")
    assert p.hint.isVisible() and "checkpoint" in p.hint.text() and "import" in p.hint.text()
    assert p.import_btn.isEnabled()
    for w in (p.refine_btn, p.finetune_btn, p.segment_btn, p.recipe, p.window_px, p.model_combo):
        assert w.isVisible() and not w.isEnabled()
    qtbot.waitUntil(lambda: p.device_label.text() == "CPU", timeout=60000)


def test_refine_finetune_segment_and_scores(qtbot, sam_env, make_window, monkeypatch, tmp_path):
    monkeypatch.setenv("SATSEG_SAM_RANDOM_INIT", "1")
    win = open_demo(qtbot, make_window(), size=256)
    tools, p = win.sam_tools, win.sam_tools.panel
    assert p.random_init() and "demonstration" in p.hint.text()
    assert not p.refine_btn.isEnabled()             # nothing to refine before a classification
    assert run_and_wait(qtbot, win) == "done"
    classifier = win.result
    assert p.refine_btn.isEnabled()
    p.window_px.setValue(256)
    p.steps.setValue(12)
    p.iou_min.setValue(0.5)                         # the acceptance thresholds reach the core and the project
    p.agreement_min.setValue(0.3)
    with qtbot.waitSignal(win.runner.task_finished, timeout=300000,
                          check_params_cb=lambda t, o: t.kind == "sam"):
        p.refine_btn.click()
    assert win.result.sam_kind == "refined" and win.result.original is classifier
    assert "RANDOM WEIGHTS" in p.refine_info.text()
    assert "prompts from the classifier scores" in p.refine_info.text()   # the kept scores, as logits
    assert p.show_combo.currentData() == "refined"
    assert win.document.sam.refined.endswith("refined.tif")
    with rasterio.open(win.document.sam.refined) as ds:
        tag = json.loads(ds.tags()["SATSEG_SAM"])
    assert (tag["iou_min"], tag["agreement_min"]) == (0.5, 0.3)
    # fine-tune: the loss plot fills step by step, then the image is segmented with the new model
    qtbot.waitUntil(p.finetune_btn.isEnabled, timeout=60000)
    outcomes = {}
    win.runner.task_finished.connect(lambda t, o: outcomes.setdefault(t.label, o))
    p.finetune_btn.click()
    qtbot.waitUntil(lambda: getattr(win.result, "sam_kind", None) == "segmented" or
                    any("failed" in m for _l, m in win.messages), timeout=300000)
    assert getattr(win.result, "sam_kind", None) == "segmented", win.messages
    # the fine-tuning task ends as done (not superseded by the Segment it starts)
    assert outcomes["Fine-tuning SAM-2"] == "done"
    assert len(p._loss["full"][1]) >= 5 and len(p._loss["tokens"][1]) >= 5
    assert win.document.sam.finetuned and win.document.sam.losses["full"]
    qtbot.waitUntil(lambda: p.table.columnCount() == 3, timeout=60000)
    t = p.table
    names = [t.horizontalHeaderItem(c).text().split("\n")[0] for c in range(3)]
    assert names == ["Classifier", "Refined", "Fine-tuned"]
    # one row per measure: OA, kappa and the IoU of every class, each the core's per-class value
    table = win.document.sam.scores
    classes = [c.name for c in classifier.classes]
    assert [t.verticalHeaderItem(r).text() for r in range(t.rowCount())] == \
        ["Overall acc.", "Kappa"] + [f"IoU {n}" for n in classes]
    for c, row in enumerate(table["rows"]):
        for r, n in enumerate(classes, start=2):
            v = row["iou"][n]
            assert t.item(r, c).text() == ("–" if v is None else f"{v:.3f}")
    assert "Best on the validation polygons" in p.best_label.text()
    # a SAM result scoring below the classifier is marked, never hidden: its column and a red line above
    rows = {r["result"]: r for r in table["rows"]}
    for c, key in enumerate(["classifier", "refined", "fine-tuned"]):
        assert ("(worse)" in t.horizontalHeaderItem(c).text()) == rows[key]["worse"]
    worse = [k for k in ("refined", "fine-tuned") if rows[k]["worse"]]
    assert p.scores.worse_label.isVisibleTo(p) == bool(worse)
    # the table shows every row without its own scrollbar
    assert t.height() >= t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(t.rowCount()))
    # back to the classifier's map, and the layers follow
    p.show_requested.emit("classifier")
    assert win.result is classifier
    # the SAM state is saved in the project and comes back
    folder = tmp_path / "proj"
    assert win.save_project(folder)
    win2 = make_window()
    with qtbot.waitSignal(win2.project_loaded, timeout=120000):
        assert win2.open_project(folder)
    s = win2.document.sam
    assert s.refined == win.document.sam.refined and s.finetuned == win.document.sam.finetuned
    assert s.window == 256 and s.steps == 12 and s.random_init and (s.iou_min, s.agreement_min) == (0.5, 0.3)
    assert (win2.sam_tools.panel.iou_min.value(), win2.sam_tools.panel.agreement_min.value()) == (0.5, 0.3)
    assert win2.sam_tools.panel.table.columnCount() == 3
    # a scene without classes or samples takes the fine-tuned model's classes (legend, class list)
    win.model.clear()
    with qtbot.waitSignal(win.runner.task_finished, timeout=300000,
                          check_params_cb=lambda t, o: t.label.startswith("Segmenting")):
        p.segment_btn.click()
    # the status bar says what happened, not "Drawing training polygons" for the classes the model brought
    assert win.status.currentMessage().startswith("Segmented ") and "RANDOM WEIGHTS" in win.status.currentMessage()
    assert [(c.id, c.name, c.color) for c in win.model.classes()] == \
        [(c.id, c.name, c.color) for c in classifier.classes]
    assert [i["name"] for i in win.legend_items()][:len(classifier.classes)] == [c.name for c in classifier.classes]
