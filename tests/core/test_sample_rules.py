"""Sample-polygon rules and writers in the Qt-free core (used by the app and by satseg alike)."""
import pyogrio.raw
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from desktop_app.core.errors import SatSegError
from desktop_app.core.geo import polygon_parts, split_at_antimeridian
from desktop_app.core.samples import SamplePolygon, SampleSet, clean_polygon, geometry_from_geojson, read_samples
from desktop_app.core.samples_export import write_samples

BOWTIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])   # two triangles of area 1 meeting at (1, 1)


def test_invalid_polygon_is_repaired_with_a_note():
    geom, note = clean_polygon(BOWTIE, "drawn polygon")
    assert geom.is_valid and geom.area == pytest.approx(2.0)
    assert len(polygon_parts(geom)) == 2
    assert "drawn polygon was invalid (Self-intersection" in note and "2 part(s)" in note
    assert clean_polygon(box(0, 0, 1, 1), "ok") == (box(0, 0, 1, 1), None)


@pytest.mark.parametrize("geom, message", [
    (LineString([(0, 0), (1, 1)]), "is a LineString; samples must be polygons"),
    (Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]), "has no area"),
    (Polygon(), "has no geometry"),
])
def test_unusable_geometries_are_refused_by_name(geom, message):
    with pytest.raises(SatSegError, match=message):
        clean_polygon(geom, "polygon 7")


def test_malformed_geojson_is_a_clear_error():
    with pytest.raises(SatSegError, match="polygon 3: not a valid GeoJSON geometry"):
        geometry_from_geojson({"type": "Polygon", "coordinates": "nonsense"}, "polygon 3")
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}
    assert geometry_from_geojson(feature, "x").equals(Point(1, 2))


def test_polygon_parts_of_nested_collections():
    nested = GeometryCollection([Point(5, 5), GeometryCollection([box(0, 0, 1, 1), LineString([(0, 0), (3, 3)])]),
                                 MultiPolygon([box(2, 2, 3, 3), box(4, 4, 5, 5)])])
    assert sorted(p.bounds for p in polygon_parts(nested)) == [(0, 0, 1, 1), (2, 2, 3, 3), (4, 4, 5, 5)]
    assert polygon_parts(None) == [] and polygon_parts(Point(0, 0)) == []


def test_split_at_antimeridian_keeps_the_area_in_range():
    across = box(179.5, -17, 180.5, -16)
    parts = split_at_antimeridian(across)
    assert sorted(p.bounds for p in parts.geoms) == [(-180.0, -17.0, -179.5, -16.0), (179.5, -17.0, 180.0, -16.0)]
    assert split_at_antimeridian(box(10, 10, 11, 11)).equals(box(10, 10, 11, 11))


def test_geopackage_written_by_the_core_reads_back(tmp_path):
    samples = SampleSet([
        SamplePolygon(box(77.0, 29.0, 77.1, 29.1), "water", "#1f78b4", "training", {"pid": "a1"}),
        SamplePolygon(MultiPolygon([box(77.2, 29.0, 77.3, 29.1), box(77.4, 29.0, 77.5, 29.1)]), "urban", "#e31a1c",
                      "validation", {"pid": "b2"}),
    ], [])
    path = write_samples(samples, tmp_path / "s.gpkg")
    meta, _fids, geoms, fields = pyogrio.raw.read(path)
    assert meta["crs"] == "EPSG:4326" and meta["geometry_type"] == "MultiPolygon"
    assert list(meta["fields"]) == ["class", "color", "role", "pid"]
    assert [list(f) for f in fields] == [["water", "urban"], ["#1f78b4", "#e31a1c"], ["training", "validation"],
                                        ["a1", "b2"]]
    assert shapely.from_wkb(geoms[1]).equals(samples.polygons[1].geometry)
    back = read_samples(path)
    assert [(p.class_name, p.role) for p in back.polygons] == [("water", "training"), ("urban", "validation")]
    with pytest.raises(SatSegError, match="use .geojson, .kml or .gpkg"):
        write_samples(samples, tmp_path / "s.shp")
    with pytest.raises(SatSegError, match="no sample polygons"):
        write_samples(SampleSet([], []), tmp_path / "e.gpkg")
