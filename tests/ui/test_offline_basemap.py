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
