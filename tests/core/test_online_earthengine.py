"""Earth Engine source, offline: the earthengine-api test harness and recorded NPY answers.

`FakeEarthEngine` is the HTTP transport handed to `apitestcase.UsingCloudApi`:
every request goes through the real client (serialisation, discovery-built
REST calls, NPY decoding); the transport answers computePixels by cutting the
requested grid out of a known uint16 array (the demo scene as digital numbers)
and can fail chosen tiles with 429/5xx/400 or a dropped connection.
"""
from __future__ import annotations

import io
import json
import re
import threading
import time

import httplib2
import numpy as np
import pytest
from affine import Affine

import ee  # noqa: E402  (a project dependency; the tests use its offline harness)
from ee import apitestcase  # noqa: E402

from desktop_app.core.demo_scene import make_demo_scene  # noqa: E402
from desktop_app.core.errors import SatSegError, cli_text  # noqa: E402
from desktop_app.core.jobs import Cancelled, Job  # noqa: E402
from desktop_app.core.online import earthengine as E  # noqa: E402
from desktop_app.core.online.fetch import FetchRequest, fetch_imagery  # noqa: E402
from desktop_app.core.online.roi import parse_roi  # noqa: E402
from desktop_app.core.online.tile_runner import Backoff  # noqa: E402
from desktop_app.core.online.tiling import MAX_GRID_SIDE, MAX_REQUEST_BYTES, request_bytes  # noqa: E402
from desktop_app.core.sources import open_image  # noqa: E402

# ApiTestCase swaps this for a no-op and never puts it back; the deadline test needs the real one.
REAL_INSTALL_RESOURCE = ee.data._install_cloud_api_resource
BANDS = ["B4", "B3", "B2", "B8"]
SCENES = ["20240105T054221_20240105T054219_T43QGU", "20240110T054139_20240110T054141_T43QGU"]


def _ok(body: bytes, ctype: str):
    return httplib2.Response({"status": 200, "content-type": ctype}), body


def _error(status: int, message: str):
    body = json.dumps({"error": {"code": status, "message": message, "status": "ERR"}}).encode()
    return httplib2.Response({"status": status, "content-type": "application/json"}), body


class FakeEarthEngine:
    """httplib2.Http stand-in: answers value:compute and image:computePixels from a known array."""

    def __init__(self, world: np.ndarray, transform: Affine, bands: list[str], scenes=SCENES) -> None:
        self.world, self.transform, self.bands = world, transform, bands
        # The search answers [system:index, MGRS_TILE, cloud %] rows, least cloudy first.
        self.scenes = [s if isinstance(s, list) else [s, "43QGU", 10.0 * i] for i, s in enumerate(scenes)]
        self.stall: set = set()            # tile origins whose request never answers
        self.release = threading.Event()   # set at teardown so stalled threads end
        self.lock = threading.Lock()
        self.pixel_requests: list[dict] = []
        self.value_requests: list[dict] = []
        self.failures: dict[tuple[float, float], list] = {}  # (translateX, translateY) -> actions
        self.offline = False
        self.delay = 0.0

    def fail(self, tile_origin, *actions) -> None:
        self.failures[tile_origin] = list(actions)

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        if self.offline:
            raise ConnectionRefusedError(111, "Connection refused")
        payload = json.loads(body) if body else {}
        if uri.split("?")[0].endswith("value:compute"):
            with self.lock:
                self.value_requests.append(payload)
            return _ok(json.dumps({"result": list(self.scenes)}).encode(), "application/json")
        if not uri.split("?")[0].endswith("image:computePixels"):
            return _error(404, f"unexpected {uri}")
        grid = payload["grid"]
        at = grid["affineTransform"]
        key = (at["translateX"], at["translateY"])
        with self.lock:
            self.pixel_requests.append(payload)
            actions = self.failures.get(key)
            action = actions.pop(0) if actions else None
        if key in self.stall:
            self.release.wait(60)
            raise ConnectionResetError(104, "released at teardown")
        if self.delay:
            time.sleep(self.delay)
        if action == "drop":
            raise ConnectionResetError(104, "Connection reset by peer")
        if isinstance(action, tuple):
            return _error(*action)
        col, row = ~self.transform @ (at["translateX"], at["translateY"])
        col, row = int(round(col)), int(round(row))
        w, h = grid["dimensions"]["width"], grid["dimensions"]["height"]
        if col < 0 or row < 0 or col + w > self.world.shape[2] or row + h > self.world.shape[1]:
            return _error(400, "Requested grid lies outside the recorded scene.")
        rec = np.zeros((h, w), dtype=[(b, "<u2") for b in payload["bandIds"]])
        for b in payload["bandIds"]:
            rec[b] = self.world[self.bands.index(b), row:row + h, col:col + w]
        buf = io.BytesIO()
        np.save(buf, rec)
        return _ok(buf.getvalue(), "application/octet-stream")


@pytest.fixture(scope="module")
def demo():
    scene = make_demo_scene(size=256)
    names = scene.image.band_names
    dn = np.rint(scene.image.data[[names.index(b) for b in BANDS]] * 10000).clip(1, 65535).astype(np.uint16)
    return scene, dn


def _roi(scene):
    """A rectangle well inside the demo scene, in lon/lat (a slightly rotated square on the UTM grid)."""
    from shapely.geometry import box, mapping

    from desktop_app.core.geo import WGS84, transform_geometry

    b = scene.image.bounds
    return mapping(transform_geometry(box(b[0] + 300, b[1] + 250, b[2] - 260, b[3] - 310), scene.image.crs, WGS84))


class _Harness(apitestcase.ApiTestCase):
    """ApiTestCase with computeValue going through the mocked HTTP transport too."""

    def setUp(self):
        super().setUp()
        ee.data.computeValue = self.old_compute_value

    @pytest.fixture(autouse=True)
    def _inject(self, demo, tmp_path):
        self.scene, self.dn = demo
        self.tmp = tmp_path
        self.sleeps = []

    def fake(self):
        return FakeEarthEngine(self.dn, self.scene.image.transform, BANDS)

    def request(self, **kw):
        args = dict(source="earthengine", roi=_roi(self.scene), start="2024-01-01", end="2024-01-31", bands=BANDS,
                    scale=10, tile_size=64, workers=3)
        args.update(kw)
        return FetchRequest(**args)

    def run_fetch(self, fake, request=None, job=None, attempts=4):
        backoff = Backoff(attempts=attempts, base=0.01, sleep=self.sleeps.append)
        with apitestcase.UsingCloudApi(mock_http=fake):
            return fetch_imagery(request or self.request(), self.tmp / "cache", job, backoff=backoff, initialize=False)

    def expected(self, result):
        """Known pixels on the result grid, 0 outside the ROI."""
        col, row = ~self.scene.image.transform @ (result.transform.c, result.transform.f)
        col, row = int(round(col)), int(round(row))
        return self.dn[:, row:row + result.height, col:col + result.width]


def _tree(obj) -> dict:
    """The serialised graph of an ee object as one nested dict (shared values and function bodies inlined)."""
    graph = json.loads(obj.serialize())
    vals = graph["values"]

    def resolve(v):
        if isinstance(v, dict):
            if "valueReference" in v:
                return resolve(vals[v["valueReference"]])
            if "functionDefinitionValue" in v:  # a mapped function's body is a bare value key
                return resolve(vals[v["functionDefinitionValue"]["body"]])
            return {k: resolve(x) for k, x in v.items()}
        return [resolve(x) for x in v] if isinstance(v, list) else v

    return resolve(vals[graph["result"]])


class TestGraph(apitestcase.ApiTestCase):
    """The composite graph, serialised by the real client against the bundled algorithm list."""

    ROI = {"type": "Polygon", "coordinates": [[[76.9, 28.5], [77.1, 28.5], [77.1, 28.6], [76.9, 28.5]]]}

    def composite(self, ids, bands, composite, **kw):
        import datetime as dt

        return E.build_composite(ids, bands, composite, parse_roi(self.ROI), dt.date(2024, 1, 1),
                                 dt.date(2024, 1, 31), **kw)

    def test_median_composite_uses_cloud_score_plus(self):
        graph = self.composite(SCENES, BANDS, "median", cs_threshold=0.6).serialize()
        for needle in ("COPERNICUS/S2_SR_HARMONIZED", "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED", '"cs_cdf"',
                       "Image.linkCollection", "reduce.median", "Image.gte", "Image.updateMask", "Image.unmask",
                       "Image.toUint16", "Filter.listContains", SCENES[0], SCENES[1]):
            assert needle in graph, needle
        assert "0.6" in graph
        assert "Collection.limit" not in graph

    def test_median_filters_bounds_and_dates_next_to_the_scene_list(self):
        tree = _tree(self.composite(SCENES, BANDS, "median"))
        chains = {}  # collection id -> filters applied on it, innermost first

        def walk(node, outer):
            if isinstance(node, list):
                for x in node:
                    walk(x, outer)
            if not isinstance(node, dict):
                return
            fn = node.get("functionInvocationValue")
            if fn and fn["functionName"] == "Collection.filter":
                name = fn["arguments"]["filter"]["functionInvocationValue"]["functionName"]
                walk(fn["arguments"]["collection"], [name] + outer)
                return
            if fn and fn["functionName"] == "ImageCollection.load":
                chains[fn["arguments"]["id"]["constantValue"]] = outer
                return
            for x in node.values():
                walk(x, [])

        walk(tree, [])
        filters_on = chains.get
        s2 = filters_on("COPERNICUS/S2_SR_HARMONIZED")
        assert s2[:2] == ["Filter.intersects", "Filter.dateRangeContains"] and "Filter.listContains" in s2
        assert filters_on("GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED")[:2] == ["Filter.intersects",
                                                                             "Filter.dateRangeContains"]

    def test_valid_dark_pixels_are_kept_at_one_dn_before_unmask(self):
        """A clear-water pixel with B12 = 0 must not become no data: max(1) runs before unmask(0)."""
        for kind in ("median", "least_cloudy"):
            root = _tree(self.composite(SCENES, BANDS, kind))["functionInvocationValue"]
            assert root["functionName"] == "Image.toUint16"
            unmask = root["arguments"]["value"]["functionInvocationValue"]
            assert unmask["functionName"] == "Image.unmask"
            zero = unmask["arguments"]["value"]["functionInvocationValue"]
            assert zero["functionName"] == "Image.constant" and zero["arguments"]["value"]["constantValue"] == 0
            maxed = unmask["arguments"]["input"]["functionInvocationValue"]
            assert maxed["functionName"] == "Image.max"
            one = maxed["arguments"]["image2"]["functionInvocationValue"]
            assert one["functionName"] == "Image.constant" and one["arguments"]["value"]["constantValue"] == 1

    def test_least_cloudy_mosaics_one_scene_per_grid_tile_clearest_on_top(self):
        ids = ["20240105_T43QGU", "20240105_T43QHU"]
        graph = self.composite(ids, ["B8", "B4"], "least_cloudy").serialize()
        assert all(f"COPERNICUS/S2_SR_HARMONIZED/{i}" in graph for i in ids)
        assert "ImageCollection.mosaic" in graph
        assert "CLOUD_SCORE_PLUS" not in graph and "reduce.median" not in graph
        # mosaic() draws the last image on top: the clearest (first id) is listed last.
        assert graph.index(f"S2_SR_HARMONIZED/{ids[1]}") < graph.index(f"S2_SR_HARMONIZED/{ids[0]}")

    def test_search_filters_region_dates_and_clouds(self):
        import datetime as dt

        graph = E.build_search(parse_roi(self.ROI), dt.date(2024, 1, 1), dt.date(2024, 1, 31), 40).serialize()
        assert "2024-02-01" in graph  # end date inclusive -> exclusive next day
        assert "2024-01-01" in graph
        assert "CLOUDY_PIXEL_PERCENTAGE" in graph and "Filter.lessThan" in graph
        assert "EPSG:32643" in graph  # the ROI is sent as a planar UTM polygon
        assert "Collection.limit" in graph and "reduceColumns" in graph and '"MGRS_TILE"' in graph


class TestAntimeridianGraph(apitestcase.ApiTestCase):
    def test_region_is_a_planar_utm_polygon(self):
        import datetime as dt

        roi = parse_roi({"type": "Polygon", "coordinates": [[[179.9, -17.0], [-179.9, -17.0], [-179.9, -16.8],
                                                             [179.9, -16.8], [179.9, -17.0]]]})
        graph = json.loads(E.build_search(roi, dt.date(2024, 1, 1), dt.date(2024, 1, 2), 100).serialize())
        text = json.dumps(graph)
        assert "EPSG:32701" in text and '"geodesic": {"constantValue": false}' in text
        import re

        xs = [float(x) for x, _ in re.findall(r"\[(-?\d+\.\d+), (-?\d+\.\d+)\]", text)]
        assert len(xs) >= 4 and all(160_000 < x < 200_000 for x in xs)  # metres in zone 1, one compact polygon


class TestComputePixels(_Harness):
    def test_tiles_stitch_to_known_pixels(self):
        fake = self.fake()
        progress = []
        result = self.run_fetch(fake, job=Job(lambda f, m: progress.append((f, m))))
        assert result.tiles_fetched == result.tiles_total > 4 and result.tiles_cached == 0
        assert str(result.crs) == "EPSG:32643" and result.transform.a == 10 and result.transform.c % 10 == 0
        assert len(fake.value_requests) == 1 and len(fake.pixel_requests) == result.tiles_total
        for req in fake.pixel_requests:
            g = req["grid"]
            assert g["crsCode"] == "EPSG:32643" and req["fileFormat"] == "NPY" and req["bandIds"] == BANDS
            w, h = g["dimensions"]["width"], g["dimensions"]["height"]
            assert max(w, h) <= 64 and request_bytes(w, h, len(BANDS)) <= MAX_REQUEST_BYTES
            assert "COPERNICUS/S2_SR_HARMONIZED" in json.dumps(req["expression"])
        tile_msgs = [m for _, m in progress if m.startswith("tile ")]
        assert len(tile_msgs) == result.tiles_total
        assert [f for f, _ in progress] == sorted(f for f, _ in progress)
        with open_image(result.path) as src:
            assert src.band_names == BANDS and src.transform == result.transform and src.crs == result.crs
            r = src.read()
            assert src.metadata["SATSEG_SCENES"] == json.dumps(SCENES)
            assert src.metadata["SATSEG_COLLECTION"] == "COPERNICUS/S2_SR_HARMONIZED"
            assert src.metadata["SATSEG_COMPOSITE"] == "median" and src.metadata["SATSEG_SCALE"] == "10"
        expected = self.expected(result)
        inside = ~parse_roi(_roi(self.scene)).mask(parse_roi(_roi(self.scene)).grid(10))
        assert inside.mean() > 0.9 and (~inside).any()
        np.testing.assert_allclose(r.data[:, inside], expected[:, inside] / 10000, rtol=0, atol=1e-7)
        assert r.nodata_mask[~inside].all() and not r.nodata_mask[inside].any()

    def test_irregular_roi_skips_tiles_outside_it(self):
        from shapely.geometry import mapping, shape

        from desktop_app.core.online.tiling import plan_tiles

        square = shape(_roi(self.scene))
        w, s, e, n = square.bounds
        tri = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [w, n], [w, s]]]}
        fake = self.fake()
        result = self.run_fetch(fake, request=self.request(roi=tri))
        all_tiles = plan_tiles(result.width, result.height, 64)
        assert 0 < len(fake.pixel_requests) == result.tiles_total < len(all_tiles)
        with open_image(result.path) as src:
            r = src.read()
        roi = parse_roi(tri)
        outside = roi.mask(roi.grid(10))
        assert r.nodata_mask[outside].all() and not r.nodata_mask[~outside].any()
        assert r.nodata_mask[-5:, -5:].all()  # the never-requested corner reads as nodata

    def test_least_cloudy_takes_the_clearest_scene_of_each_grid_tile(self):
        rows = [["20240110_T43QGU", "43QGU", 3.0], ["20240105_T43QHU", "43QHU", 7.5],
                ["20240105_T43QGU", "43QGU", 9.0], ["20240120_T43QHU", "43QHU", 30.0]]
        fake = FakeEarthEngine(self.dn, self.scene.image.transform, BANDS, scenes=rows)
        result = self.run_fetch(fake, request=self.request(composite="least_cloudy"))
        search = json.dumps(fake.value_requests[0])
        assert "Collection.limit" in search and "CLOUDY_PIXEL_PERCENTAGE" in search and "MGRS_TILE" in search
        expr = json.dumps(fake.pixel_requests[0]["expression"])
        assert "ImageCollection.mosaic" in expr and "CLOUD_SCORE_PLUS" not in expr
        assert f"S2_SR_HARMONIZED/{rows[0][0]}" in expr and f"S2_SR_HARMONIZED/{rows[1][0]}" in expr
        assert rows[2][0] not in expr and rows[3][0] not in expr
        assert result.scenes == [rows[0][0], rows[1][0]]  # named in the result, the tags and the CLI
        with open_image(result.path) as src:
            assert json.loads(src.metadata["SATSEG_SCENES"]) == [rows[0][0], rows[1][0]]

    def test_retries_429_5xx_and_dropped_connection(self):
        fake = self.fake()
        grid = parse_roi(_roi(self.scene)).grid(10)
        t = grid.transform
        fake.fail((t.c, t.f), (429, "Too many concurrent aggregations."), (503, "Service unavailable"))
        fake.fail((t.c + 640, t.f), "drop")
        result = self.run_fetch(fake)
        assert len(fake.pixel_requests) == result.tiles_total + 3
        assert len(self.sleeps) >= 3  # back-off waited before each retry
        with open_image(result.path) as src:
            r = src.read()
        exp = self.expected(result)
        np.testing.assert_allclose(r.data[:, :64, :64][:, ~r.nodata_mask[:64, :64]],
                                   exp[:, :64, :64][:, ~r.nodata_mask[:64, :64]] / 10000, atol=1e-7)

    def test_400_fails_at_once_and_resume_fetches_only_the_rest(self):
        fake = self.fake()
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake.fail((t.c + 640, t.f - 640), (400, "Image.select: Pattern 'B4' did not match any bands."))
        with pytest.raises(SatSegError, match=r"rejected the request \(400\).*did not match"):
            self.run_fetch(fake)
        bad = [r for r in fake.pixel_requests if r["grid"]["affineTransform"]["translateX"] == t.c + 640
               and r["grid"]["affineTransform"]["translateY"] == t.f - 640]
        assert len(bad) == 1  # no retry on 400
        cached = len(list((self.tmp / "cache" / "tiles").glob("*/*.npy")))
        assert cached >= 1
        fake2 = self.fake()
        result = self.run_fetch(fake2)
        assert result.tiles_cached == cached and result.tiles_fetched == result.tiles_total - cached
        assert len(fake2.pixel_requests) == result.tiles_total - cached
        assert len(fake2.value_requests) == 0  # scene list kept in the manifest

    def test_quota_exhausted_is_named(self):
        fake = self.fake()
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake.fail((t.c, t.f), *[(429, "Quota exceeded for quota metric 'Requests'.")] * 10)
        with pytest.raises(SatSegError, match="quota exceeded after 3 attempts.*resume"):
            self.run_fetch(fake, attempts=3)

    def test_401_and_403_are_sign_in_and_project_messages(self):
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake = self.fake()
        fake.fail((t.c, t.f), (401, "Request had invalid authentication credentials."))
        with pytest.raises(SatSegError, match="not signed in to Earth Engine"):
            self.run_fetch(fake)
        fake = self.fake()
        fake.fail((t.c, t.f), (403, "Project my-project is not registered to use Earth Engine."))
        with pytest.raises(SatSegError, match="refused access for project.*not registered"):
            self.run_fetch(fake, request=self.request(ee_project="my-project"))

    def test_lost_connection_is_named(self):
        fake = self.fake()
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake.fail((t.c, t.f), *["drop"] * 10)
        with pytest.raises(SatSegError, match="lost the connection to Earth Engine after 2 attempts"):
            self.run_fetch(fake, attempts=2)

    def test_cancel_half_way_keeps_tiles_and_resumes(self):
        fake = self.fake()
        fake.delay = 0.01
        job = Job()

        def progress(f, msg):
            if msg.startswith("tile ") and int(msg.split()[1].split("/")[0]) >= 4:
                job.cancel()

        job.progress = progress
        with pytest.raises(Cancelled):
            self.run_fetch(fake, job=job)
        first = len(fake.pixel_requests)
        cached = len(list((self.tmp / "cache" / "tiles").glob("*/*.npy")))
        assert 4 <= cached == first
        fake2 = self.fake()
        result = self.run_fetch(fake2)
        assert result.tiles_cached == cached
        assert len(fake2.pixel_requests) == result.tiles_total - cached > 0
        with open_image(result.path) as src:
            r = src.read()
        inside = ~r.nodata_mask
        np.testing.assert_allclose(r.data[:, inside], self.expected(result)[:, inside] / 10000, atol=1e-7)

    def test_second_fetch_is_offline_from_cache(self):
        result = self.run_fetch(self.fake())
        fake = self.fake()
        fake.offline = True
        again = self.run_fetch(fake)
        assert again.from_cache and again.path == result.path and fake.pixel_requests == []
        out = self.tmp / "copy.tif"
        with apitestcase.UsingCloudApi(mock_http=fake):
            third = fetch_imagery(self.request(), self.tmp / "cache", None, out_path=out, initialize=False)
        assert third.path == out and out.exists()

    def test_no_images_in_date_range(self):
        fake = FakeEarthEngine(self.dn, self.scene.image.transform, BANDS, scenes=[])
        with pytest.raises(SatSegError, match="no Sentinel-2 images .* between 2024-01-01 and 2024-01-31"):
            self.run_fetch(fake)
        assert fake.pixel_requests == []

    def test_a_stalled_tile_times_out_is_retried_and_named(self):
        """One request never answers: the deadline ends each attempt, then the error names it; siblings cached."""
        fake = self.fake()
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake.stall.add((t.c, t.f))
        t0 = time.monotonic()
        try:
            # 1 s, not less: every answered request (the search, the other tiles) must come within the
            # deadline too, and on a loaded 2-core machine the ee client's own work can take ~0.5 s.
            with pytest.raises(SatSegError, match=r"did not answer within 1 s after 2 attempts while fetching tile "
                                                  r"r0000_c0000.*smaller Tile size.*cached") as err:
                self.run_fetch(fake, request=self.request(timeout=1), attempts=2)
        finally:
            fake.release.set()
        # The window has no timeout setting: its words say what it can do; the command line's name both flags.
        assert "--" not in str(err.value) and str(err.value).endswith("fetch again to resume")
        assert re.search(r"smaller tile size \(--tile-size, now 64 px\).*cached.*\(or raise --timeout\)$",
                         cli_text(err.value))
        assert time.monotonic() - t0 < 6
        stalled = [r for r in fake.pixel_requests if r["grid"]["affineTransform"]["translateX"] == t.c
                   and r["grid"]["affineTransform"]["translateY"] == t.f]
        assert len(stalled) == 2  # a timeout is retried
        cached = len(list((self.tmp / "cache" / "tiles").glob("*/*.npy")))
        assert cached == len(fake.pixel_requests) - 2 > 0

    def test_cancel_during_a_stalled_request_returns_in_seconds(self):
        fake = self.fake()
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake.stall.add((t.c, t.f))
        job, when = Job(), {}

        def progress(f, msg):
            if msg.startswith("tile ") and msg.split()[1].split("/")[0] == str(int(msg.split("/")[1]) - 1):
                when["cancel"] = time.monotonic()
                job.cancel()   # every tile but the stalled one is in

        job.progress = progress
        try:
            with pytest.raises(Cancelled):
                self.run_fetch(fake, job=job)   # default 120 s deadline: only Cancel can end it
        finally:
            fake.release.set()
        assert time.monotonic() - when["cancel"] < 3
        cached = len(list((self.tmp / "cache" / "tiles").glob("*/*.npy")))
        assert cached == len(fake.pixel_requests) - 1 >= 4  # every answered tile is kept

    def test_out_of_memory_400_suggests_a_smaller_tile_size(self):
        fake = self.fake()
        t = parse_roi(_roi(self.scene)).grid(10).transform
        fake.fail((t.c, t.f), (400, "User memory limit exceeded."))
        with pytest.raises(SatSegError, match=r"ran out of memory or time while fetching tile r0000_c0000 .*"
                                              r"smaller Tile size \(now 64 px\) in the Fetch imagery or Classify on "
                                              r"Earth Engine dialog; finished tiles are cached") as err:
            self.run_fetch(fake)
        assert "--" not in str(err.value)    # the window's words; the command line's name the flag
        assert re.search(r"ran out of memory .* smaller tile size \(--tile-size, now 64 px\); finished tiles",
                         cli_text(err.value))

    def test_dark_valid_pixel_stays_data_and_a_zero_band_is_no_data(self):
        """Earth Engine answers >= 1 for valid pixels (max(1) in the graph); 0 in any band is no data."""
        fake = self.fake()
        fake.world = self.dn.copy()
        grid = parse_roi(_roi(self.scene)).grid(10)
        col, row = ~self.scene.image.transform @ (grid.transform.c, grid.transform.f)
        r0, c0 = int(round(row)) + 40, int(round(col)) + 40
        fake.world[:, r0, c0] = [900, 700, 500, 1]        # deep clear water: NIR at the floor
        fake.world[:, r0, c0 + 1] = [900, 700, 500, 0]    # masked in one band
        result = self.run_fetch(fake)
        with open_image(result.path) as src:
            r = src.read()
        assert not r.nodata_mask[40, 40] and r.data[3, 40, 40] == pytest.approx(1e-4)
        assert r.nodata_mask[40, 41]

    def test_offline_during_search_is_a_connection_message(self):
        fake = self.fake()
        fake.offline = True
        with pytest.raises(SatSegError, match="lost the connection to Earth Engine"):
            self.run_fetch(fake, attempts=2)


class TestDeadline(apitestcase.ApiTestCase):
    """The deadline set at sign-in reaches the real HTTP client (requests), against a server that never answers."""

    def setUp(self):
        super().setUp()
        ee.data.computeValue = self.old_compute_value   # the real REST call, not the harness's canned value
        ee.data._install_cloud_api_resource = REAL_INSTALL_RESOURCE  # a real requests-based client

    def test_silent_server_ends_on_the_client_deadline(self):
        import datetime as dt
        from unittest import mock

        from google.auth.credentials import AnonymousCredentials

        from pathlib import Path

        from netfaults import StallingHttpServer

        # The server gives the client its API description, then never answers a computation.
        doc = (Path(ee.__file__).parent / "tests" / "cloud_api_discovery_document.json").read_bytes()
        with StallingHttpServer({"/$discovery": (200, "application/json", doc)}) as silent, \
                mock.patch.object(ee.data, "get_persistent_credentials", return_value=AnonymousCredentials()):
            E.ee_initialize("my-project", url=silent.url, check_network=False, timeout=0.5)
            roi = parse_roi(TestGraph.ROI)
            t0 = time.monotonic()
            # The backstop here would fire at 3 s; the client's own 0.5 s deadline must end it first.
            with pytest.raises(SatSegError, match=r"did not answer within 2 s while searching for scenes") as err:
                E.search_scenes(roi, dt.date(2024, 1, 1), dt.date(2024, 1, 31), "median", 60,
                                Backoff(attempts=1), timeout=2)
            assert time.monotonic() - t0 < 3 and any("value:compute" in p for p in silent.held)   # before 3 s
        # The client's own timeout fired (a requests timeout), not only our backstop.
        from desktop_app.core.online.netcall import NetworkTimeout

        chain, e = [], err.value
        while e is not None:
            chain.append(e)
            e = e.__cause__ or e.__context__
        assert any(isinstance(x, TimeoutError) for x in chain)
        assert not any(isinstance(x, NetworkTimeout) for x in chain)


def test_per_tile_choice_balances_grid_tiles():
    from desktop_app.core.online.scenes import per_tile

    rows = [("a1", "A", 1.0), ("a2", "A", 2.0), ("a3", "A", 3.0), ("b1", "B", 40.0), ("b2", "B", 50.0),
            ("n", None, None)]
    pick = per_tile(rows, 2, tile_of=lambda r: r[1], cloud_of=lambda r: r[2])
    assert [r[0] for r in pick] == ["a1", "a2", "b1", "b2", "n"]   # B is not crowded out by A
    assert [r[0] for r in per_tile(rows, 1, lambda r: r[1], lambda r: r[2])] == ["a1", "b1", "n"]


def test_tile_limits_for_every_band_count():
    from desktop_app.core.online.tiling import max_tile_side, plan_tiles

    for n in (1, 3, 4, 10, 12):
        side = max_tile_side(n)
        assert side <= MAX_GRID_SIDE and request_bytes(side, side, n) <= MAX_REQUEST_BYTES
        assert request_bytes(side + 256, side + 256, n) > MAX_REQUEST_BYTES or side + 256 > MAX_GRID_SIDE
    assert max_tile_side(1, bytes_per_sample=1, max_bytes=10 ** 12) == MAX_GRID_SIDE
    tiles = plan_tiles(1000, 700, 256)
    cover = np.zeros((700, 1000), int)
    for t in tiles:
        cover[t.y:t.y + t.height, t.x:t.x + t.width] += 1
    assert (cover == 1).all() and len(tiles) == 4 * 3


def test_npy_answer_with_wrong_shape_is_an_error():
    from desktop_app.core.online.tiling import Tile

    rec = np.zeros((3, 4), dtype=[("B4", "<u2")])
    with pytest.raises(SatSegError, match="shape"):
        E.npy_to_dn(rec, ["B4"], Tile(0, 0, 0, 0, 5, 3))
    with pytest.raises(SatSegError, match="lacks bands B3"):
        E.npy_to_dn(rec, ["B4", "B3"], Tile(0, 0, 0, 0, 4, 3))
