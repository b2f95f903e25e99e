"""The window at 1366 × 768: the map gets the room, every panel is reachable, the map has a legend."""
import argparse
import json

import pytest
from PySide6.QtWidgets import QScrollArea

from desktop_app.ui.app import parse_args, window_size
from ui_helpers import open_demo, run_and_wait

LAPTOP = (1366, 768)


def _js(qtbot, win, expr):
    box = {}
    win.map.page().runJavaScript(expr, 0, lambda v: box.setdefault("v", v))
    qtbot.waitUntil(lambda: "v" in box, timeout=5000)
    return box["v"]


@pytest.fixture
def laptop(qtbot, demo_window):
    win = demo_window
    win.resize(*LAPTOP)
    qtbot.waitUntil(lambda: win.width() == LAPTOP[0], timeout=5000)
    qtbot.wait(50)
    return win


def test_the_map_takes_most_of_a_laptop_window(laptop):
    win = laptop
    m = win.map.geometry()
    assert m.width() * m.height() > 0.55 * win.width() * win.height()
    assert m.width() > 0.6 * win.width() and m.height() > 0.85 * win.height()
    assert not win.docks["dock_spectra"].isVisible()        # a toggle, off until asked for


def test_every_panel_is_a_tab_and_fits_its_width(qtbot, laptop):
    win = laptop
    names = ["dock_imagery", "dock_bands", "dock_classes", "dock_model", "dock_results", "dock_layers"]
    for name in names:
        win.show_panel(name)
        qtbot.wait(20)
        dock = win.docks[name]
        assert dock.isVisible() and not dock.visibleRegion().isEmpty(), name
        scroll = dock.widget()
        assert isinstance(scroll, QScrollArea)
        # Nothing is cut off sideways (no horizontal scrolling): the panel's minimum fits the tab.
        assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width(), name
    # A new feature's panel becomes one more tab of the same group.
    from PySide6.QtWidgets import QLabel

    extra = win.add_panel("dock_extra", "Extra", QLabel("new panel"))
    qtbot.waitUntil(lambda: extra in win.tabifiedDockWidgets(win.docks["dock_imagery"]), timeout=2000)


def test_class_table_threshold_rows_and_area_columns_are_legible(qtbot, laptop):
    win = laptop
    assert len(win.model.classes()) == 5
    win.show_panel("dock_classes")
    qtbot.wait(20)
    t = win.classes_panel.table
    assert t.rowCount() == 5
    last = t.visualRect(t.model().index(4, 1))
    assert last.bottom() <= t.viewport().height()            # all 5 classes without scrolling

    win.show_panel("dock_model")
    qtbot.wait(20)
    panel = win.model_panel
    scroll = win.docks["dock_model"].widget()
    checks = [check for check, _spin in panel._rows.values()]
    assert len(checks) == 5
    for check in checks + [panel.run_button, panel.rule_button]:
        top = check.mapTo(scroll.widget(), check.rect().topLeft()).y()
        assert top + check.height() <= scroll.viewport().height(), check.text()
    # The long rule text is in the popover, not in the panel.
    assert "unclassified" in panel.rule_label.text() and not panel.rule_label.isVisible()

    assert run_and_wait(qtbot, win) == "done"
    win.show_panel("dock_results")
    qtbot.wait(20)
    at = win.results_panel.areas_table
    assert [at.horizontalHeaderItem(col).text() for col in (1, 2)] == ["km²", "%"]
    for col in (1, 2):
        r = at.visualRect(at.model().index(0, col))
        assert r.right() <= at.viewport().width()


def test_run_keeps_the_users_tab_and_the_legend_names_classes_as_text(qtbot, laptop):
    win = laptop
    win.show_panel("dock_model")
    cid = win.model.add_class("<img src=x onerror=alert(1)>", "#123456")
    assert cid != -1
    assert run_and_wait(qtbot, win) == "done"
    qtbot.wait(50)
    assert not win.docks["dock_model"].visibleRegion().isEmpty()     # Run did not raise Results
    assert win.docks["dock_results"].visibleRegion().isEmpty()
    names = [c.name for c in win.model.classes()]
    qtbot.waitUntil(lambda: json.loads(_js(qtbot, win, "JSON.stringify(Array.from(document.querySelectorAll("
                                                        "'.satseg-legend-name')).map(function (e) "
                                                        "{ return e.textContent; }))")) == names, timeout=5000)
    assert _js(qtbot, win, "document.querySelectorAll('.satseg-legend img').length") == 0
    colors = json.loads(_js(qtbot, win, "JSON.stringify(Array.from(document.querySelectorAll('.satseg-legend-swatch'))"
                                        ".map(function (e) { return getComputedStyle(e).backgroundColor; }))"))
    assert colors[-1] == "rgb(18, 52, 86)"


def test_window_size_flag():
    assert window_size("1366x768") == (1366, 768)
    assert parse_args(["--window-size", "800X600"]).window_size == (800, 600)
    for bad in ("1366", "axb", "10x10", "1366x"):
        with pytest.raises(argparse.ArgumentTypeError):
            window_size(bad)


def test_jobs_in_the_status_bar_never_resize_the_map(qtbot, laptop):
    # A resized map makes Chromium lay out and repaint on the UI thread: job progress must not.
    win = laptop
    # The demo's own background jobs (sample spectra) also write to the status bar: let them end.
    qtbot.waitUntil(lambda: not win.runner.busy(), timeout=60000)
    before = win.map.geometry()
    win.status.set_job("Reading sample spectra of a very long image name that goes on and on", 0.25, "reading")
    qtbot.wait(20)
    assert win.status.job_label.isVisible() and win.map.geometry() == before
    assert win.status.job_label.text().endswith("…")
    win.status.set_job("Classifying", 0.9)
    win.status.set_idle()
    qtbot.wait(20)
    assert not win.status.cancel.isVisible() and win.map.geometry() == before


def test_spectra_are_drawn_when_the_plot_is_shown(qtbot, laptop):
    win = laptop
    qtbot.waitUntil(lambda: win._pending_signatures is not None, timeout=30000)
    assert win.spectral_plot.curves == {}                  # hidden: nothing drawn yet
    win.docks["dock_spectra"].show()
    qtbot.waitUntil(lambda: len(win.spectral_plot.curves) == 5, timeout=5000)
    assert win._pending_signatures is None
    assert not win.spectral_plot.index_plot.isVisible()
    # A custom index band goes to the index plot (the window says which bands are indices), not the reflectance axis.
    from desktop_app.core.analysis.indices import parse_index_list

    win.analysis_tools.apply_indices(parse_index_list("WET=(B3-B12)/(B3+B12)"))
    qtbot.waitUntil(lambda: win.spectral_plot.index_bands == ["WET"], timeout=30000)
    assert "WET" not in win.spectral_plot.reflectance_bands and len(win.spectral_plot.index_points) == 5


def test_a_first_start_shows_the_image_panel(qtbot, window):
    assert not window.docks["dock_imagery"].visibleRegion().isEmpty()
    assert all(window.docks[n].visibleRegion().isEmpty() for n in window.docks if n != "dock_imagery")
