"""Controls that say what they do (issue 10, items 7, 10, 11; issue 9, item 10)."""
import json
import shutil

import numpy as np
import rasterio
from scipy import ndimage

from desktop_app.core.demo_scene import write_demo_scene
from desktop_app.ui.export_dialog import ExportOptions, suggested_name, with_extension
from desktop_app.ui.image_loading import open_error_text
from ui_helpers import open_demo, run_and_wait


def test_threshold_change_after_reopening_a_project_redecides(qtbot, make_window, tmp_path):
    win = make_window()
    open_demo(qtbot, win, size=200)
    assert run_and_wait(qtbot, win) == "done"
    assert win.save_project(tmp_path / "proj")
    win.close()

    again = make_window()
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert again.open_project(tmp_path / "proj")
    assert again.result is not None and again.result.classifier is None   # restored, not refitted
    assert again.result.areas.unclassified.pixels == 0
    with qtbot.waitSignal(again.classification_finished, timeout=60000) as sig:
        again.model_panel.set_thresholds({c.name: 1.0 for c in again.model.classes()})
    assert sig.args[0] == "done"
    # Trained once from the samples, then the strict thresholds leave pixels unclassified.
    qtbot.waitUntil(lambda: again.result.areas.unclassified.pixels > 0 and not again.runner.busy(), timeout=60000)
    assert again.result.classifier is not None
    assert again.result.request.thresholds == {c.name: 1.0 for c in again.model.classes()}


def test_moved_project_image_can_be_located(qtbot, make_window, tmp_path):
    write_demo_scene(tmp_path / "scene", size=120)
    image = tmp_path / "scene" / "scene.tif"
    win = make_window()
    with qtbot.waitSignal(win.image_displayed, timeout=60000):
        win.open_path(str(image))
    assert win.save_project(tmp_path / "proj")
    win.close()
    moved = tmp_path / "elsewhere" / "scene.tif"
    moved.parent.mkdir()
    shutil.move(image, moved)

    again = make_window()
    asked = []
    again.locate_missing_image = lambda missing: asked.append(missing) or str(moved)
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        again.open_project(tmp_path / "proj")
    assert asked == [str(image)]
    assert again.doc is not None and again.doc.path == str(moved)
    assert again.is_dirty()                                      # the new place is saved on the next save
    assert not any(lvl == "warning" and "was not found" in text for lvl, text in again.messages)


def test_importing_samples_that_miss_the_image_warns(qtbot, demo_window, tmp_path):
    win = demo_window
    fc = win.model.to_geojson()
    for f in fc["features"]:
        f["geometry"]["coordinates"] = [[[x + 5, y] for x, y in ring] for ring in f["geometry"]["coordinates"]]
    path = tmp_path / "far.geojson"
    path.write_text(json.dumps(fc))
    shown = []
    win.classes_panel._show_error = shown.append
    assert win.classes_panel.import_from(str(path))
    assert len(shown) == 1 and f"None of the {len(fc['features'])} imported polygons overlaps" in shown[0]


def test_messages_name_the_file_once_and_cancel_says_what_is_kept(qtbot, window, tmp_path):
    assert open_error_text("/d/x.tif", "/d/x.tif is not a GeoTIFF") == "Cannot open the image: /d/x.tif is not a GeoTIFF"
    assert open_error_text("/d/x.tif", "no such file") == "Cannot open /d/x.tif: no such file"
    bad = tmp_path / "bad.tif"
    bad.write_text("not an image")
    with qtbot.waitSignal(window.message_shown, timeout=30000):
        window.open_path(str(bad))
    level, text = window.messages[-1]
    assert level == "error" and text.count("bad.tif") == 1

    open_demo(qtbot, window, size=600)
    with qtbot.waitSignal(window.classification_finished, timeout=60000) as sig:
        window.run_classification()
        window.cancel_jobs()
    assert sig.args[0] == "cancelled" and window.result is None
    assert "previous result" not in window.status.currentMessage()


def _export_done(task, outcome):
    assert outcome == "done" or task.kind != "export", outcome
    return task.kind == "export"


def test_export_dialog_defaults_and_per_patch_output(qtbot, demo_window, tmp_path):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    assert suggested_name("geojson", "Demo scene (synthetic Sentinel-2 L2A, Muzaffarnagar)", "mahalanobis") == \
        "Demo-scene-synthetic-Sentinel-2-L2A-Muzaffarnagar-mahalanobis.geojson"
    assert suggested_name("geotiff", "scene.tif", "svm") == "scene-svm.tif"
    assert with_extension("/x/out", "kml") == "/x/out.kml" and with_extension("/x/out.kml", "kml") == "/x/out.kml"

    arr = win.result.class_array
    out = {}
    for name, opts in (("class", ExportOptions(str(tmp_path / "c.geojson"))),
                       ("patch", ExportOptions(str(tmp_path / "p.geojson"), per_patch=True)),
                       ("sieved", ExportOptions(str(tmp_path / "s.geojson"), min_area=20, per_patch=True))):
        win._ask_export_options = lambda kind, o=opts: o
        with qtbot.waitSignal(win.runner.task_finished, timeout=60000, check_params_cb=_export_done):
            win.export_dialog("geojson")
        out[name] = json.loads((tmp_path / opts.path.rsplit("/", 1)[-1]).read_text())["features"]
    present = [c.id for c in win.result.classes if (arr == c.id).any()]
    assert len(out["class"]) == len(present)                            # one MultiPolygon per class
    # One feature per patch: as many as 4-connected components per class (scipy, independently).
    four = ndimage.generate_binary_structure(2, 1)
    patches = sum(ndimage.label(arr == cid, structure=four)[1] for cid in present)
    assert len(out["patch"]) == patches > len(present)
    # Minimum patch size: fewer, and no feature under 20 pixels (100 m² each) of ground area.
    assert len(out["sieved"]) < len(out["patch"])


def test_geotiff_export_with_minimum_patch_size(qtbot, demo_window, tmp_path):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    win._ask_export_options = lambda kind: ExportOptions(str(tmp_path / "c.tif"), min_area=50)
    with qtbot.waitSignal(win.runner.task_finished, timeout=60000, check_params_cb=_export_done):
        win.export_dialog("geotiff")
    with rasterio.open(tmp_path / "c.tif") as ds:
        arr = ds.read(1)
    four = ndimage.generate_binary_structure(2, 1)
    for cid in np.unique(arr):
        labels, n = ndimage.label(arr == cid, structure=four)
        assert n == 0 or np.bincount(labels.ravel())[1:].min() >= 50
