"""The offline basemap (MBTiles/GeoPackage) in the window: the demo's shows in a --screenshot."""
import json

import numpy as np
from PIL import Image

from test_app_flags import _run


def test_demo_offline_basemap_appears_in_a_screenshot(tmp_path):
    from desktop_app.core.scale.demo_basemap import GROUND, HIGHWAY
    from desktop_app.core.classes import hex_to_rgb

    out = tmp_path / "shot.png"
    r = _run(["--demo", "--demo-size", "300", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    shot = np.asarray(Image.open(out).convert("RGB")).astype(int)
    place = [json.loads(line.split("image on screen: ", 1)[1])
             for line in r.stdout.splitlines() if "image on screen: " in line][-1]
    # Beside the image (left of it, same rows) the map shows the basemap's ground and roads,
    # not the empty map background.
    y0, y1 = int(place["y"]) + 20, int(place["y"] + place["height"]) - 20
    x1 = int(place["x"]) - 10
    strip = shot[y0:y1, max(0, x1 - 120):x1].reshape(-1, 3)
    assert len(strip) > 1000
    ground = (np.abs(strip - hex_to_rgb(GROUND)).sum(axis=1) < 12).mean()
    assert ground > 0.5, f"basemap ground on {ground:.0%} of the strip beside the image"
    assert (tmp_path / "home" / "cache" / "basemap" / "demo.mbtiles").is_file()


def test_a_file_that_is_not_a_basemap_is_refused_in_one_line(qtbot, window, tmp_path):
    from desktop_app.ui.basemap import add_offline_basemap

    bad = tmp_path / "roads.mbtiles"
    bad.write_bytes(b"not sqlite at all" * 10)
    add_offline_basemap(window, str(bad))
    qtbot.waitUntil(lambda: any("Cannot use the basemap" in t for _, t in window.messages), timeout=10000)
    text = [t for _, t in window.messages if "basemap" in t][-1]
    assert "not an MBTiles or GeoPackage file" in text and "\n" not in text


def test_the_offline_basemap_is_saved_with_the_project_and_a_missing_one_is_named(qtbot, make_window, tmp_path):
    from desktop_app.core import project as core_project
    from desktop_app.core.demo_scene import CENTER_LAT, CENTER_LON
    from desktop_app.core.scale.demo_basemap import write_demo_basemap
    from desktop_app.ui.basemap import add_offline_basemap
    from ui_helpers import open_demo, snapshot

    folder = tmp_path / "proj"
    (folder / "maps").mkdir(parents=True)
    roads = write_demo_basemap(folder / "maps" / "roads.mbtiles", CENTER_LON, CENTER_LAT, zooms=range(10, 11))
    win = make_window()
    open_demo(qtbot, win, size=200)
    win.model.add_class("extra")       # some work to save
    add_offline_basemap(win, str(roads))
    qtbot.waitUntil(lambda: win.document.basemap == str(roads), timeout=10000)
    assert win.is_dirty()
    assert win.save_project(folder)
    manifest = json.loads((folder / core_project.MANIFEST_NAME).read_text())
    assert manifest["basemap"] == "maps/roads.mbtiles"     # relative: the project folder can move
    win.close()

    again = make_window()
    with qtbot.waitSignal(again.project_loaded, timeout=60000):
        assert again.open_project(folder)
    qtbot.waitUntil(lambda: getattr(again, "offline_basemap", None) is not None
                    and again.offline_basemap.path == str(roads.resolve()), timeout=10000)
    assert snapshot(qtbot, again)["offlineBasemap"]
    assert not again.is_dirty() and again.document.basemap == str(roads.resolve())
    assert not [t for level, t in again.messages if level in ("warning", "error")]
    again.close()

    roads.unlink()
    third = make_window()
    with qtbot.waitSignal(third.project_loaded, timeout=60000):
        assert third.open_project(folder)
    said = [t for level, t in third.messages if "offline basemap" in t]
    assert len(said) == 1 and "roads.mbtiles was not found" in said[0] and "\n" not in said[0]
    assert "extra" in [c.name for c in third.model.classes()]     # the project opened all the same
    assert third.doc is not None and third.doc.is_demo
