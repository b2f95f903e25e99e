"""Map tiles that cost seconds (a zoomed-out view of a big file before its overviews exist) are drawn
on a slow lane of their own, so the full-resolution tiles on screen never wait behind them."""
import os
import threading

import numpy as np


def test_a_slow_tile_does_not_hold_up_the_others(qtbot):
    from desktop_app.ui.web_scheme import TILE_THREADS, WebSchemeHandler

    handler = WebSchemeHandler(os.getcwd())
    release, order = threading.Event(), []
    try:
        def slow(k):
            def work():
                release.wait(30)
                order.append(f"slow{k}")
            return work

        for k in range(TILE_THREADS + 1):      # more slow tiles than there are tile threads
            handler._push_tile(slow(k), "slow")
        for k in range(3):
            handler._push_tile(lambda k=k: order.append(f"fast{k}"), "fast")
        qtbot.waitUntil(lambda: len(order) == 3, timeout=10000)
        assert sorted(order) == ["fast0", "fast1", "fast2"]      # drawn while every slow one waits
    finally:
        release.set()
        handler.shutdown_tiles()


def test_tiles_of_a_file_without_overviews_are_slow_only_when_zoomed_out(tmp_path, monkeypatch):
    import rasterio
    from affine import Affine

    from desktop_app.core.scale import overviews, tiles
    from desktop_app.ui import pipeline

    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(overviews, "SMALLEST", 64)
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=600, height=600, count=3, dtype="uint16",
                       crs="EPSG:32643", transform=Affine(10, 0, 600000, 0, -10, 3300000), nodata=0,
                       tiled=True, blockxsize=256, blockysize=256) as ds:
        ds.write(np.full((3, 600, 600), 1200, np.uint16))
    monkeypatch.setattr(pipeline, "IN_MEMORY_BYTES", 0)      # read by block, shown as tiles
    doc = pipeline.open_image_doc(str(path))
    zoom = tiles.native_zoom(doc.transform, doc.crs, doc.width, doc.height)
    first = pipeline.tiled_image(doc, ["1", "2", "3"])
    assert first.needs_overviews
    assert first.renderer.slow(zoom - 2) and not first.renderer.slow(zoom - 1) and not first.renderer.slow(zoom)
    pipeline.build_overviews(doc)
    again = pipeline.tiled_image(doc, ["1", "2", "3"])     # the reduced levels exist: nothing is slow
    assert not again.needs_overviews and not again.renderer.slow(0)
    doc.close()
