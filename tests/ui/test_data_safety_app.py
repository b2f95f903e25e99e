"""Data safety in the app (docs/data-safety.md): exports to a folder, project saves on a full disk."""
import numpy as np

from ui_helpers import open_demo, run_and_wait


def test_export_to_a_folder_is_one_line_and_leaves_nothing(qtbot, demo_window, tmp_path):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    folder = tmp_path / "exports"
    folder.mkdir()
    for kind in ("geotiff", "geojson", "csv"):
        win.export_result(kind, str(folder))
        level, text = win.messages[-1]
        assert level == "error" and text.endswith(f"{folder}: it is a folder; give a file name")
        assert "\n" not in text and "IsADirectoryError" not in text
    assert not win.runner.busy("export") and list(tmp_path.rglob("*")) == [folder]


def test_a_project_save_on_a_full_disk_keeps_the_previous_project(qtbot, make_window, full_disk):
    win = make_window()
    open_demo(qtbot, win, size=120)
    assert run_and_wait(qtbot, win) == "done"
    folder = full_disk.dir / "project"
    assert win.save_project(folder)
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    saved = win.result.class_array.copy()
    win.model.add_class("later")
    full_disk.fill()
    with full_disk.limited():
        # the samples file of the demo scene alone needs more than the 8 KiB left
        assert not win.save_project(folder)
    level, text = win.messages[-1]
    assert level == "error" and text.startswith("The project was not saved: cannot write")
    assert win.is_dirty()                                       # the work is still unsaved
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before                                      # the previous project, byte for byte
    again = make_window()
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert again.open_project(folder)
    assert np.array_equal(again.result.class_array, saved) and "later" not in [c.name for c in again.model.classes()]
