"""Projects through the window, and bad input that must end in a clear message, not a crash."""
import json

import numpy as np

from desktop_app.core import project as core_project
from ui_helpers import open_demo, run_and_wait, simulate_draw, snapshot


def _samples(win):
    return sorted((f["properties"]["class"], f["properties"]["role"], json.dumps(f["geometry"]))
                  for f in win.model.to_geojson()["features"])


def test_project_save_close_reopen_gives_the_same_samples_and_results(qtbot, make_window, tmp_path):
    win = make_window()
    open_demo(qtbot, win, size=300)
    win.model_panel.set_thresholds({"water": 4.0})
    assert run_and_wait(qtbot, win) == "done"
    win.layers_panel.set_opacity("mask-3", 0.4)
    samples, classes = _samples(win), win.model.classes()
    array = win.result.class_array.copy()
    areas = [(r.class_name, r.pixels) for r in win.result.areas.rows]
    folder = tmp_path / "proj"
    assert win.save_project(folder)
    assert (folder / core_project.MANIFEST_NAME).is_file() and (folder / "results" / "classes.tif").is_file()
    assert not win.is_dirty()
    win.close()

    again = make_window()
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert again.open_project(folder)
    assert _samples(again) == samples
    assert again.model.classes() == classes
    assert again.model_panel.thresholds() == {"water": 4.0}
    assert np.array_equal(again.result.class_array, array)
    assert [(r.class_name, r.pixels) for r in again.result.areas.rows] == areas
    assert abs(again.layers_panel.opacity("mask-3") - 0.4) < 1e-6
    snap = snapshot(qtbot, again)
    assert len(snap["polygons"]) == len(samples) and "mask-3" in snap["masks"]
    assert abs(snap["masks"]["mask-3"]["opacity"] - 0.4) < 1e-6
    assert not again.is_dirty()


def test_project_from_a_newer_version_is_refused_with_a_message(qtbot, window, tmp_path):
    folder = tmp_path / "future"
    folder.mkdir()
    (folder / core_project.MANIFEST_NAME).write_text(json.dumps(
        {"format": core_project.PROJECT_FORMAT, "version": core_project.PROJECT_VERSION + 1,
         "samples": {"type": "FeatureCollection", "features": []}}))
    window.model.add_class("kept")
    assert window.open_project(folder) is False
    level, text = window.messages[-1]
    assert level == "error" and "newer SatSeg" in text
    assert [c.name for c in window.model.classes()] == ["kept"]   # nothing lost


def test_autosave_and_recovery(qtbot, make_window, tmp_path):
    win = make_window()
    open_demo(qtbot, win, size=200)
    assert not win.is_dirty()          # opening the demo is not unsaved work
    win.model.add_class("extra")
    assert win.is_dirty()
    win.autosave()
    where = core_project.user_autosave_dir()
    assert (where / core_project.AUTOSAVE_NAME).is_file()
    # A "crash": the window goes away without saving.
    win._closed = True
    expected = _samples(win)
    win2 = make_window()
    from desktop_app.ui import project_io

    with qtbot.waitSignal(win2.project_loaded, timeout=60000):
        assert project_io.offer_recovery(win2, ask=lambda text: "Restore" in text)
    assert _samples(win2) == expected
    assert "extra" in [c.name for c in win2.model.classes()]


def test_drawing_outside_the_image_is_refused_with_a_message(qtbot, demo_window):
    win = demo_window
    n = len(win.model.polygons)
    far = {"type": "Polygon", "coordinates": [[[10.0, 50.0], [10.01, 50.0], [10.01, 50.01], [10.0, 50.0]]]}
    simulate_draw(qtbot, win, far)
    assert len(win.model.polygons) == n
    level, text = win.messages[-1]
    assert level == "warning" and "outside the image" in text
    assert not any(k.startswith("tmp-") for k in snapshot(qtbot, win)["polygons"])


def test_self_intersecting_polygon_gets_a_clear_message(qtbot, demo_window):
    win = demo_window
    n = len(win.model.polygons)
    # A bow-tie over the image centre.
    bowtie = {"type": "Polygon", "coordinates": [[[77.695, 29.465], [77.705, 29.475], [77.705, 29.465],
                                                  [77.695, 29.475], [77.695, 29.465]]]}
    win.map.bridge.receive(json.dumps({"type": "draw_created", "kind": "sample", "id": "tmp-x", "geometry": bowtie}))
    text = win.messages[-1][1]
    assert "was invalid (Self-intersection" in text and "repaired into 2 part(s)" in text, text
    assert len(win.model.polygons) == n + 1          # kept, as its two valid triangles
    pid = list(win.model.polygons)[-1]
    fixed = win.model.polygon(pid).geometry
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2


def test_running_with_one_class_explains_what_is_missing(qtbot, demo_window):
    win = demo_window
    for c in win.model.classes()[1:]:
        win.model.delete_class(c.id)
    outcome = run_and_wait(qtbot, win)
    assert outcome == "failed" and win.result is None
    level, text = win.messages[-1]
    assert level == "warning" and "at least two classes" in text and win.model.classes()[0].name in text
    assert win.model_panel.run_button.isEnabled() or len(win.model.classes()) < 2


def test_opening_a_corrupt_file_shows_an_error_and_keeps_the_current_image(qtbot, demo_window, tmp_path):
    win = demo_window
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00" + b"\x00garbage" * 50)
    doc = win.doc
    with qtbot.waitSignal(win.runner.task_finished, timeout=30000,
                          check_params_cb=lambda task, outcome: task.kind == "open") as sig:
        win.open_path(str(bad))
    assert sig.args[1] == "failed"
    level, text = win.messages[-1]
    assert level == "error" and "broken.tif" in text and "Traceback" not in text
    assert win.doc is doc


def test_window_layout_is_remembered(qtbot, make_window, tmp_path):
    from PySide6.QtCore import QSettings

    from desktop_app.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, quiet=True)
    win.show()
    win.docks["dock_bands"].hide()
    win.resize(1111, 777)
    win.close()
    assert not QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat).value("window/geometry").isEmpty()
    again = MainWindow(settings=QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat), quiet=True)
    again.show()
    try:
        assert again.docks["dock_bands"].isHidden()
    finally:
        again.close()


def test_fetched_imagery_is_copied_into_the_project_on_save(qtbot, window, tmp_path, monkeypatch):
    import desktop_app.core.online.fetch as fetch
    from desktop_app.core.demo_scene import make_demo_scene
    from desktop_app.core.geotiff import write_raster

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(fetch, "default_cache_dir", lambda: cache)
    image = cache / "fetched.tif"
    write_raster(image, make_demo_scene(size=120).image)
    with qtbot.waitSignal(window.image_displayed, timeout=60000):
        window.open_path(str(image))
    folder = tmp_path / "proj"
    assert window.save_project(folder)
    state = core_project.load_project(folder)
    assert state.image == str((folder / "imagery" / "fetched.tif").resolve())
    assert (folder / "imagery" / "fetched.tif").stat().st_size == image.stat().st_size


def test_missing_map_libraries_are_explained_not_a_crash(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    import desktop_app.ui.map_view as map_view
    from desktop_app.ui.main_window import MainWindow

    monkeypatch.setattr(map_view, "web_root", lambda: tmp_path / "no-web")
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), quiet=True)
    try:
        qtbot.waitUntil(lambda: any("map cannot be shown" in t for _, t in win.messages), timeout=5000)
        assert "make setup" in win.messages[-1][1]
    finally:
        win.close()
