"""The 'on Earth Engine' choice beside Run classification."""
from desktop_app.core.classes import ClassInfo
from desktop_app.core.samples import SampleSet
from desktop_app.ui.ee_classify_box import ee_thresholds


def test_choice_sits_on_the_run_row_and_needs_a_roi(qtbot, demo_window, tmp_path):
    win = demo_window
    run, choice = win.model_panel.run_button, win.ee_choice
    assert choice.isVisible() and choice.text() == "on Earth Engine"
    assert abs(choice.geometry().center().y() - run.geometry().center().y()) <= 4   # same row
    assert choice.geometry().left() > run.geometry().right()
    win.grab().save(str(tmp_path / "window.png"))
    choice.setChecked(True)
    assert not win.roi
    started = []
    win.runner.start = lambda kind, *a, **k: started.append(kind)
    run.click()
    assert win.messages[-1][0] == "warning" and "region of interest" in win.messages[-1][1]
    assert not started   # nothing ran locally either
    # A method Earth Engine cannot run: the window names its own Method choice, not the command's --method.
    win.set_roi({"type": "Polygon", "coordinates": [[[77.7, 29.4], [77.8, 29.4], [77.8, 29.5], [77.7, 29.4]]]})
    panel = win.model_panel
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("svm"))
    run.click()
    level, text = win.messages[-1]
    assert level == "warning" and text.startswith("SVM (RBF) cannot run on Earth Engine; choose Random forest")
    assert "as the Method in the Model panel, or untick 'on Earth Engine'" in text and "--" not in text
    assert not started
    choice.setChecked(False)


def test_panel_thresholds_become_the_engine_s():
    classes = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "water", "#0000ff")]
    samples = SampleSet([], classes)
    assert ee_thresholds(None, samples) is None
    assert ee_thresholds({"crop": 0.7, "water": 0.7}, samples) == 0.7
    assert ee_thresholds({"water": 3.0}, samples) == {2: 3.0}


def _class_raster(path, doc, transform=None, classes=None):
    """A class raster on ``doc``'s grid (or another transform): class 1 left, class 2 right, a nodata corner."""
    import numpy as np

    from desktop_app.core.classes import write_class_raster

    arr = np.ones((doc.height, doc.width), np.uint8)
    arr[:, doc.width // 3:] = 2
    arr[:10, :10] = 255
    classes = classes or [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "water", "#0000ff")]
    write_class_raster(path, arr, transform or doc.transform, doc.crs, classes, {})
    return arr


def test_a_finished_earth_engine_raster_becomes_the_window_s_result(qtbot, demo_window, tmp_path):
    import numpy as np
    from pyproj import Geod

    from desktop_app.ui.ee_classify_box import show_class_raster

    win = demo_window
    doc = win.doc
    # Earth Engine's class ids are the samples' (1..K in sample order), so the raster carries the window's classes.
    classes = win.model.classes()
    arr = _class_raster(tmp_path / "ee.tif", doc, classes=classes[:2])
    show_class_raster(win, tmp_path / "ee.tif")     # what the Earth Engine job's on_done does with its output
    qtbot.waitUntil(lambda: win.result is not None and win.result.class_array is not None
                    and np.array_equal(win.result.class_array, arr), timeout=20000)
    res = win.result
    assert [c.name for c in res.classes] == [c.name for c in classes[:2]]
    assert {"mask-1", "mask-2"} <= set(win.layers_panel.rows)            # layers with opacity, as a local run
    from ui_helpers import snapshot

    from ui_helpers import run_js

    qtbot.waitUntil(lambda: len(snapshot(qtbot, win)["masks"]) >= 2, timeout=10000)   # on the Leaflet map
    qtbot.waitUntil(lambda: run_js(qtbot, win, "document.querySelectorAll('.leaflet-masks-pane img').length") >= 2,
                    timeout=10000)
    qtbot.wait(500)
    win.screen().grabWindow(win.winId()).save(str(tmp_path / "ee-result.png"))
    assert all(b.isEnabled() for b in win.results_panel.export_buttons.values())
    counts = {r.class_id: r.pixels for r in res.areas.rows}
    assert counts == {1: int((arr == 1).sum()), 2: int((arr == 2).sum())}
    # Areas against pyproj's geodesic area of one pixel (the demo scene is in a projected CRS; allow 1 %).
    from pyproj import Transformer

    t = doc.transform
    to_ll = Transformer.from_crs(doc.crs, "EPSG:4326", always_xy=True)
    r, c = doc.height // 2, doc.width // 2
    xs, ys = zip(*[t @ p for p in [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]])
    lon, lat = to_ll.transform(xs, ys)
    pixel_m2 = abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0])
    water = next(r for r in res.areas.rows if r.class_id == 2)
    assert abs(water.area_m2 - counts[2] * pixel_m2) / water.area_m2 < 0.01


def _mask_colours(overlay):
    """The RGB colours drawn in a mask PNG (its non-transparent pixels)."""
    import io

    import numpy as np
    from PIL import Image

    rgba = np.asarray(Image.open(io.BytesIO(overlay.png)).convert("RGBA"))
    drawn = rgba[rgba[..., 3] > 0][:, :3]
    return {tuple(int(v) for v in c) for c in np.unique(drawn, axis=0)}


def _rgb(color):
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def test_a_raster_on_another_grid_is_resampled_onto_the_image_for_display(qtbot, demo_window, tmp_path):
    import hashlib

    import numpy as np
    from affine import Affine
    from ui_helpers import run_js

    from desktop_app.core.classes import write_class_raster
    from desktop_app.ui.ee_classify_box import show_class_raster

    win = demo_window
    doc = win.doc
    t = doc.transform
    classes = win.model.classes()[:2]
    # Earth Engine's grid: pixels twice as large, its corner on the image's pixel (col 6, row 4).
    sh, sw = doc.height // 2 - 10, doc.width // 2 - 10
    rows, cols = np.indices((sh, sw))
    src = ((rows // 5 + cols // 7) % 3).astype(np.uint8)      # classes 1, 2 and unclassified 0
    src[:8, :8] = 255
    path = tmp_path / "ee_other_grid.tif"
    write_class_raster(path, src, Affine(2 * t.a, 0, t.c + 6 * t.a, 0, 2 * t.e, t.f + 4 * t.e), doc.crs, classes)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # Nearest neighbour by hand: image pixel (r, c) has its centre in EE pixel ((r + 0.5 - 4) / 2, (c + 0.5 - 6) / 2).
    r, c = np.indices((doc.height, doc.width))
    sr, sc = np.floor((r + 0.5 - 4) / 2).astype(int), np.floor((c + 0.5 - 6) / 2).astype(int)
    inside = (sr >= 0) & (sr < sh) & (sc >= 0) & (sc < sw)
    want = np.full((doc.height, doc.width), 255, np.uint8)
    want[inside] = src[sr[inside], sc[inside]]

    show_class_raster(win, path)
    qtbot.waitUntil(lambda: win.result is not None and win.result.class_array is not None
                    and np.array_equal(win.result.class_array, want), timeout=20000)
    qtbot.waitUntil(lambda: "shown resampled (nearest neighbour)" in win.messages[-1][1], timeout=5000)
    assert path.name in win.messages[-1][1] and "resampled" in win.statusBar().currentMessage()
    res = win.result
    assert {"mask-1", "mask-2", "mask-0"} <= set(win.layers_panel.rows)
    for k in classes:
        assert _mask_colours(res.overlays[k.id]) == {_rgb(k.color)}
    assert {r.class_id: r.pixels for r in res.areas.rows} == {1: int((want == 1).sum()), 2: int((want == 2).sum())}
    qtbot.waitUntil(lambda: run_js(qtbot, win, "document.querySelectorAll('.leaflet-masks-pane img').length") >= 2,
                    timeout=10000)
    qtbot.wait(300)
    win.screen().grabWindow(win.winId()).save(str(tmp_path / "ee-resampled.png"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest     # the saved file is untouched


def test_with_no_image_open_the_result_is_opened_as_the_image(qtbot, window, tmp_path):
    import numpy as np
    from affine import Affine
    from rasterio.crs import CRS

    from desktop_app.core.classes import write_class_raster
    from desktop_app.ui.ee_classify_box import show_class_raster

    win = window
    assert win.doc is None
    arr = np.ones((180, 240), np.uint8)
    arr[:, 100:] = 2
    arr[60:90, 20:50] = 0
    arr[:6, :6] = 255
    classes = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "water", "#0000ff")]
    path = tmp_path / "ee_alone.tif"
    write_class_raster(path, arr, Affine(10, 0, 500000, 0, -10, 3300000), CRS.from_epsg(32643), classes)
    show_class_raster(win, path)
    qtbot.waitUntil(lambda: win.doc is not None and win.result is not None
                    and np.array_equal(win.result.class_array, arr), timeout=20000)
    assert win.doc.path == str(path) and (win.doc.width, win.doc.height) == (240, 180)
    qtbot.waitUntil(lambda: "No image was open" in win.messages[-1][1], timeout=5000)
    res = win.result
    assert [c.name for c in res.classes] == ["crop", "water"]
    assert [(c.name, c.color) for c in win.model.classes()] == [("crop", "#00ff00"), ("water", "#0000ff")]  # legend
    assert {"mask-1", "mask-2", "mask-0"} <= set(win.layers_panel.rows)
    assert _mask_colours(res.overlays[1]) == {(0, 255, 0)} and _mask_colours(res.overlays[2]) == {(0, 0, 255)}
    qtbot.wait(500)
    win.screen().grabWindow(win.winId()).save(str(tmp_path / "ee-alone.png"))


def test_a_raster_that_misses_the_image_is_saved_and_said_so(qtbot, demo_window, tmp_path):
    from affine import Affine

    from desktop_app.ui.ee_classify_box import show_class_raster

    win = demo_window
    before = win.result
    t = win.doc.transform
    _class_raster(tmp_path / "far.tif", win.doc, Affine(t.a, t.b, t.c + 1e6, t.d, t.e, t.f))
    show_class_raster(win, tmp_path / "far.tif")
    qtbot.waitUntil(lambda: bool(win.messages) and "does not overlap the open image" in win.messages[-1][1], timeout=10000)
    assert win.messages[-1][0] == "warning" and "saved at" in win.messages[-1][1]
    assert win.result is before
