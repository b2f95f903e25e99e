"""Polygon roles after drawing: hold-out in the model and panel, and the role popup on the map."""
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from desktop_app.ui.classes_panel import COL_TRAIN, COL_VALID, ClassesPanel
from desktop_app.ui.sample_model import SampleModel
from ui_helpers import run_js as _js
from ui_helpers import snapshot


def square(i: int, size: float = 0.002) -> dict:
    x, y = 77.0 + i * 0.01, 29.0
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


@pytest.fixture
def model(qapp):
    return SampleModel()


def filled(model: SampleModel, counts: dict) -> dict:
    """Classes named in ``counts`` with that many training polygons each; returns name -> id."""
    ids = {}
    n = 0
    for name, k in counts.items():
        ids[name] = model.add_class(name)
        for _ in range(k):
            model.add_polygon(square(n), ids[name])
            n += 1
    return ids


def test_hold_out_marks_a_share_per_class_and_keeps_one_training_polygon(model):
    ids = filled(model, {"water": 10, "urban": 3, "forest": 2, "barren": 1})
    changed_pids = []
    model.polygon_changed.connect(changed_pids.append)
    n = model.hold_out(0.3, seed=1)
    # round(0.3 * 10) = 3, round(0.3 * 3) = 1, 2 polygons -> 1 (one stays), a lone polygon is left alone.
    assert n == 3 + 1 + 1 == len(changed_pids)
    assert model.polygon_count(ids["water"], "validation") == 3
    assert model.polygon_count(ids["urban"], "validation") == 1
    assert model.polygon_count(ids["forest"], "validation") == 1
    assert model.polygon_count(ids["forest"], "training") == 1
    assert model.polygon_count(ids["barren"], "validation") == 0
    assert all(model.polygon(p).role == "validation" for p in changed_pids)


def test_hold_out_is_one_undo_step_and_seeded(model):
    filled(model, {"water": 10, "urban": 6})
    before = json.dumps(model.to_geojson(), sort_keys=True)
    steps = model.undo_stack.count()
    assert model.hold_out(0.5, seed=3) == 8
    assert model.undo_stack.count() == steps + 1
    first = set(model.polygon_ids(role="validation"))
    model.undo_stack.undo()
    assert json.dumps(model.to_geojson(), sort_keys=True) == before
    model.undo_stack.redo()
    assert set(model.polygon_ids(role="validation")) == first
    model.undo_stack.undo()
    assert model.hold_out(0.5, seed=3) == 8
    assert set(model.polygon_ids(role="validation")) == first          # same seed, same choice
    model.undo_stack.undo()
    model.hold_out(0.5, seed=4)
    assert set(model.polygon_ids(role="validation")) != first          # another seed, another choice


def test_hold_out_ignores_validation_polygons_and_refuses_bad_shares(model):
    ids = filled(model, {"water": 4})
    messages = []
    model.message.connect(messages.append)
    for bad in (0.0, 1.0, -0.2, 1.5):
        assert model.hold_out(bad) == 0
    assert "between 0 and 100" in messages[-1]
    assert model.polygon_count(ids["water"], "validation") == 0
    assert model.hold_out(0.5) == 2
    # The next hold-out takes a share of the 2 training polygons left, keeping one.
    assert model.hold_out(0.5) == 1
    assert model.polygon_count(ids["water"], "training") == 1
    steps = model.undo_stack.count()
    assert model.hold_out(0.5) == 0          # nothing left to move: no empty undo step either
    assert model.undo_stack.count() == steps
    assert "at least two training polygons" in messages[-1]


def test_panel_button_asks_the_share_and_reports_the_count(qtbot):
    model = SampleModel()
    panel = ClassesPanel(model)
    qtbot.addWidget(panel)
    assert not panel.hold_out_button.isEnabled()        # no polygons yet
    ids = filled(model, {"water": 10, "urban": 4})
    assert panel.hold_out_button.isEnabled()
    asked = []
    panel._ask_hold_out_percent = lambda: asked.append(1) or 20
    panel.hold_out_button.click()
    assert asked == [1]
    # 20 %: 2 of 10 water, 1 of 4 urban (round(0.8) = 1).
    assert model.polygon_count(ids["water"], "validation") == 2
    assert "3 polygon(s) are now validation" in panel.status.text()
    row = panel.row_of(ids["water"])
    assert panel.table.item(row, COL_TRAIN).text() == "8" and panel.table.item(row, COL_VALID).text() == "2"
    # Cancelling the dialog changes nothing.
    panel._ask_hold_out_percent = lambda: None
    panel.hold_out_button.click()
    assert len(model.polygon_ids(role="validation")) == 3


# ---------------------------------------------------------------- the map popup

SQUARE = {"type": "Polygon", "coordinates": [[[77.69, 29.46], [77.70, 29.46], [77.70, 29.47], [77.69, 29.47],
                                               [77.69, 29.46]]]}


def test_set_role_event_from_the_page_changes_the_model_and_the_map_style(qtbot, window):
    cid = window.model.add_class("wetland", "#00aaff")
    pid = window.model.add_polygon(SQUARE, cid)
    qtbot.waitUntil(lambda: pid in snapshot(qtbot, window)["polygons"], timeout=5000)
    assert snapshot(qtbot, window)["polygons"][pid]["dashArray"] is None       # training: solid
    window.map.bridge.receive(json.dumps({"type": "set_role", "id": pid, "role": "validation"}))
    assert window.model.polygon(pid).role == "validation"
    qtbot.waitUntil(lambda: snapshot(qtbot, window)["polygons"][pid]["dashArray"] == "6 4", timeout=5000)
    # An unknown role or polygon changes nothing.
    window.map.bridge.receive(json.dumps({"type": "set_role", "id": pid, "role": "testing"}))
    window.map.bridge.receive(json.dumps({"type": "set_role", "id": "nope", "role": "training"}))
    assert window.model.polygon(pid).role == "validation"
    # It is an ordinary model edit: Undo restores the role and the solid outline.
    window.model.undo_stack.undo()
    assert window.model.polygon(pid).role == "training"
    qtbot.waitUntil(lambda: snapshot(qtbot, window)["polygons"][pid]["dashArray"] is None, timeout=5000)


def test_clicking_validation_in_the_real_popup_switches_the_role(qtbot, window):
    cid = window.model.add_class("paddy <b>fields</b>", "#33a02c")
    pid = window.model.add_polygon(SQUARE, cid)
    window.map.bridge.send("fit_bounds", bounds=[[29.46, 77.69], [29.47, 77.70]])
    qtbot.waitUntil(lambda: pid in snapshot(qtbot, window)["polygons"], timeout=5000)
    assert _js(qtbot, window, f"window.satseg.showRolePopup({json.dumps(pid)})") is True
    # The class name is shown as text (never parsed as HTML) and the current role is highlighted.
    assert _js(qtbot, window, "document.querySelector('.satseg-role-class').textContent") == "paddy <b>fields</b>"
    assert _js(qtbot, window, "document.querySelector('.satseg-role button.active').dataset.role") == "training"
    with qtbot.waitSignal(window.map.bridge.role_requested, timeout=5000) as sig:
        window.map.page().runJavaScript(
            "document.querySelector('.satseg-role button[data-role=validation]').click()")
    assert sig.args[0] == {"type": "set_role", "id": pid, "role": "validation"}
    assert window.model.polygon(pid).role == "validation"
    qtbot.waitUntil(lambda: snapshot(qtbot, window)["polygons"][pid]["role"] == "validation", timeout=5000)
    snap = snapshot(qtbot, window)
    assert snap["polygons"][pid]["dashArray"] == "6 4"
    # The popup closed (Leaflet fades it out before removing it).
    qtbot.waitUntil(lambda: _js(qtbot, window, "document.querySelectorAll('.satseg-role').length") == 0,
                    timeout=5000)
    # Back to training through the popup again.
    assert _js(qtbot, window, f"window.satseg.showRolePopup({json.dumps(pid)})") is True
    assert _js(qtbot, window, "document.querySelector('.satseg-role button.active').dataset.role") == "validation"
    with qtbot.waitSignal(window.map.bridge.role_requested, timeout=5000):
        window.map.page().runJavaScript("document.querySelector('.satseg-role button[data-role=training]').click()")
    assert window.model.polygon(pid).role == "training"
    assert window.map.guard.blocked == [] and window.map.bridge.errors == []


def test_no_popup_while_a_drawing_tool_is_active(qtbot, window):
    cid = window.model.add_class("water")
    window.model.set_current_class(cid)
    pid = window.model.add_polygon(SQUARE, cid)
    qtbot.waitUntil(lambda: pid in snapshot(qtbot, window)["polygons"], timeout=5000)
    window.start_draw("Polygon", "sample")
    qtbot.waitUntil(lambda: _js(qtbot, window, "window.satseg && true") is True, timeout=5000)
    assert _js(qtbot, window, f"window.satseg.showRolePopup({json.dumps(pid)})") is False
    window.map.bridge.send("stop_draw")
    qtbot.waitUntil(lambda: _js(qtbot, window, f"window.satseg.showRolePopup({json.dumps(pid)})") is True,
                    timeout=5000)


def test_status_names_the_drawing_class_when_the_user_picks_it_not_when_classes_load(qtbot, window):
    from desktop_app.core.classes import ClassInfo

    status, panel = window.status, window.classes_panel
    status.clearMessage()
    # a class list the app loads (a project, a SAM model's classes) is no drawing in progress
    window.model.from_geojson({"type": "FeatureCollection", "features": []},
                              classes=[ClassInfo(1, "water", "#1f78b4"), ClassInfo(2, "urban", "#e31a1c")])
    assert window.model.current_class() == 1 and status.currentMessage() == ""
    panel.table.selectRow(panel.row_of(2))           # the user picks a class, then a role
    assert status.currentMessage() == "Drawing training polygons for 'urban'"
    panel.validation_radio.setChecked(True)
    assert status.currentMessage() == "Drawing validation polygons for 'urban'"
