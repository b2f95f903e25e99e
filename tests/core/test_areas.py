"""Ground areas of class rasters: textbook cells, UTM scale factor, Web Mercator, blocks, table rows."""
import math

import numpy as np
import pytest
import shapely
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.areas import class_areas, geodesic_area, pixel_areas
from desktop_app.core.classes import ClassInfo
from desktop_app.core.errors import SatSegError
from desktop_app.core.geo import WGS84, transform_geometry

A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
B = A * (1 - F)


def textbook_quadrangle_m2(lat1, lat2, dlon_deg):
    """Area of an ellipsoidal quadrangle (e.g. Snyder, Map Projections, eq. 3-12 integrated)."""
    e = math.sqrt(E2)

    def g(lat):
        s = math.sin(math.radians(lat))
        return s / (2 * (1 - E2 * s * s)) + math.log((1 + e * s) / (1 - e * s)) / (4 * e)

    return 2 * math.pi * B * B * dlon_deg / 360.0 * (g(lat2) - g(lat1))


@pytest.mark.parametrize("lat, expected_km2", [(0, 12308.5), (60, 6123.1)])
def test_one_degree_cell_matches_textbook(lat, expected_km2):
    book = textbook_quadrangle_m2(lat, lat + 1, 1.0)
    assert book / 1e6 == pytest.approx(expected_km2, abs=0.1)
    # the raster path: a single 1°x1° pixel of an EPSG:4326 grid
    px = pixel_areas(Affine(1, 0, 30, 0, -1, lat + 1), CRS.from_epsg(4326), 0, 0, 1, 1)[0, 0]
    assert px == pytest.approx(book, rel=1e-9)
    # the vector path: geodesic area of the same cell (edges densified so they follow the parallels)
    cell = shapely.segmentize(shapely.box(30, lat, 31, lat + 1), 0.001)
    assert geodesic_area(cell) == pytest.approx(book, rel=1e-6)
    # ... and the naive scale² would be badly wrong away from the equator
    assert abs((111320.0 ** 2) / book - 1) > (0.003 if lat == 0 else 0.9)


def test_fine_geographic_grid_sums_to_the_cell_and_rows_differ():
    t = Affine(0.01, 0, 30, 0, -0.01, 61)
    areas = pixel_areas(t, CRS.from_epsg(4326), 0, 0, 100, 100)
    assert areas.sum() == pytest.approx(textbook_quadrangle_m2(60, 61, 1.0), rel=1e-9)
    assert areas[0, 0] < areas[-1, 0]                   # further north is smaller
    assert np.allclose(areas[:, 0], areas[:, 57])       # same latitude, same area


def _pixel_geodesic(t, crs, r, c):
    x0, y0 = t.c + t.a * c, t.f + t.e * r
    x1, y1 = x0 + t.a, y0 + t.e
    box = shapely.segmentize(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), abs(t.a) / 10)
    return geodesic_area(transform_geometry(box, crs, WGS84))


@pytest.mark.parametrize("epsg, t", [
    (32643, Affine(10, 0, 499000, 0, -10, 3260000)),    # on the UTM central meridian: k = 0.9996
    (32643, Affine(10, 0, 180000, 0, -10, 3260000)),    # 320 km west of it
    (3857, Affine(10, 0, 8.6e6, 0, -10, 3.43e6)),       # Web Mercator near 29.5 N
    (3857, Affine(30, 0, 1.1e6, 0, -30, 8.4e6)),        # Web Mercator near 60 N
    (4326, Affine(0.0001, 0, 77.7, 0, -0.0001, 29.5)),  # geographic, ~10 m
])
def test_pixel_areas_agree_with_geodesic_pixel_polygons(epsg, t):
    crs = CRS.from_epsg(epsg)
    areas = pixel_areas(t, crs, 0, 0, 200, 300)
    for r, c in [(0, 0), (99, 150), (199, 299), (17, 263)]:
        assert areas[r, c] == pytest.approx(_pixel_geodesic(t, crs, r, c), rel=2e-6)


def test_utm_scale_factor_is_accounted_for():
    t = Affine(10, 0, 499995, 0, -10, 3260000)
    a = pixel_areas(t, CRS.from_epsg(32643), 0, 0, 1, 1)[0, 0]
    # on the central meridian the map shrinks ground by k0 = 0.9996, so a 10 m pixel covers 100/k0² m²
    assert a == pytest.approx(100 / 0.9996 ** 2, rel=2e-5)
    assert a > 100.07


def test_web_mercator_pixel_is_not_scale_squared():
    t = Affine(10, 0, 0, 0, -10, 8399737.9)   # about 60 N
    a = pixel_areas(t, CRS.from_epsg(3857), 0, 0, 1, 1)[0, 0]
    assert 24 < a < 26                          # ~100·cos²(60°)


CLASSES = [ClassInfo(1, "water", "#1f78b4"), ClassInfo(2, "urban", "#e31a1c"), ClassInfo(3, "empty", "#00ff00")]


def _array():
    a = np.ones((300, 500), np.uint8)
    a[:, 200:] = 2
    a[:50, :50] = 0
    a[-10:, :] = 255
    return a


def test_table_rows_zero_class_unclassified_and_nodata():
    a = _array()
    t = Affine(10, 0, 300000, 0, -10, 3300000)
    table = class_areas(a, t, CRS.from_epsg(32643), CLASSES)
    assert [r.class_id for r in table.rows] == [1, 2, 3]
    assert table.row(3).pixels == 0 and table.row(3).area_m2 == 0 and table.row(3).percent == 0
    assert table.unclassified.pixels == 2500 and table.nodata.pixels == 5000
    assert table.unclassified.percent is None and table.nodata.percent is None
    assert sum(r.percent for r in table.rows) == pytest.approx(100)
    assert table.row(1).pixels == (290 * 200 - 2500)
    assert table.row(2).area_ha == pytest.approx(table.row(2).area_m2 / 1e4)
    assert table.row(2).area_km2 == pytest.approx(table.row(2).area_m2 / 1e6)
    # total ground area equals the geodesic area of the raster's footprint
    footprint = shapely.segmentize(shapely.box(300000, 3297000, 305000, 3300000), 100)
    total = sum(r.area_m2 for r in table.all_rows())
    assert total == pytest.approx(geodesic_area(transform_geometry(footprint, CRS.from_epsg(32643), WGS84)), rel=1e-6)
    d = table.to_dict()
    assert d["classes"][2]["class"] == "empty" and d["nodata"]["pixels"] == 5000
    assert d["totals"]["valid_m2"] == pytest.approx(table.classified_m2 + table.unclassified.area_m2)


@pytest.mark.parametrize("epsg, t", [(4326, Affine(0.0003, 0, 10, 0, -0.0003, 59)),
                                     (32632, Affine(10, 0, 160000, 0, -10, 6600000)),
                                     (3857, Affine(20, 0, 1.1e6, 0, -20, 8.4e6))])
def test_blocks_do_not_change_the_result(epsg, t):
    a = _array()
    small = class_areas(a, t, CRS.from_epsg(epsg), CLASSES, block=37)
    big = class_areas(a, t, CRS.from_epsg(epsg), CLASSES, block=4096)
    for r1, r2 in zip(small.all_rows(), big.all_rows()):
        assert r1.pixels == r2.pixels
        assert r1.area_m2 == pytest.approx(r2.area_m2, rel=1e-8)   # interpolation differs by ~1e-9 at most


def test_ids_missing_from_the_class_list_are_reported_not_dropped():
    a = _array()
    a[100:110, 100:110] = 7
    table = class_areas(a, Affine(10, 0, 0, 0, -10, 0), CRS.from_epsg(32643), CLASSES[:2])
    assert table.row(7).pixels == 100 and table.row(7).class_name == "class 7"
    assert table.warnings and "7" in table.warnings[0]


def test_raster_without_crs_is_a_clear_error():
    with pytest.raises(SatSegError, match="no CRS"):
        class_areas(_array(), Affine(10, 0, 0, 0, -10, 0), None, CLASSES)


def test_file_areas_read_in_windows_match_the_array(tmp_path):
    from desktop_app.core.areas import class_areas_of_file
    from desktop_app.core.classes import write_class_raster

    a = _array()
    t = Affine(0.0003, 0, 10, 0, -0.0003, 59)
    write_class_raster(tmp_path / "c.tif", a, t, CRS.from_epsg(4326), CLASSES)
    from_file = class_areas_of_file(tmp_path / "c.tif", block=128)
    in_memory = class_areas(a, t, CRS.from_epsg(4326), CLASSES)
    for r1, r2 in zip(from_file.all_rows(), in_memory.all_rows()):
        assert (r1.class_name, r1.class_id, r1.color, r1.pixels) == (r2.class_name, r2.class_id, r2.color, r2.pixels)
        assert r1.area_m2 == pytest.approx(r2.area_m2, rel=1e-9)
    assert from_file.row(3).class_name == "empty" and from_file.row(3).pixels == 0


def test_pixel_areas_into_a_buffer_are_the_same_numbers():
    """The buffer path (a big image's threshold change) gives bit-identical areas and tallies."""
    from desktop_app.core.areas import block_tally, pixel_areas

    t, crs = Affine(10, 0, 500000, 0, -10, 3300000), CRS.from_epsg(32643)
    buf = np.full(300 * 300, np.nan)
    for r0, c0, h, w in [(0, 0, 300, 300), (4096, 2048, 120, 77), (10000, 10000, 1, 300)]:
        want = pixel_areas(t, crs, r0, c0, h, w)
        assert np.array_equal(pixel_areas(t, crs, r0, c0, h, w, out=buf), want)
        labels = np.random.default_rng(r0).integers(0, 4, (h, w)).astype(np.uint8)
        kept, fresh = block_tally(labels, t, crs, r0, c0, keep=True), block_tally(labels, t, crs, r0, c0, keep=False)
        assert np.array_equal(kept[0], fresh[0]) and np.array_equal(kept[1], fresh[1])
