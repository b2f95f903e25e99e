"""ClassesPanel drives the SampleModel: add/rename/recolour/delete, selection, role, undo."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from desktop_app.ui.classes_panel import COL_NAME, COL_PIXELS, COL_TRAIN, COL_VALID, ClassesPanel
from desktop_app.ui.sample_model import SampleModel

SQUARE = {"type": "Polygon", "coordinates": [[[77.0, 29.0], [77.01, 29.0], [77.01, 29.01], [77.0, 29.01], [77.0, 29.0]]]}


@pytest.fixture
def panel(qtbot):
    model = SampleModel()
    p = ClassesPanel(model)
    qtbot.addWidget(p)
    p._show_error = lambda text: setattr(p, "last_error", text)
    p._ask_class_name = lambda default: default   # the name dialog accepted as offered
    return p


def test_add_rename_via_table_and_counts(panel):
    m = panel.model
    a = panel.add_class()
    b = panel.add_class()
    assert [c.name for c in m.classes()] == ["class 1", "class 2"]
    assert m.current_class() == b and panel.selected_class() == b
    panel.table.item(panel.row_of(a), COL_NAME).setText("water")
    assert m.class_info(a).name == "water"
    # a duplicate name is refused and the cell shows the old name again
    panel.table.item(panel.row_of(b), COL_NAME).setText("water")
    assert m.class_info(b).name == "class 2"
    assert panel.table.item(panel.row_of(b), COL_NAME).text() == "class 2"
    m.add_polygon(SQUARE, a)
    m.add_polygon(SQUARE, a, role="validation")
    m.set_pixel_counts({a: 12345})
    row = panel.row_of(a)
    assert panel.table.item(row, COL_TRAIN).text() == "1"
    assert panel.table.item(row, COL_VALID).text() == "1"
    assert panel.table.item(row, COL_PIXELS).text() == "12,345"
    assert panel.table.item(panel.row_of(b), COL_PIXELS).text() == "–"


def test_selection_sets_current_class(panel):
    m = panel.model
    a = panel.add_class()
    panel.add_class()
    panel.table.selectRow(panel.row_of(a))
    assert m.current_class() == a


def test_recolor_delete_and_undo_action(panel):
    m = panel.model
    a = panel.add_class()
    m.add_polygon(SQUARE, a)
    panel._ask_color = lambda initial: "#123456"
    panel.recolor_selected()
    assert m.class_info(a).color == "#123456"
    panel.delete_selected()
    assert m.classes() == [] and m.polygons == {}
    assert panel.undo_action.isEnabled()
    panel.undo_action.trigger()
    assert m.class_info(a).color == "#123456" and len(m.polygons) == 1
    panel.undo_action.trigger()
    assert m.class_info(a).color != "#123456"
    panel.redo_action.trigger()
    assert m.class_info(a).color == "#123456"
    panel.undo_button.click()
    assert m.class_info(a).color != "#123456"
    assert panel.redo_button.isEnabled() and "recolour" in panel.redo_button.toolTip()
    panel.redo_button.click()
    assert panel.undo_action.shortcut().toString() == "Ctrl+Z"
    assert panel.redo_action.shortcut().toString() == "Ctrl+Shift+Z"


def test_drawing_role_toggle(panel, qtbot):
    assert panel.drawing_role() == "training"
    with qtbot.waitSignal(panel.drawing_role_changed) as blocker:
        panel.validation_radio.setChecked(True)
    assert panel.drawing_role() == "validation" and blocker.args == ["validation"]


def test_model_messages_shown(panel):
    panel.model.add_polygon(SQUARE)
    assert "Add a class first" in panel.status.text()
def test_import_error_is_a_message_not_a_crash(panel, tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text("{ not json")
    assert panel.import_from(str(bad)) is False
    assert "Could not import samples" in panel.last_error




def test_add_class_asks_for_the_name(panel):
    offered = []
    panel._ask_class_name = lambda default: offered.append(default) or "bright sand"
    cid = panel.add_class()
    assert offered == ["class 1"]                      # the default offered (selected) in the dialog
    assert panel.model.class_info(cid).name == "bright sand"   # what was typed, not appended to it
    panel._ask_class_name = lambda default: None       # Cancel: no class
    assert panel.add_class() == -1 and len(panel.model.classes()) == 1
