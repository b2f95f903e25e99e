"""Fixtures for the window tests: one QApplication (pytest-qt), offscreen, QtWebEngine ready."""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
# The map page exposes window.satseg (snapshot, simulated drawing) only when asked (map_view.py).
os.environ["SATSEG_MAP_TEST_HOOKS"] = "1"

# QtWebEngine must be imported before the QApplication exists.
import PySide6.QtWebEngineWidgets  # noqa: E402,F401
from PySide6.QtCore import QSettings  # noqa: E402

PAGE_TIMEOUT_MS = 20000


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Factory: a quiet MainWindow whose map page is loaded and whose bridge is ready."""
    from desktop_app.ui.main_window import MainWindow

    made = []

    def make(**kw):
        settings = QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, quiet=True, **kw)
        win.resize(1280, 800)
        win.show()
        qtbot.waitUntil(lambda: win.map.bridge.is_ready, timeout=PAGE_TIMEOUT_MS)
        made.append(win)
        return win

    yield make
    for win in made:
        if not win._closed:
            win.dirty = False
            win.model.mark_saved()
            win.close()
        win.map.shutdown()   # also for windows a test "crashed" without closing
        qtbot.wait(10)


@pytest.fixture
def window(make_window):
    return make_window()


from ui_helpers import open_demo  # noqa: E402


@pytest.fixture
def demo_window(qtbot, window):
    return open_demo(qtbot, window)
