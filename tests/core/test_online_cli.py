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


# The CLI in a child process, talking to the Earth Engine test transport (earthengine-api's
# harness + the recorded-pixel fake of test_online_earthengine); one tile never answers.
_EE_CHILD = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import ee
from ee import apitestcase
import test_online_earthengine as T
from desktop_app.cli import main
from desktop_app.core.online import earthengine as E

scene, dn = T.make_demo_scene(size=256), None
names = scene.image.band_names
dn = np.rint(scene.image.data[[names.index(b) for b in T.BANDS]] * 10000).clip(1, 65535).astype(np.uint16)

class Reporting(T.FakeEarthEngine):
    def request(self, uri, method="GET", body=None, headers=None, **kw):
        if uri.split("?")[0].endswith("computePixels"):
            at = json.loads(body)["grid"]["affineTransform"]
            if (at["translateX"], at["translateY"]) in self.stall:
                print("stalled", flush=True)
        answer = super().request(uri, method, body, headers, **kw)
        if uri.split("?")[0].endswith("computePixels"):
            print("served", flush=True)
        return answer

harness = apitestcase.ApiTestCase()
harness.setUp()                                  # the library's offline initialisation
ee.data.computeValue = harness.old_compute_value
E.ensure_session = lambda *a, **k: None          # signed in already (no Google sign-in offline)
fake = Reporting(dn, scene.image.transform, T.BANDS)
fake.stall.add(tuple(json.loads(sys.argv[2])))
with apitestcase.UsingCloudApi(mock_http=fake):
    sys.exit(main(sys.argv[3:]))
'''


def test_one_ctrl_c_ends_the_fetch_exit_130_keeps_every_served_tile(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from desktop_app.core.demo_scene import make_demo_scene
    from desktop_app.core.online.fetch import FetchRequest, plan_fetch
    from desktop_app.core.online.roi import parse_roi
    from test_online_earthengine import BANDS as EE_BANDS, _roi

    scene = make_demo_scene(size=256)
    roi_obj = _roi(scene)
    roi = tmp_path / "roi.geojson"
    roi.write_text(json.dumps(roi_obj))
    grid = parse_roi(roi_obj).grid(10)
    stall = [grid.transform.c + 2 * 64 * 10, grid.transform.f]   # the third 64 px tile of the first row
    total = plan_fetch(FetchRequest(source="earthengine", roi=roi_obj, start="2024-01-01", end="2024-01-31",
                                    bands=EE_BANDS, tile_size=64)).tiles
    out, cache = tmp_path / "scene.tif", tmp_path / "cache"
    argv = ["fetch", "--source", "earthengine", "--roi", str(roi), "--start", "2024-01-01", "--end", "2024-01-31",
            "--bands", ",".join(EE_BANDS), "--tile-size", "64", "--workers", "2", "--out", str(out),
            "--cache-dir", str(cache)]
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    child = subprocess.Popen([sys.executable, "-c", _EE_CHILD, str(Path(__file__).parent), json.dumps(stall)] + argv,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    served = stalled = 0
    deadline = time.monotonic() + 60
    while served < total - 1 or not stalled:   # every tile but the stalled one answered
        line = child.stdout.readline()
        assert line and time.monotonic() < deadline, child.stderr.read()
        served += line.count("served")      # two worker threads may share a line
        stalled += line.count("stalled")
    # The last answer is "served" before the worker has cached it: wait for the file itself.
    def cached():
        return [p for p in cache.glob("tiles/*/*.npy") if not p.name.startswith(".")]   # not a .part file

    while len(cached()) < served and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=10)
    finally:
        child.kill()
    err = child.stderr.read()
    assert time.monotonic() - t0 < 4, err
    assert child.returncode == 130, err
    assert "satseg: cancelled" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    assert len(list(cache.glob("tiles/*/*.npy"))) == served == total - 1
