"""Class raster -> polygons: holes, patches, small specks, simplification, and the 1 % area agreement."""
import numpy as np
import pytest
import shapely
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.areas import class_areas
from desktop_app.core.classes import ClassInfo, read_class_raster
from desktop_app.core.errors import SatSegError
from desktop_app.core.export_vector import to_wgs84
from desktop_app.core.vectorize import vectorize_classes

UTM = CRS.from_epsg(32643)
T = Affine(10, 0, 300000, 0, -10, 3300000)
CLASSES = [ClassInfo(1, "water", "#1f78b4"), ClassInfo(2, "urban", "#e31a1c"), ClassInfo(3, "forest", "#1b7837")]


def _scene():
    a = np.full((60, 80), 3, np.uint8)
    a[10:40, 10:40] = 1          # water square ...
    a[20:30, 20:30] = 2          # ... with an urban island: a hole in the water
    a[50, 70] = 2                # a one-pixel urban speck inside forest
    a[45:48, 5:8] = 1            # a 9-pixel water patch
    a[0:5, 60:80] = 0            # unclassified
    a[55:60, 0:10] = 255         # nodata
    return a


def _by_id(features):
    return {f.class_id: f for f in features}


def test_classes_become_multipolygons_with_holes_kept():
    feats = _by_id(vectorize_classes(_scene(), T, UTM, CLASSES))
    assert set(feats) == {1, 2, 3}                       # unclassified / nodata are not vectorised
    water = feats[1].geometry
    assert isinstance(water, shapely.MultiPolygon) and water.is_valid
    big = max(water.geoms, key=lambda p: p.area)
    assert len(big.interiors) == 1 and shapely.Polygon(big.interiors[0]).area == pytest.approx(100 * 100)
    assert water.area == pytest.approx((900 - 100 + 9) * 100)
    assert feats[2].geometry.area == pytest.approx(101 * 100)
    assert feats[1].name == "water" and feats[1].color == "#1f78b4"


def test_per_patch_gives_one_feature_per_connected_patch():
    feats = vectorize_classes(_scene(), T, UTM, CLASSES, per_patch=True)
    counts = {k: sum(f.class_id == k for f in feats) for k in (1, 2, 3)}
    assert counts == {1: 2, 2: 2, 3: 1}
    assert all(isinstance(f.geometry, shapely.Polygon) for f in feats)
    assert sorted(f.properties["patch"] for f in feats if f.class_id == 1) == [1, 2]


def test_min_area_merge_absorbs_specks_into_their_neighbour():
    feats = _by_id(vectorize_classes(_scene(), T, UTM, CLASSES, min_area_px=10))
    assert feats[2].geometry.area == pytest.approx(100 * 100)          # the speck is gone ...
    assert feats[1].geometry.area == pytest.approx((900 - 100) * 100)  # ... and so is the 9-px water patch
    total = sum(f.geometry.area for f in feats.values())
    assert total == pytest.approx((60 * 80 - 100 - 50) * 100)          # nothing lost, nodata not filled


def test_min_area_drop_leaves_specks_out():
    feats = _by_id(vectorize_classes(_scene(), T, UTM, CLASSES, min_area_px=10, small="drop"))
    assert feats[2].geometry.area == pytest.approx(100 * 100)
    assert feats[1].geometry.area == pytest.approx(800 * 100)
    total = sum(f.geometry.area for f in feats.values())
    assert total == pytest.approx((60 * 80 - 100 - 50 - 1 - 9) * 100)


def _staircase():
    """Diagonal class boundaries: pixel staircases that simplification should straighten."""
    yy, xx = np.mgrid[0:200, 0:200]
    a = np.where(xx + 0.6 * yy < 150, 1, np.where(xx - yy > 20, 2, 3)).astype(np.uint8)
    a[160:180, 100:120] = 0     # an unclassified hole inside class 3
    return a


@pytest.mark.parametrize("crs, t", [
    (UTM, T),
    (CRS.from_epsg(4326), Affine(0.0001, 0, 77.7, 0, -0.0001, 29.5)),
    (CRS.from_epsg(3857), Affine(10, 0, 8.65e6, 0, -10, 3.43e6)),
])
def test_simplify_keeps_polygons_valid_and_classes_edge_to_edge(crs, t):
    a = _staircase()
    exact = vectorize_classes(a, t, crs, CLASSES, per_patch=True)
    simple = vectorize_classes(a, t, crs, CLASSES, per_patch=True, simplify_m=15)
    n_exact = sum(shapely.get_num_coordinates(f.geometry) for f in exact)
    n_simple = sum(shapely.get_num_coordinates(f.geometry) for f in simple)
    assert n_simple < n_exact / 4
    geoms = [f.geometry for f in simple]
    assert all(g.is_valid for g in geoms)
    # no overlaps between classes: the union has the summed area
    union = shapely.union_all(geoms)
    assert union.area == pytest.approx(sum(g.area for g in geoms), rel=1e-9)
    # the unclassified hole survives simplification
    assert any(len(p.interiors) == 1 for p in geoms)
    # areas change little (staircases become diagonals through them)
    for k in (1, 2, 3):
        e = sum(f.geometry.area for f in exact if f.class_id == k)
        s = sum(f.geometry.area for f in simple if f.class_id == k)
        assert s == pytest.approx(e, rel=0.02)


def test_simplify_tolerance_is_in_metres_even_for_degrees():
    a = _staircase()
    t = Affine(0.0001, 0, 77.7, 0, -0.0001, 29.5)     # ~11 m x 10 m pixels
    small = vectorize_classes(a, t, CRS.from_epsg(4326), CLASSES, simplify_m=0.5)
    n_small = sum(shapely.get_num_coordinates(f.geometry) for f in small)
    exact = vectorize_classes(a, t, CRS.from_epsg(4326), CLASSES)
    n_exact = sum(shapely.get_num_coordinates(f.geometry) for f in exact)
    assert n_small == pytest.approx(n_exact, rel=0.05)  # half a metre is far below a pixel: nearly nothing removed


def test_bad_options_are_clear_errors():
    with pytest.raises(SatSegError):
        vectorize_classes(_scene(), T, UTM, CLASSES, small="explode")
    with pytest.raises(SatSegError):
        vectorize_classes(_scene(), T, UTM, CLASSES, simplify_m=-1)


def _agreement(features, crs, table):
    got = {}
    for f in to_wgs84(features, crs):
        got[f.class_id] = got.get(f.class_id, 0.0) + f.area_m2
    return {r.class_id: got.get(r.class_id, 0.0) / r.area_m2 - 1 for r in table.rows if r.area_m2 > 0}


def test_demo_scene_vector_areas_agree_with_raster_areas_within_one_percent(demo_dir):
    a, t, crs, classes = read_class_raster(demo_dir / "truth.tif")
    table = class_areas(a, t, crs, classes)
    exact = _agreement(vectorize_classes(a, t, crs, classes), crs, table)
    assert set(exact) == {1, 2, 3, 4, 5}
    assert max(abs(v) for v in exact.values()) < 1e-4      # exact pixel edges: essentially identical
    simplified = _agreement(vectorize_classes(a, t, crs, classes, simplify_m=15, min_area_px=20), crs, table)
    assert max(abs(v) for v in simplified.values()) < 0.01
