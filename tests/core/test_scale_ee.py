"""Earth Engine server-side classification, offline.

Graphs are serialised by the real earthengine-api against its bundled
algorithm list (``apitestcase.ApiTestCase``) and compared with graphs built
by hand from the documented ee calls. The band-maths methods are checked
where it counts: the expression strings the server would evaluate, run here
with NumPy on a fixed set of pixels, give the same class as the local
classifier fitted from the same statistics.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import ee  # noqa: E402  (a project dependency; its offline harness)
from ee import apitestcase  # noqa: E402

from desktop_app.core.classes import ClassInfo
from desktop_app.core.classifiers import make_classifier
from desktop_app.core.errors import SatSegError
from desktop_app.core.samples import TrainingData
from desktop_app.core.scale import ee_classify as S

BANDS = ["B2", "B3", "B4", "B8"]
CRS = "EPSG:32643"


def _training(seed=0, n=400):
    rng = np.random.default_rng(seed)
    means = np.array([[0.05, 0.08, 0.06, 0.30], [0.12, 0.13, 0.16, 0.22], [0.04, 0.05, 0.03, 0.02]])
    X, y = [], []
    for k, m in enumerate(means):
        a = rng.normal(0, 0.015, (4, 4))
        X.append(rng.multivariate_normal(m, a @ a.T + np.eye(4) * 1e-4, n))
        y.append(np.full(n, k + 1))
    classes = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "urban", "#ff0000"), ClassInfo(3, "water", "#0000ff")]
    X, y = np.vstack(X).astype(np.float32), np.concatenate(y)
    return TrainingData(X, y, classes, BANDS, {k: n for k in (1, 2, 3)})


def _server_answer(td):
    """What stats_graph(...).getInfo() returns for these pixels: EE's band-named moments and a sample covariance."""
    info = {}
    for c in td.classes:
        P = td.X[td.y == c.id].astype(np.float64)
        d = {"cov": np.cov(P.T, ddof=1).tolist()}
        for j, b in enumerate(BANDS):
            d.update({f"{b}_mean": P[:, j].mean(), f"{b}_min": P[:, j].min(), f"{b}_max": P[:, j].max(),
                      f"{b}_count": len(P)})
        info[str(c.id)] = d
    return json.loads(json.dumps(info))   # through JSON, as it arrives


def _fixed_pixels(td, seed=5):
    """(b, n): training pixels, pixels between classes and far outliers."""
    rng = np.random.default_rng(seed)
    mix = rng.uniform(0, 1, (300, 1))
    a, b = td.X[rng.integers(0, len(td.X), 300)], td.X[rng.integers(0, len(td.X), 300)]
    far = rng.uniform(-0.2, 0.8, (100, 4))
    return np.vstack([td.X[::7], mix * a + (1 - mix) * b, far]).T.astype(np.float32)


@pytest.mark.parametrize("method,thresholds", [
    ("mahalanobis", None), ("mahalanobis", 3.0), ("mahalanobis", {1: 2.5, 3: 4.0}),
    ("max_likelihood", None), ("max_likelihood", 0.99),
    ("parallelepiped", None), ("parallelepiped", 2.0),
])
def test_server_band_maths_gives_the_local_class(method, thresholds):
    td = _training()
    local = make_classifier(method).fit(td)                       # the local engine, on the pixels
    server = make_classifier(method)                               # fitted from the server's statistics
    server.fit_signatures(S.signatures_from_stats(_server_answer(td), td.classes, BANDS))
    X = _fixed_pixels(td)
    want = local.predict_cols(X, thresholds)
    got = S.evaluate_rows(S.rank_rows(server, thresholds), X)
    assert np.array_equal(got, want), (got != want).sum()
    assert len(set(want.tolist())) >= 3   # several classes, and with thresholds some rejections
    if thresholds is not None:   # the thresholds reject something, so the rejection arithmetic is tested too
        assert (want != local.predict_cols(X, None)).any()


def test_statistics_must_cover_every_class():
    td = _training()
    info = _server_answer(td)
    info["2"] = {"cov": None, **{f"{b}_count": 0 for b in BANDS}}
    with pytest.raises(SatSegError, match="no valid Earth Engine pixels under the samples of urban"):
        S.signatures_from_stats(info, td.classes, BANDS)


def test_methods_and_thresholds_the_server_cannot_express():
    from desktop_app.core.errors import cli_text

    # The command line names the flag; the window names the Model panel's own controls.
    with pytest.raises(SatSegError, match=r"SVM \(RBF\) cannot run on Earth Engine; choose Random forest, "
                                          r"Mahalanobis distance, Maximum likelihood or Parallelepiped") as err:
        S.check_method("svm", None)
    assert cli_text(err.value).startswith("--method svm cannot run on Earth Engine; choose one of random_forest")
    assert "Method in the Model panel" in str(err.value) and "--" not in str(err.value)
    with pytest.raises(SatSegError, match="takes one threshold for every class") as err:
        S.check_method("random_forest", {1: 0.5})
    assert "one --threshold VALUE" in cli_text(err.value)
    assert "'One value for all classes' under Thresholds" in str(err.value) and "--" not in str(err.value)
    S.check_method("max_likelihood", {1: 0.9})


class TestGraphs(apitestcase.ApiTestCase):
    def image(self):
        return ee.Image("COPERNICUS/S2_SR_HARMONIZED/20240105T054221_20240105T054219_T43QGU").select(BANDS)

    def features(self):
        poly = ee.Geometry({"type": "Polygon", "coordinates": [[[500000, 3300000], [500100, 3300000],
                                                                [500100, 3299900], [500000, 3300000]]]}, CRS, False)
        return ee.FeatureCollection([ee.Feature(poly, {S.CLASS_PROPERTY: 1})])

    def test_random_forest_is_smile_random_forest_on_sample_regions(self):
        img, fc = S.reflectance(self.image(), BANDS), self.features()
        got = S.classifier_graph(img, "random_forest", fc, BANDS, 10, CRS, trees=50, seed=7)
        table = img.sampleRegions(collection=fc, properties=[S.CLASS_PROPERTY], scale=10, projection=CRS,
                                  geometries=False)
        rf = ee.Classifier.smileRandomForest(numberOfTrees=50, seed=7).train(table, S.CLASS_PROPERTY, BANDS)
        assert got.serialize() == img.select(BANDS).classify(rf).serialize()

    def test_random_forest_threshold_uses_the_vote_share(self):
        img, fc = S.reflectance(self.image(), BANDS), self.features()
        graph = S.classifier_graph(img, "random_forest", fc, BANDS, 10, CRS, thresholds=0.6).serialize()
        assert "MULTIPROBABILITY" in graph and "Image.arrayReduce" in graph and "0.6" in graph

    def test_mahalanobis_is_minimum_distance(self):
        img, fc = S.reflectance(self.image(), BANDS), self.features()
        got = S.classifier_graph(img, "mahalanobis", fc, BANDS, 10, CRS)
        table = img.sampleRegions(collection=fc, properties=[S.CLASS_PROPERTY], scale=10, projection=CRS,
                                  geometries=False)
        md = ee.Classifier.minimumDistance("mahalanobis").train(table, S.CLASS_PROPERTY, BANDS)
        assert got.serialize() == img.select(BANDS).classify(md).serialize()

    def test_reflectance_masks_no_data_and_scales_dn(self):
        dn = self.image()
        want = dn.select(BANDS).updateMask(dn.select(BANDS).reduce(ee.Reducer.min()).gt(0)).divide(10000.0)
        assert S.reflectance(dn, BANDS).serialize() == want.serialize()

    def test_statistics_are_reduce_region_mean_min_max_count_and_covariance(self):
        img, fc = S.reflectance(self.image(), BANDS), self.features()
        graph = S.stats_graph(img, fc, [1, 2], BANDS, 10, CRS).serialize()
        for needle in ("Image.reduceRegion", "Reducer.covariance", "Reducer.mean", "Reducer.minMax",
                       "Reducer.count", "Image.toArray", '"maxPixels"', "Filter.equals"):
            assert needle in graph, needle

    def test_band_maths_graph_carries_the_checked_expressions(self):
        td = _training()
        clf = make_classifier("max_likelihood")
        clf.fit_signatures(S.signatures_from_stats(_server_answer(td), td.classes, BANDS))
        img = S.reflectance(self.image(), BANDS)
        rows = S.rank_rows(clf, 0.99)
        graph = S.finish(S.classifier_graph(img, "max_likelihood", self.features(), BANDS, 10, CRS,
                                            fitted=clf, thresholds=0.99), img).serialize()
        for r in rows:
            assert json.dumps(r.rank) in graph and json.dumps(r.reject) in graph
        for needle in ("Image.arrayArgmax", "Image.remap", "Image.unmask", "Image.toUint8"):
            assert needle in graph, needle


# --- satseg classify-ee end to end through the real client and a recorded-answer HTTP layer ---------------

from test_online_earthengine import FakeEarthEngine, _ok, _roi  # noqa: E402  (the fetch tests' mock HTTP layer)

from desktop_app.core.demo_scene import make_demo_scene  # noqa: E402
from desktop_app.core.jobs import Job  # noqa: E402
from desktop_app.core.online.fetch import FetchRequest  # noqa: E402
from desktop_app.core.online.roi import parse_roi  # noqa: E402
from desktop_app.core.online.tile_runner import Backoff  # noqa: E402
from desktop_app.core.samples import SampleSet, SamplePolygon  # noqa: E402


class FakeEEClassifier(FakeEarthEngine):
    """The fetch tests' transport; the statistics call gets a recorded answer, tiles come from a known class map."""

    def __init__(self, classes_map, transform, stats):
        super().__init__(classes_map[None].astype(np.uint16), transform, ["class"])
        self.stats = stats

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        if uri.split("?")[0].endswith("value:compute") and body and "reduceRegion" in body:
            with self.lock:
                self.value_requests.append(json.loads(body))
            return _ok(json.dumps({"result": self.stats}).encode(), "application/json")
        return super().request(uri, method, body, headers, **kwargs)


class TestClassifyOnEarthEngine(apitestcase.ApiTestCase):
    def setUp(self):
        super().setUp()
        ee.data.computeValue = self.old_compute_value   # value:compute through the mocked transport too

    @pytest.fixture(autouse=True)
    def _inject(self, tmp_path):
        from desktop_app.core.classes import normalize_color
        from desktop_app.core.geo import WGS84, transform_geometry
        from shapely.geometry import box

        self.scene = make_demo_scene(size=256)
        self.tmp = tmp_path
        roi = parse_roi(_roi(self.scene))
        grid = roi.grid(10)
        # The "server's" answer is a class map on the grid: ids 1..3 and some 0 (rejected).
        rows, cols = np.indices(self.scene.truth.shape)
        self.world = ((rows // 50 + cols // 70) % 4).astype(np.uint8)
        classes = [ClassInfo(k, n, normalize_color(None, k - 1)) for k, n in ((1, "crop"), (2, "urban"), (3, "water"))]
        t = grid.transform
        polys = [SamplePolygon(transform_geometry(box(t.c + 100 * k, t.f - 300, t.c + 100 * k + 50, t.f - 250),
                                                  grid.crs, WGS84), c.name, c.color) for k, c in enumerate(classes)]
        self.samples = SampleSet(polys, classes)
        self.grid, self.roi_geojson = grid, _roi(self.scene)

    def run_ee(self, method, thresholds=None, fake=None, **kw):
        from desktop_app.core.scale.ee_run import classify_on_ee

        td = _training()
        fake = fake or FakeEEClassifier(self.world, self.scene.image.transform, _server_answer(td))
        request = FetchRequest(source="earthengine", roi=self.roi_geojson, start="2024-01-01", end="2024-01-31",
                               bands=BANDS, tile_size=64, workers=2)
        with apitestcase.UsingCloudApi(mock_http=fake):
            out = classify_on_ee(request, self.samples, method, self.tmp / "classes.tif", thresholds=thresholds,
                                 cache_dir=self.tmp / "cache", backoff=Backoff(attempts=2, base=0.0, sleep=lambda s: None),
                                 initialize=False, **kw)
        return out, fake

    def expected(self):
        col, row = ~self.scene.image.transform @ (self.grid.transform.c, self.grid.transform.f)
        col, row = int(round(col)), int(round(row))
        want = self.world[row:row + self.grid.height, col:col + self.grid.width].copy()
        want[parse_roi(self.roi_geojson).mask(self.grid)] = 255
        return want

    def test_random_forest_tiles_come_back_as_the_class_raster(self):
        import rasterio

        result, fake = self.run_ee("random_forest", 0.6)
        assert result["tiles"] == len(fake.pixel_requests) > 4
        for req in fake.pixel_requests:
            graph = json.dumps(req["expression"])
            assert req["bandIds"] == ["class"] and "Classifier.smileRandomForest" in graph and "MULTIPROBABILITY" in graph
        assert len(fake.value_requests) == 1    # the scene search only: random forest trains on the server
        with rasterio.open(self.tmp / "classes.tif") as ds:
            got = ds.read(1)
            assert ds.dtypes[0] == "uint8" and ds.nodata == 255 and ds.transform == self.grid.transform
            assert json.loads(ds.tags()["SATSEG_CLASSES"]) == [c.to_dict() for c in self.samples.classes]
            assert ds.colormap(1)[2][:3] == tuple(int(self.samples.classes[1].color[i:i + 2], 16) for i in (1, 3, 5))
            assert ds.tags()["SATSEG_ENGINE"] == "earthengine"
        assert np.array_equal(got, self.expected())
        assert result["unclassified"] == int((got == 0).sum()) > 0
        assert not list((self.tmp / "cache" / "tiles").glob("*/*.npy"))   # tiles dropped once written

    def test_max_likelihood_fetches_statistics_then_band_maths(self):
        result, fake = self.run_ee("max_likelihood", 0.99)
        stats_req = [r for r in fake.value_requests if "reduceRegion" in json.dumps(r)]
        assert len(stats_req) == 1 and "Reducer.covariance" in json.dumps(stats_req[0])
        graph = json.dumps(fake.pixel_requests[0]["expression"])
        assert "Image.arrayArgmax" in graph and "Image.remap" in graph and "Classifier" not in graph

    def test_quota_error_is_one_line_and_leaves_no_raster(self):
        td = _training()
        fake = FakeEEClassifier(self.world, self.scene.image.transform, _server_answer(td))
        t = self.grid.transform
        fake.fail((t.c, t.f), *[(429, "Quota exceeded for quota metric 'Requests'.")] * 5)
        with pytest.raises(SatSegError, match="quota exceeded"):
            self.run_ee("random_forest", fake=fake)
        assert not (self.tmp / "classes.tif").exists()

    def test_samples_outside_the_roi_are_refused_before_any_request(self):
        from shapely.affinity import translate

        p = self.samples.polygons[0]
        self.samples.polygons[0] = SamplePolygon(translate(p.geometry, 1.0, 0), p.class_name, p.color, label="feature 1")
        with pytest.raises(SatSegError, match="sample feature 1 lies outside the ROI"):
            self.run_ee("mahalanobis")

    def test_too_big_for_tiles_names_the_limit(self):
        with pytest.raises(SatSegError, match="more than 0.01 MP"):
            self.run_ee("mahalanobis", small_max_pixels=10_000)


# --- big results: Earth Engine exports and satseg ee-tasks ------------------------------------------------

class FakeEEExport(FakeEEClassifier):
    """Also answers image:export with a long-running operation (or an error)."""

    def __init__(self, *a, export_error=None):
        super().__init__(*a)
        self.exports, self.export_error = [], export_error

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        if uri.split("?")[0].endswith("image:export"):
            self.exports.append(json.loads(body))
            if self.export_error:
                from test_online_earthengine import _error

                return _error(*self.export_error)
            op = {"name": "projects/earthengine-legacy/operations/ABCDEF123456", "done": False,
                  "metadata": {"state": "PENDING"}}
            return _ok(json.dumps(op).encode(), "application/json")
        return super().request(uri, method, body, headers, **kwargs)


class TestExports(TestClassifyOnEarthEngine):
    def fake_export(self, **kw):
        return FakeEEExport(self.world, self.scene.image.transform, _server_answer(_training()), **kw)

    def test_export_is_a_cloud_optimized_geotiff_with_explicit_max_pixels_and_is_recorded(self):
        from desktop_app.core.scale import ee_tasks as T

        before = len(T.read_records())
        result, fake = self.run_ee("parallelepiped", fake=self.fake_export(), export="gs://my-bucket/satseg/up",
                                   small_max_pixels=10)
        assert result["task"] == "ABCDEF123456" and not fake.pixel_requests
        [req] = fake.exports
        text = json.dumps(req)
        assert req["maxPixels"] in ("10000000000000", 10000000000000, {"value": "10000000000000"})
        assert '"cloudOptimized": true' in text and '"bucket": "my-bucket"' in text and '"satseg/up"' in text
        # The grid is explicit: the client folds crs and crsTransform into a reprojection of the expression.
        assert '"functionName": "Projection"' in text and '"constantValue": "EPSG:32643"' in text
        assert req["fileExportOptions"]["fileFormat"] == "GEO_TIFF"
        assert not (self.tmp / "classes.tif").exists()
        records = T.read_records()
        assert len(records) == before + 1 and records[-1]["id"] == "ABCDEF123456"
        assert records[-1]["classes"] == [c.to_dict() for c in self.samples.classes]

    def test_an_export_has_no_download_limit_on_its_grid(self):
        """A region far past what this process may download (400 MP) is still exported, on its own UTM grid."""
        from shapely.geometry import box, mapping

        from desktop_app.core.geo import WGS84, transform_geometry
        from desktop_app.core.online.roi import MAX_GRID_PIXELS

        t = self.grid.transform
        big = box(t.c - 120_000, t.f - 130_000, t.c + 130_000, t.f + 120_000)      # 250 km square: 625 MP at 10 m
        self.roi_geojson = json.loads(json.dumps(mapping(transform_geometry(big, self.grid.crs, WGS84))))
        result, fake = self.run_ee("random_forest", fake=self.fake_export(), export="drive:satseg/state")
        assert result["width"] * result["height"] > MAX_GRID_PIXELS and not fake.pixel_requests
        [req] = fake.exports
        assert req["fileExportOptions"]["driveDestination"] == {"folder": "satseg", "filenamePrefix": "state"}
        with pytest.raises(SatSegError, match="more than 100 MP to pull tile by tile"):
            self.run_ee("random_forest", fake=self.fake_export())

    def test_quota_error_when_starting_the_export_is_one_line(self):
        fake = self.fake_export(export_error=(429, "Quota exceeded: too many concurrent tasks."))
        with pytest.raises(SatSegError, match="[Qq]uota"):
            self.run_ee("parallelepiped", fake=fake, export="drive:satseg/up")


def test_export_states_are_one_line_messages():
    from desktop_app.core.scale import ee_tasks as T

    with pytest.raises(SatSegError, match="export T1 failed: Too many pixels in the region"):
        T.ensure_done("T1", {"state": "FAILED", "error_message": "Too many pixels in the region."})
    with pytest.raises(SatSegError, match="export T1 was cancelled"):
        T.ensure_done("T1", {"state": "CANCELLED"})
    with pytest.raises(SatSegError, match="not finished yet \\(running\\)"):
        T.ensure_done("T1", {"state": "RUNNING"})
    assert T.describe({"state": "FAILED", "error_message": "boom"}) == "failed: boom"
    with pytest.raises(SatSegError, match="gs://BUCKET/PREFIX"):
        T.parse_destination("s3://x/y")


# Downloading a finished export (Drive, Cloud Storage, split tiles): tests/core/test_scale_ee_download.py
