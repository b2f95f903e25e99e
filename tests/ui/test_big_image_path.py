"""Images too big to hold in memory: preview for the map, block-wise classification from disk."""
import json

import numpy as np

from desktop_app.core.demo_scene import CLASSES, make_demo_scene
from desktop_app.core.geotiff import write_raster
from ui_helpers import run_and_wait, snapshot


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
