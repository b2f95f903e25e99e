"""Images too big to hold in memory: preview for the map, block-wise classification from disk."""
import json

import numpy as np

from desktop_app.core.demo_scene import CLASSES, make_demo_scene
from desktop_app.core.geotiff import write_raster
from ui_helpers import run_and_wait, run_js, snapshot


def test_disk_backed_image_classifies_like_the_in_memory_one(qtbot, make_window, tmp_path, monkeypatch):
    import desktop_app.ui.pipeline as pipeline

    scene = make_demo_scene(size=240)
    path = tmp_path / "scene.tif"
    write_raster(path, scene.image)
    fc = dict(scene.samples, classes=[c.to_dict() for c in CLASSES])

    results = {}
    for mode, limit in (("memory", pipeline.IN_MEMORY_BYTES), ("disk", 0)):
        monkeypatch.setattr(pipeline, "IN_MEMORY_BYTES", limit)
        win = make_window()
        with qtbot.waitSignal(win.image_displayed, timeout=60000):
            win.open_path(str(path))
        assert (win.doc.raster is None) == (mode == "disk")
        win.model.from_geojson(fc)
        assert run_and_wait(qtbot, win) == "done", win.messages[-1:]
        results[mode] = win.result.class_array
        assert snapshot(qtbot, win)["masks"]
        # The status bar reads pixel values from the file when the image is not in memory.
        win.map.bridge.receive(json.dumps({"type": "cursor", "lat": 29.47, "lon": 77.70}))
        assert "B4" in win.status.values.text()
    assert np.array_equal(results["memory"], results["disk"])
    assert set(np.unique(results["disk"])) <= {1, 2, 3, 4, 5}


def test_disk_backed_image_is_shown_as_full_resolution_tiles(qtbot, make_window, tmp_path, monkeypatch):
    """The page asks the satseg:// handler for tiles; they are drawn from the file, real pixels."""
    import desktop_app.ui.pipeline as pipeline
    from desktop_app.core.scale import tiles as core_tiles

    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(pipeline, "IN_MEMORY_BYTES", 0)
    from desktop_app.core.scale import overviews

    monkeypatch.setattr(overviews, "SMALLEST", 64)     # a 240 px image gets one reduced level (1:4)
    scene = make_demo_scene(size=240)
    path = tmp_path / "scene.tif"
    write_raster(path, scene.image)
    drawn = []
    real = core_tiles.ImageTiles.__call__

    def counting(self, z, x, y):
        png = real(self, z, x, y)
        drawn.append((z, png is not None))
        return png

    monkeypatch.setattr(core_tiles.ImageTiles, "__call__", counting)
    win = make_window()
    with qtbot.waitSignal(win.image_displayed, timeout=60000):
        win.open_path(str(path))
    qtbot.waitUntil(lambda: any(ok for _, ok in drawn), timeout=30000)
    assert snapshot(qtbot, win)["image"]["visible"]
    # Zoomed to the image's own pixels, the page asks for tiles at the image's native zoom.
    zoom = core_tiles.native_zoom(scene.image.transform, scene.image.crs, 240, 240)
    (s_, w_), (n_, e_) = win._last_image_bounds
    win.map.bridge.send("set_view", lat=(s_ + n_) / 2, lon=(w_ + e_) / 2, zoom=zoom)
    qtbot.waitUntil(lambda: any(z == zoom and ok for z, ok in drawn), timeout=30000)
    # The background job built reduced levels into the user cache, never beside the image.
    qtbot.waitUntil(lambda: not win.runner.busy(), timeout=60000)
    assert list((tmp_path / "home" / "cache" / "overviews").glob("*/x4.tif"))
    # Classified: every class mask is a tile layer too, drawn from the class array on demand.
    win.model.from_geojson(dict(scene.samples, classes=[c.to_dict() for c in CLASSES]))
    assert run_and_wait(qtbot, win) == "done", win.messages[-1:]
    masks = snapshot(qtbot, win)["masks"]
    assert masks and all("/tiles/mask-" in m["url"] for m in masks.values())
    qtbot.waitUntil(lambda: bool(run_js(qtbot, win, "document.querySelectorAll('.leaflet-masks-pane img').length")),
                    timeout=30000)
    before = {k: m["url"] for k, m in masks.items()}
    with qtbot.waitSignal(win.classification_finished, timeout=60000):
        win.model_panel.set_thresholds({c.name: 1.0 for c in win.result.classes})
    after = snapshot(qtbot, win)["masks"]
    assert all(after[k]["url"] != before[k] for k in before)       # re-decided: new versions of the tiles
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "scene.tif"]
