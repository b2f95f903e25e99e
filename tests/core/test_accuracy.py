"""Accuracy figures against hand-computed confusion matrices, polygons and truth rasters."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from shapely.geometry import box, mapping

from desktop_app.core.accuracy import accuracy_against, accuracy_against_polygons, accuracy_from_arrays
from desktop_app.core.classes import ClassInfo, write_class_raster
from desktop_app.core.errors import SatSegError
from desktop_app.core.geo import WGS84, transform_geometry
from desktop_app.core.samples import samples_from_geojson

C = [ClassInfo(1, "water", "#0000ff"), ClassInfo(2, "forest", "#00ff00")]
UTM = CRS.from_epsg(32643)
T = Affine(10, 0, 760000, 0, -10, 3262000)


def test_hand_computed_matrix_kappa_and_per_class():
    truth = np.array([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 0, 255, 1], np.uint8)
    pred = np.array([1, 1, 1, 2, 0, 2, 2, 2, 2, 1, 1, 2, 255], np.uint8)
    r = accuracy_from_arrays(pred, truth, C)
    d = r.to_dict()
    # Reference pixels: the first 10 (0/255 truth have no reference; 255 prediction is nodata).
    assert d["confusion_matrix"] == [[3, 1], [1, 4]]
    assert d["unclassified_per_class"] == [1, 0]
    assert d["reference_pixels"] == 10 and d["excluded_nodata"] == 1
    assert d["overall_accuracy"] == pytest.approx(0.7)
    # kappa: po = 0.7; pe = (5/10)(4/10) + (5/10)(5/10) = 0.45 -> (0.7 - 0.45)/(1 - 0.45)
    assert d["kappa"] == pytest.approx(0.25 / 0.55, abs=1e-6)
    water, forest = d["per_class"]
    assert water["producers_accuracy"] == pytest.approx(3 / 5) and water["users_accuracy"] == pytest.approx(3 / 4)
    assert water["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35, abs=1e-6)
    assert forest["producers_accuracy"] == pytest.approx(4 / 5) and forest["users_accuracy"] == pytest.approx(4 / 5)
    assert d["unclassified_share"] == pytest.approx(0.1)
    assert set(d) >= {"overall_accuracy", "kappa", "confusion_matrix", "per_class", "unclassified_share"}


def test_perfect_and_classes_matched_by_name():
    truth = np.array([[1, 2], [2, 1]], np.uint8)
    pred = np.array([[2, 1], [1, 2]], np.uint8)
    # The truth raster numbers the classes the other way round: names decide.
    t_classes = [ClassInfo(1, "forest", "#00ff00"), ClassInfo(2, "water", "#0000ff")]
    r = accuracy_from_arrays(pred, truth, C, t_classes)
    assert r.overall_accuracy == 1.0 and r.kappa == 1.0


def test_reference_class_unknown_to_the_classification_counts_as_error():
    truth = np.array([1, 2, 3], np.uint8)
    pred = np.array([1, 2, 2], np.uint8)
    t_classes = C + [ClassInfo(3, "urban", "#ff0000")]
    r = accuracy_from_arrays(pred, truth, C, t_classes)
    assert [c.name for c in r.classes] == ["water", "forest", "urban"]
    assert r.overall_accuracy == pytest.approx(2 / 3)
    with pytest.raises(SatSegError, match="class id\\(s\\) 3"):
        accuracy_from_arrays(pred, truth, C)


def test_no_overlap_is_an_error_not_a_zero():
    with pytest.raises(SatSegError, match="no reference pixel"):
        accuracy_from_arrays(np.full((2, 2), 255, np.uint8), np.ones((2, 2), np.uint8), C)


def _poly(r0, c0, r1, c1):
    x0, y0 = T @ (c0 + 0.2, r0 + 0.2)
    x1, y1 = T @ (c1 - 0.2, r1 - 0.2)
    return mapping(transform_geometry(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), UTM, WGS84))


def test_against_polygons_array_and_file(tmp_path):
    pred = np.ones((20, 20), np.uint8)
    pred[:, 10:] = 2
    pred[0, 0] = 0
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"class": "water", "role": "validation"}, "geometry": _poly(0, 0, 4, 4)},
        {"type": "Feature", "properties": {"class": "forest", "role": "validation"}, "geometry": _poly(0, 8, 4, 12)},
        {"type": "Feature", "properties": {"class": "forest", "role": "training"}, "geometry": _poly(10, 0, 20, 10)},
    ]}
    s = samples_from_geojson(fc)
    for r in (accuracy_against_polygons(pred, T, UTM, s, C),           # positional, any order
              accuracy_against_polygons(pred, samples=s, transform=T, crs=UTM, classes=C)):
        d = r.to_dict()
        # water polygon: 16 px, one unclassified; forest polygon: 8 px water (cols 8-9) + 8 px forest.
        assert d["confusion_matrix"] == [[15, 0], [8, 8]]
        assert d["unclassified_per_class"] == [1, 0]
    write_class_raster(tmp_path / "c.tif", pred, T, UTM, C)
    import json

    (tmp_path / "v.geojson").write_text(json.dumps(fc))
    r = accuracy_against(tmp_path / "c.tif", tmp_path / "v.geojson")
    assert r.to_dict()["confusion_matrix"] == [[15, 0], [8, 8]]


def test_against_truth_raster_on_another_grid(tmp_path):
    pred = np.ones((20, 20), np.uint8)
    pred[:, 10:] = 2
    write_class_raster(tmp_path / "c.tif", pred, T, UTM, C)
    # Truth at 20 m on a grid twice as coarse: resampled by nearest neighbour onto the 10 m grid.
    truth = np.ones((10, 10), np.uint8)
    truth[:, 5:] = 2
    write_class_raster(tmp_path / "t.tif", truth, Affine(20, 0, 760000, 0, -20, 3262000), UTM, C)
    r = accuracy_against(tmp_path / "c.tif", tmp_path / "t.tif")
    assert r.overall_accuracy == 1.0 and r.total == 400


def test_reference_names_that_match_nothing_are_an_error_unless_generic():
    truth = np.array([1, 2], np.uint8)
    with pytest.raises(SatSegError, match="none of the reference classes \\(lake, wood\\)"):
        accuracy_from_arrays(truth, truth, C, [ClassInfo(1, "lake", "#000000"), ClassInfo(2, "wood", "#000000")])
    generic = [ClassInfo(1, "class 1", "#000000"), ClassInfo(2, "class 2", "#000000")]
    assert accuracy_from_arrays(truth, truth, C, generic).overall_accuracy == 1.0


def test_a_threshold_change_recounts_without_rasterizing_again(monkeypatch):
    """The polygons are rasterized once per grid and polygon set (PolygonReference); each new
    prediction's figures equal scikit-learn's on the pixels under the polygons."""
    import desktop_app.core.samples as samples_module
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix

    from desktop_app.core.accuracy import PolygonReference

    calls = []
    real = samples_module.rasterize_samples
    monkeypatch.setattr(samples_module, "rasterize_samples", lambda *a, **k: (calls.append(a[2]), real(*a, **k))[1])
    boxes = [("water", 2, 3, 9, 8), ("forest", 10, 11, 18, 19), ("water", 12, 0, 16, 5)]   # class, r0, c0, r1, c1

    def polygons(moved=0):
        feats = [{"type": "Feature", "properties": {"class": n, "role": "validation"},
                  "geometry": _poly(r0 + moved, c0, r1 + moved, c1)} for n, r0, c0, r1, c1 in boxes]
        feats.append({"type": "Feature", "properties": {"class": "forest"}, "geometry": _poly(0, 10, 6, 16)})
        truth = np.zeros((20, 20), np.uint8)          # by hand: the pixel centres inside each box
        for n, r0, c0, r1, c1 in boxes:
            truth[r0 + moved:r1 + moved, c0:c1] = 1 if n == "water" else 2
        return {"type": "FeatureCollection", "features": feats}, truth

    def check(report, pred, truth):
        ref = truth > 0
        m = confusion_matrix(truth[ref], pred[ref], labels=[1, 2, 0])   # 0: left unclassified
        assert report.matrix.tolist() == m[:2, :2].tolist()
        assert report.unclassified.tolist() == m[:2, 2].tolist()
        assert report.overall_accuracy == pytest.approx(accuracy_score(truth[ref], pred[ref]))
        assert report.kappa == pytest.approx(cohen_kappa_score(truth[ref], pred[ref], labels=[1, 2, 0]))

    rng = np.random.default_rng(7)
    reference = PolygonReference()
    fc, truth = polygons()
    pred = rng.integers(1, 3, (20, 20)).astype(np.uint8)
    for _ in range(4):   # threshold changes: more pixels rejected each time, the polygons as they were
        pred = pred.copy()
        pred[rng.random(pred.shape) < 0.15] = 0
        # A new but equal SampleSet each time, as the window builds one per run.
        check(accuracy_against_polygons(pred, T, UTM, samples_from_geojson(fc), C, reference=reference), pred, truth)
    assert len(calls) == 1
    # The polygons change: rasterized again, and the counts follow them.
    fc2, truth2 = polygons(moved=1)
    check(accuracy_against_polygons(pred, T, UTM, samples_from_geojson(fc2), C, reference=reference), pred, truth2)
    assert len(calls) == 2
    check(accuracy_against_polygons(pred, T, UTM, samples_from_geojson(fc2), C, reference=reference), pred, truth2)
    assert len(calls) == 2
    # Another grid (one pixel to the east): rasterized again.
    shifted = T @ Affine.translation(1, 0)
    accuracy_against_polygons(pred, shifted, UTM, samples_from_geojson(fc2), C, reference=reference)
    assert len(calls) == 3 and calls[-1] == shifted
