"""Crash recovery through the window (docs/data-safety.md §4): restored work stays unsaved,
the project's saved result comes back, and a clean exit leaves no recovery offer."""
import numpy as np

from desktop_app.core import project as core_project
from desktop_app.ui import project_io
from ui_helpers import open_demo, run_and_wait


def _crash(win):
    """The window goes away without closing: what a crash leaves is its autosave."""
    win._closed = True


def test_recovered_project_is_unsaved_and_gets_its_saved_result_back(qtbot, make_window, tmp_path):
    win = make_window()
    open_demo(qtbot, win, size=200)
    assert run_and_wait(qtbot, win) == "done"
    folder = tmp_path / "field-survey"
    assert win.save_project(folder)
    saved = win.result.class_array.copy()
    win.model.add_class("new crop")          # work after the save ...
    win.autosave()
    _crash(win)                              # ... that only the autosave has

    again = make_window()
    asked = []
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert project_io.offer_recovery(again, folder, ask=lambda text: asked.append(text) or True)
    assert "new crop" in [c.name for c in again.model.classes()]
    assert again.is_dirty()                  # recovered work is not saved work
    assert again.result is not None and np.array_equal(again.result.class_array, saved)
    assert "project field-survey" in asked[0] and "the demo scene" in asked[0]
    again.close()                            # unattended close: the autosave stays, nothing is lost
    assert core_project.find_recovery(folder) is not None


def test_recovered_untitled_session_is_unsaved(qtbot, make_window):
    win = make_window()
    open_demo(qtbot, win, size=200)
    win.model.add_class("extra")
    win.autosave()
    _crash(win)
    again = make_window()
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert project_io.offer_recovery(again, ask=lambda text: "an untitled session" in text)
    assert "extra" in [c.name for c in again.model.classes()] and again.is_dirty()


def test_saving_then_closing_leaves_no_recovery_offer(qtbot, make_window, tmp_path):
    win = make_window()
    open_demo(qtbot, win, size=200)
    win.model.add_class("extra")
    win.autosave()                           # the untitled session's autosave, in the user folder
    assert core_project.find_recovery(core_project.user_autosave_dir()) is not None
    folder = tmp_path / "saved"
    assert win.save_project(folder)
    win.model.add_class("later")
    win.autosave()                           # now in the project folder
    assert win.save_project(folder)
    win.close()
    assert core_project.find_recovery(core_project.user_autosave_dir()) is None
    assert core_project.find_recovery(folder) is None


def test_opening_a_crashed_project_offers_its_autosave(qtbot, make_window, tmp_path):
    win = make_window()
    open_demo(qtbot, win, size=200)
    folder = tmp_path / "crashed"
    assert win.save_project(folder)
    win.model.add_class("unsaved class")
    win.autosave()
    _crash(win)
    again = make_window()                    # started without --project, then File > Open project
    asked = []
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert again.open_project(folder, ask=lambda text: asked.append(text) or True)
    assert asked and "project crashed" in asked[0]
    assert "unsaved class" in [c.name for c in again.model.classes()] and again.is_dirty()
