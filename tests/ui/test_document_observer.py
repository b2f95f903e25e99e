"""The window follows its Qt-free document: a change made only through ``core.document`` (no
widget touched) reaches the title, the Results and Layers panels and the Imagery panel's ROI line."""
from ui_helpers import run_and_wait

ROI = {"type": "Polygon", "coordinates": [[[0.0, 0.0], [0.01, 0.0], [0.01, 0.01], [0.0, 0.01], [0.0, 0.0]]]}


def test_document_changes_reach_the_window(qtbot, demo_window, tmp_path):
    win = demo_window
    doc = win.document
    title = win.doc.title
    win.dirty = False
    assert win.windowTitle() == f"SatSeg — {title}"
    doc.mark_dirty()
    assert win.windowTitle() == f"SatSeg — {title}*"
    doc.mark_saved()
    assert win.windowTitle() == f"SatSeg — {title}"
    doc.set_project_folder(tmp_path / "Farm survey")
    assert win.windowTitle() == "SatSeg — Farm survey"
    # A sample edit is unsaved work (the model's undo stack tells the document); undoing it is not.
    win.model.add_class("Quarry", "#aa5500")
    assert win.windowTitle() == "SatSeg — Farm survey*"
    win.model.undo_stack.undo()
    assert win.windowTitle() == "SatSeg — Farm survey"
    # The ROI line of the Imagery panel: about 1.11 km × 1.11 km at the equator.
    doc.set_roi(ROI)
    text = win.imagery_panel.roi_label.text()
    assert text.startswith("ROI: 1.2") and text.endswith("km²"), text
    assert win.windowTitle().endswith("*")
    doc.set_roi(None)
    assert win.imagery_panel.roi_label.text() == "No ROI drawn"
    # A result fills the Results and Layers panels; dropping it from the document empties them.
    win.model_panel.set_method("min_distance")
    assert run_and_wait(qtbot, win) == "done"
    masks = [k for k in win.layers_panel.rows if k.startswith("mask-")]
    assert masks and win.results_panel.areas_table.rowCount() > 0
    doc.set_result(None)
    assert not [k for k in win.layers_panel.rows if k.startswith("mask-")]
    assert win.results_panel.areas_table.rowCount() == 0
    assert not any(b.isEnabled() for b in win.results_panel.export_buttons.values())
    assert not win.analysis_tools.clean.apply_btn.isEnabled()
