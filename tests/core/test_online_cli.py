"""`satseg fetch` end to end against the loopback STAC server, and its one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from desktop_app.cli import main
from desktop_app.core.sources import open_image

from test_online_stac import BANDS, demo_catalog, roi_inside  # noqa: F401  (fixture)


def test_fetch_stac_writes_the_scene_and_resumes_from_cache(demo_catalog, tmp_path, capsys):
    server, scene, truth = demo_catalog
    roi = tmp_path / "roi.geojson"
    roi.write_text(json.dumps(roi_inside(scene.image.bounds, scene.image.crs)))
    out = tmp_path / "scene.tif"
    argv = ["fetch", "--source", "stac", "--roi", str(roi), "--start", "2024-03-01", "--end", "2024-03-31",
            "--bands", "B4,B3,B2,B8", "--scale", "20", "--composite", "least_cloudy", "--out", str(out),
            "--stac-url", server.url, "--cache-dir", str(tmp_path / "cache"), "--json"]
    assert main(argv) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["path"] == str(out) and info["scenes"] == ["S2_DEMO_A"] and info["pixel_size"] == 20
    assert info["tiles_fetched"] == info["tiles_total"] and not info["from_cache"]
    with open_image(out) as src:
        assert src.band_names == BANDS and src.res == (20.0, 20.0) and src.crs.to_epsg() == 32643
        r = src.read()
        assert src.metadata["SATSEG_SOURCE"] == "stac" and src.metadata["SATSEG_START"] == "2024-03-01"
    assert (~r.nodata_mask).mean() > 0.9 and np.isfinite(r.data).all()
    out.unlink()
    server.items.clear()  # a repeat is answered from the cache alone
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["from_cache"] and out.exists()


@pytest.mark.parametrize("extra, message", [
    (["--start", "2024-02-01", "--end", "2024-01-01"], "end date 2024-01-01 is before start date 2024-02-01"),
    (["--bands", "B4,B13"], "band\\(s\\) B13 not available"),
    (["--source", "earthengine", "--ee-key", "/nonexistent/key.json", "--ee-url", "http://127.0.0.1:9"],
     "offline|key file .* does not exist"),
])
def test_fetch_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, message):
    import re

    roi = tmp_path / "roi.geojson"
    roi.write_text(json.dumps({"type": "Polygon", "coordinates": [[[77.0, 28.5], [77.02, 28.5], [77.02, 28.52], [77.0, 28.5]]]}))
    argv = ["fetch", "--source", "stac", "--roi", str(roi), "--start", "2024-01-01", "--end", "2024-01-31",
            "--out", str(tmp_path / "x.tif"), "--cache-dir", str(tmp_path / "cache")] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("satseg: error: ") and "\n" not in err and re.search(message, err)
    assert not (tmp_path / "x.tif").exists()
