"""ROI parsing, UTM grids, antimeridian and zone boundaries, request validation."""
from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
import shapely

from desktop_app.core.errors import SatSegError
from desktop_app.core.geo import WGS84, transform_geometry
from desktop_app.core.online.fetch import FetchRequest, default_date_range
from desktop_app.core.online.roi import parse_roi


def poly(coords):
    return {"type": "Polygon", "coordinates": [coords + [coords[0]]]}


def test_grid_is_utm_aligned_and_covers_the_roi():
    roi = parse_roi({"type": "Feature", "properties": {}, "geometry": poly([[77.0, 28.5], [77.1, 28.5], [77.1, 28.6], [77.0, 28.6]])})
    assert roi.crs.to_epsg() == 32643
    for scale in (10, 20, 30, 60):
        g = roi.grid(scale)
        assert g.transform.a == scale and g.transform.e == -scale
        assert g.transform.c % scale == 0 and g.transform.f % scale == 0
        l, b, r, t = g.bounds
        minx, miny, maxx, maxy = roi.projected.bounds
        assert l <= minx < l + scale and r - scale < maxx <= r and b <= miny < b + scale and t - scale < maxy <= t
    mask = roi.mask(roi.grid(60))
    assert mask.any() and (~mask).mean() > 0.95  # a lon/lat box is a slightly rotated square in UTM


def test_southern_hemisphere_uses_south_zone():
    assert parse_roi(poly([[-47.9, -15.8], [-47.8, -15.8], [-47.8, -15.7]])).crs.to_epsg() == 32723


@pytest.mark.parametrize("coords", [
    [[179.9, -17.0], [-179.9, -17.0], [-179.9, -16.8], [179.9, -16.8]],   # wrapped longitudes
    [[179.9, -17.0], [180.1, -17.0], [180.1, -16.8], [179.9, -16.8]],     # Leaflet keeps drawing east
])
def test_antimeridian_roi_is_one_small_region(coords):
    roi = parse_roi(poly(coords))
    assert roi.crosses_antimeridian
    # The centre is at 180° exactly, which is -180°: the first zone (1S), not the last (60S).
    assert roi.crs.to_epsg() == 32701
    g = roi.grid(10)
    # 0.2 degrees at 17 S is ~21 km wide, not the whole planet.
    assert 2000 < g.width < 2300 and 2100 < g.height < 2400
    parts = roi.wgs84_parts()
    assert parts.geom_type == "MultiPolygon" and len(parts.geoms) == 2
    w, s, e, n = parts.bounds
    assert w >= -180 and e <= 180
    assert abs(sum(p.area for p in parts.geoms) - roi.geometry.area) < 1e-9


def test_roi_across_a_utm_zone_boundary_uses_the_zone_of_its_centre():
    # 77.98..78.10 E straddles the 43N/44N boundary at 78 E; the centre is in 44N.
    roi = parse_roi(poly([[77.98, 28.5], [78.10, 28.5], [78.10, 28.6], [77.98, 28.6]]))
    assert roi.crs.to_epsg() == 32644
    g = roi.grid(10)
    projected = roi.projected
    # The whole ROI, including the part west of 78 E, is inside the grid.
    west = transform_geometry(shapely.box(77.98, 28.5, 78.0, 28.6), WGS84, roi.crs)
    assert shapely.box(*g.bounds).contains(west) and shapely.box(*g.bounds).contains(projected)
    roi2 = parse_roi(poly([[77.90, 28.5], [78.02, 28.5], [78.02, 28.6], [77.90, 28.6]]))
    assert roi2.crs.to_epsg() == 32643


@pytest.mark.parametrize("obj, message", [
    ({"type": "Point", "coordinates": [77, 28]}, "is a Point; draw a polygon"),
    ({"type": "FeatureCollection", "features": []}, "has no polygons"),
    ({"type": "Feature", "properties": {}, "geometry": None}, "feature|has no geometry"),
    (poly([[77, 28], [77.1, 28.1], [77.1, 28], [77, 28.1]]), "not a valid polygon .*Self-intersection"),
    (poly([[77, 28], [77.1, 28], [77.2, 28]]), "empty or has zero area"),
    (poly([[500000, 3100000], [510000, 3100000], [510000, 3110000]]), "outside -360..360; is it in lon/lat"),
    (poly([[10, 85], [11, 85], [11, 86]]), "Sentinel-2 and UTM stop at 84"),
    (poly([[0, 10], [20, 10], [20, 11]]), "spans 20.0 degrees of longitude"),
    ({"type": "Topology"}, "not a GeoJSON Feature"),
])
def test_invalid_roi_is_a_one_line_error(obj, message):
    with pytest.raises(SatSegError, match=message):
        parse_roi(obj)


def test_roi_from_file_and_bad_files(tmp_path):
    p = tmp_path / "roi.geojson"
    p.write_text(json.dumps(poly([[77.0, 28.5], [77.1, 28.5], [77.1, 28.6]])))
    assert parse_roi(p).crs.to_epsg() == 32643
    assert parse_roi(str(p)).crs.to_epsg() == 32643
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(SatSegError, match="bad.geojson is not valid GeoJSON"):
        parse_roi(bad)
    with pytest.raises(SatSegError, match="does not exist"):
        parse_roi(tmp_path / "missing.geojson")


def test_roi_too_large_for_the_scale():
    roi = parse_roi(poly([[70.0, 20.0], [72.5, 20.0], [72.5, 22.5], [70.0, 22.5]]))
    with pytest.raises(SatSegError, match="ROI too large for 10 m pixels.*choose a coarser scale"):
        roi.grid(10)
    g = roi.grid(60)  # the same ROI is fine at 60 m
    assert g.width * g.height < 400_000_000


def test_request_validation():
    roi = poly([[77.0, 28.5], [77.1, 28.5], [77.1, 28.6]])
    ok = FetchRequest(source="stac", roi=roi, start="2024-01-01", end="2024-01-31", bands=["b04", "B8", "b8a"])
    c = ok.checked()
    assert c.bands == ["B4", "B8", "B8A"] and c.end == dt.date(2024, 1, 31)
    cases = [
        (dict(start="2024-02-01", end="2024-01-01"), "end date 2024-01-01 is before start date 2024-02-01"),
        (dict(start="2024-13-01", end="2024-12-31"), "start date '2024-13-01' is not a date"),
        (dict(start="2024-01-01"), "both a start and an end"),
        (dict(start="2999-01-01", end="2999-01-02"), "in the future"),
        (dict(bands=["B4", "B99"]), "band\\(s\\) B99 not available"),
        (dict(bands=["B4", "B04"]), "repeats a band"),
        (dict(bands=["B10"], source="earthengine"), "B10 not available"),
        (dict(scale=5), "scale 5 m is outside"),
        (dict(source="planet"), "unknown imagery source 'planet'"),
        (dict(composite="max"), "unknown composite 'max'"),
        (dict(max_cloud=0), "cloud limit"),
    ]
    for kw, message in cases:
        args = dict(source="stac", roi=roi, start="2024-01-01", end="2024-01-31", bands=["B4"])
        args.update(kw)
        if "end" not in kw and "start" in kw and kw["start"] == "2024-01-01":
            args.pop("end")
        with pytest.raises(SatSegError, match=message):
            FetchRequest(**args).checked()


def test_default_date_range_is_the_last_full_month():
    assert default_date_range(dt.date(2024, 3, 15)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert default_date_range(dt.date(2024, 1, 1)) == (dt.date(2023, 12, 1), dt.date(2023, 12, 31))
    req = FetchRequest(source="stac", roi=poly([[77.0, 28.5], [77.1, 28.5], [77.1, 28.6]]))
    c = req.checked()
    assert (c.start, c.end) == default_date_range()


def test_importing_online_core_does_not_import_ee_or_network_clients():
    import subprocess

    code = ("import sys, desktop_app.core.online, desktop_app.core.online.fetch, desktop_app.core.online.earthengine, "
            "desktop_app.commands.fetch; "
            "bad = [m for m in ('ee', 'pystac_client', 'googleapiclient', 'PySide6') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_plan_fetch_sizes_a_request_offline(tmp_path):
    from desktop_app.core.online import plan_fetch

    req = FetchRequest(source="earthengine", roi=poly([[77.0, 28.5], [77.1, 28.5], [77.1, 28.6], [77.0, 28.6]]),
                       start="2024-01-01", end="2024-01-31", bands=["B4", "B3", "B2"], scale=10)
    plan = plan_fetch(req, tmp_path)
    assert plan.crs.to_epsg() == 32643 and plan.scale == 10 and not plan.cached
    assert 950 < plan.width < 1050 and 1080 < plan.height < 1140
    assert plan.tile_size == 1024 and plan.tiles == 2  # 999 x 1126 px: one column, two rows
    assert abs(plan.megabytes - plan.width * plan.height * 3 * 2 / 2 ** 20) < 1e-9
    big = FetchRequest(source="stac", roi=poly([[70.0, 20.0], [72.5, 20.0], [72.5, 22.5], [70.0, 22.5]]),
                       start="2024-01-01", end="2024-01-31", bands=["B4"], scale=10)
    with pytest.raises(SatSegError, match="ROI too large for 10 m"):
        plan_fetch(big)


def test_tile_cache_saves_atomically_and_drops_damaged_tiles(tmp_path):
    import numpy as np

    from desktop_app.core.online.tile_cache import TileCache
    from desktop_app.core.online.tiling import plan_tiles

    cache = TileCache(tmp_path, "k1")
    tiles = plan_tiles(100, 70, 64)
    data = np.arange(2 * 64 * 64, dtype=np.uint16).reshape(2, 64, 64)
    cache.save(tiles[0], data)
    assert cache.missing(tiles) == tiles[1:] and not list(cache.dir.glob("*.part"))
    np.testing.assert_array_equal(cache.load(tiles[0]), data)
    with pytest.raises(ValueError, match="expected"):
        cache.save(tiles[1], data)  # tile 1 is 36 px wide
    cache.path(tiles[0]).write_bytes(b"truncated")
    with pytest.raises(SatSegError, match="damaged and was removed"):
        cache.load(tiles[0])
    assert cache.missing(tiles) == tiles
