"""The user's path through the window: draw samples, classify, look at masks, read areas."""
import json

import numpy as np

from ui_helpers import run_and_wait, simulate_draw, snapshot


def _demo_training(win, classes=("water", "agriculture", "forest"), per_class=3):
    feats = [f for f in win.doc.samples["features"] if f["properties"]["role"] == "training"]
    out = {}
    for name in classes:
        out[name] = [f["geometry"] for f in feats if f["properties"]["class"] == name][:per_class]
    return out


def test_draw_classify_masks_opacity_areas(qtbot, demo_window):
    win = demo_window
    polys = _demo_training(win)
    win.model.clear()
    qtbot.waitUntil(lambda: snapshot(qtbot, win)["polygons"] == {}, timeout=5000)
    colors = {"water": "#1f78b4", "agriculture": "#a6d854", "forest": "#1b7837"}
    for name, geoms in polys.items():
        cid = win.model.add_class(name, colors[name])
        win.model.set_current_class(cid)
        for g in geoms:
            simulate_draw(qtbot, win, g)
    qtbot.waitUntil(lambda: len(win.model.polygons) == 9, timeout=5000)
    snap = snapshot(qtbot, win)
    assert sorted(p["color"] for p in snap["polygons"].values()) == sorted([c for c in colors.values()] * 3)

    assert run_and_wait(qtbot, win) == "done"
    res = win.result
    assert [c.name for c in res.classes] == ["water", "agriculture", "forest"]
    assert set(np.unique(res.class_array)) <= {1, 2, 3}          # every pixel went to a class
    # One overlay per class; no 'Unclassified' layer (or map overlay) when no pixel is unclassified.
    ids = {f"mask-{c.id}" for c in win.model.classes()}
    snap = snapshot(qtbot, win)
    assert set(snap["masks"]) == ids
    assert "mask-0" not in win.layers_panel.rows and win.result.areas.unclassified.pixels == 0
    assert [i["name"] for i in win.legend_items()] == ["water", "agriculture", "forest"]
    assert all(m["visible"] for k, m in snap["masks"].items())
    water = f"mask-{win.model.class_by_name('water').id}"
    url_before = snap["masks"][water]["url"]

    # Opacity and visibility change on the map at once, with no job and no new picture.
    # The drawing's own spectra job (debounced, then read off the UI thread) may still be
    # running after the fast classification: let it end first so that any job seen below is ours.
    qtbot.waitUntil(lambda: not win._signature_timer.isActive() and not win.runner.busy(), timeout=30000)
    started = []
    record = started.append
    win.runner.task_started.connect(record)
    win.layers_panel.set_opacity(water, 0.25)
    win.layers_panel.set_visible(f"mask-{win.model.class_by_name('forest').id}", False)
    snap = snapshot(qtbot, win)
    win.runner.task_started.disconnect(record)
    assert [t.label for t in started] == [] and not win.runner.busy()
    assert abs(snap["masks"][water]["opacity"] - 0.25) < 1e-6
    assert snap["masks"][f"mask-{win.model.class_by_name('forest').id}"]["visible"] is False
    assert snap["masks"][water]["url"] == url_before
    assert win.result is res

    # The area table is filled: one row per class plus totals, areas add up to the image.
    table = win.results_panel.areas_table
    names = [table.item(r, 0).text() for r in range(table.rowCount()) if table.item(r, 0)]
    assert {"water", "agriculture", "forest"} <= set(names)
    total_m2 = sum(r.area_m2 for r in res.areas.rows)
    assert abs(total_m2 - 300 * 300 * 100) / (300 * 300 * 100) < 0.01   # 10 m pixels, ellipsoidal areas


def test_threshold_change_repredicts_without_refitting(qtbot, demo_window):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    first = win.result
    assert first.areas.unclassified.pixels == 0
    name = first.classes[0].name
    with qtbot.waitSignal(win.classification_finished, timeout=60000) as sig:
        win.model_panel.set_thresholds({c.name: 1.0 for c in first.classes})   # very strict: most pixels rejected
    assert sig.args[0] == "done"
    second = win.result
    assert second is not first
    assert second.classifier is first.classifier                # same fitted model: no refit
    assert second.refit is False
    assert second.score_cache is first.score_cache              # re-decided from kept scores: no read
    assert second.areas.unclassified.pixels > 0
    assert second.request.thresholds[name] == 1.0
    # The unclassified overlay is on the map and can be hidden.
    win.layers_panel.set_visible("mask-0", False)
    assert snapshot(qtbot, win)["masks"]["mask-0"]["visible"] is False


def test_status_bar_shows_coordinates_crs_and_pixel_values(qtbot, demo_window):
    win = demo_window
    lon, lat = 77.70, 29.47
    win.map.bridge.receive(json.dumps({"type": "cursor", "lat": lat, "lon": lon}))
    text = win.status.coords.text()
    assert "29.47000" in text and "77.70000" in text and "EPSG:32643" in text
    values = win.status.values.text()
    assert values.startswith("px ") and "B4" in values
    win.map.bridge.receive(json.dumps({"type": "cursor"}))
    assert win.status.coords.text() == ""


def test_recolouring_a_class_redraws_its_mask_without_rerunning(qtbot, demo_window):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    res = win.result
    water = win.model.class_by_name("water")
    before = snapshot(qtbot, win)["masks"][f"mask-{water.id}"]["url"]
    with qtbot.waitSignal(win.runner.task_finished, timeout=30000,
                          check_params_cb=lambda task, outcome: task.kind == "recolor"):
        win.model.recolor_class(water.id, "#00ffff")
    qtbot.waitUntil(lambda: snapshot(qtbot, win)["masks"][f"mask-{water.id}"]["url"] != before, timeout=5000)
    assert win.result is res and res.class_array is win.result.class_array
    assert win.model.polygons and snapshot(qtbot, win)["polygons"]


def test_display_and_classifier_bands_are_separate(qtbot, demo_window):
    win = demo_window
    bp = win.bands_panel
    assert bp.display_bands() == ["B4", "B3", "B2"]
    assert bp.classifier_bands() == win.doc.band_names
    with qtbot.waitSignal(win.image_displayed, timeout=30000):
        bp.display_preset.setCurrentText("False colour (B8/B4/B3)")
    assert bp.display_bands() == ["B8", "B4", "B3"]
    assert bp.classifier_bands() == win.doc.band_names          # untouched
    bp.set_classifier_bands(["B2", "B3", "B4", "B8", "B11", "B12"])
    assert run_and_wait(qtbot, win) == "done"
    assert win.result.classifier.band_names == ["B2", "B3", "B4", "B8", "B11", "B12"]


def test_export_buttons_write_files(qtbot, demo_window, tmp_path):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    for kind, name in (("csv", "areas.csv"), ("geotiff", "classes.tif"), ("geojson", "classes.geojson"),
                       ("kml", "classes.kml")):
        with qtbot.waitSignal(win.runner.task_finished, timeout=60000,
                              check_params_cb=lambda task, outcome: task.kind == "export") as sig:
            win.export_result(kind, str(tmp_path / name))
        assert sig.args[1] == "done", win.messages[-1]
        assert (tmp_path / name).stat().st_size > 100
    assert "water" in (tmp_path / "areas.csv").read_text()
