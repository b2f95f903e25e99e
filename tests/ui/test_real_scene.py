"""The window on the real (decimated) Sentinel-2 L2A scene, when it is present."""
from ui_helpers import snapshot


def test_real_sentinel2_folder_opens_and_shows_on_the_map(qtbot, window, shared_scene):
    with qtbot.waitSignal(window.image_displayed, timeout=120000):
        window.open_path(str(shared_scene))
    doc = window.doc
    assert {"B2", "B3", "B4", "B8"} <= set(doc.band_names)
    assert window.bands_panel.display_bands() == ["B4", "B3", "B2"]
    snap = snapshot(qtbot, window)
    assert snap["image"] is not None and snap["image"]["visible"]
    # The overlay covers the scene's footprint (UTM 29N -> lon/lat), to within a pixel or two.
    from rasterio.transform import array_bounds

    from desktop_app.core.geo import bounds_to_wgs84

    west, south, east, north = map(float, snap["image"]["bounds"].split(","))
    w, s, e, n = bounds_to_wgs84(array_bounds(doc.height, doc.width, doc.transform), doc.crs)
    tol = 0.01   # degrees; the preview is decimated
    assert abs(west - w) < tol and abs(east - e) < tol and abs(south - s) < tol and abs(north - n) < tol
    assert window.map.guard.blocked == []
