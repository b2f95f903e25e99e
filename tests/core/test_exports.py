"""Exports round-trip: GeoTIFF, GeoJSON, KML, area reports and sample polygons, in three CRSs."""
import csv
import errno
import json
import xml.etree.ElementTree as ET

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core import atomic
from desktop_app.core.areas import class_areas, geodesic_area
from desktop_app.core.classes import ClassInfo, read_class_raster
from desktop_app.core.errors import SatSegError
from desktop_app.core.export_raster import export_class_geotiff
from desktop_app.core.export_vector import kml_color, write_geojson, write_kml
from desktop_app.core.report import CSV_HEADER, write_area_csv, write_area_json
from desktop_app.core.samples import SamplePolygon, read_samples
from desktop_app.core.samples_export import write_samples_geojson, write_samples_kml
from desktop_app.core.vectorize import vectorize_classes

KML_NS = {"k": "http://www.opengis.net/kml/2.2"}
CLASSES = [ClassInfo(1, "water", "#1f78b4"), ClassInfo(2, "urban", "#e31a1c"),
           ClassInfo(3, "forest", "#1b7837"), ClassInfo(4, "empty", "#ffff99")]
GRIDS = {
    "EPSG:4326": (CRS.from_epsg(4326), Affine(0.0005, 0, 10.0, 0, -0.0005, 59.5)),
    "UTM 32N": (CRS.from_epsg(32632), Affine(30, 0, 560000, 0, -30, 6600000)),
    "Web Mercator": (CRS.from_epsg(3857), Affine(60, 0, 1.11e6, 0, -60, 8.29e6)),
}


def _classes_array():
    yy, xx = np.mgrid[0:300, 0:400]
    a = np.where((xx - 120) ** 2 + (yy - 150) ** 2 < 80 ** 2, 1, 3).astype(np.uint8)
    a[(xx > 250) & (yy > 60) & (yy < 240)] = 2
    a[140:160, 110:130] = 3           # a forest island in the lake: a hole
    a[0:20, 300:400] = 0              # unclassified
    a[280:300, 0:50] = 255            # nodata
    return a


@pytest.fixture(params=list(GRIDS))
def grid(request):
    crs, t = GRIDS[request.param]
    return _classes_array(), t, crs


def test_class_geotiff_round_trip(tmp_path, grid):
    a, t, crs = grid
    scores = np.random.default_rng(0).random((len(CLASSES), *a.shape), dtype=np.float32)
    out = export_class_geotiff(tmp_path / "c.tif", a, t, crs, CLASSES, scores=scores, scores_path=tmp_path / "s.tif")
    back, t2, crs2, classes = read_class_raster(out["classes"])
    assert np.array_equal(back, a) and t2 == t and crs2 == crs and classes == CLASSES
    with rasterio.open(out["classes"]) as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 255
        assert ds.profile["tiled"] and ds.compression is not None
        cmap = ds.colormap(1)
        assert cmap[2][:3] == (0xe3, 0x1a, 0x1c) and cmap[4][:3] == (0xff, 0xff, 0x99)
        assert json.loads(ds.tags()["SATSEG_CLASSES"])[0] == {"id": 1, "name": "water", "color": "#1f78b4"}
    with rasterio.open(out["scores"]) as ds:
        assert ds.count == 4 and ds.dtypes[0] == "float32" and ds.descriptions == ("water", "urban", "forest", "empty")
        s = ds.read()
        assert ds.transform == t
    assert np.isnan(s[:, a == 255]).all()
    assert np.allclose(s[:, a != 255], scores[:, a != 255])
    assert not list(tmp_path.glob(".*part"))


def test_score_raster_must_match_the_classes(tmp_path):
    a, t, crs = _classes_array(), *GRIDS["UTM 32N"][::-1]
    with pytest.raises(SatSegError, match="one band per class"):
        export_class_geotiff(tmp_path / "c.tif", a, t, crs, CLASSES, scores=np.zeros((2, 5, 5), np.float32),
                             scores_path=tmp_path / "s.tif")


def test_geojson_round_trip_areas_and_rfc7946(tmp_path, grid):
    a, t, crs = grid
    table = class_areas(a, t, crs, CLASSES)
    path = write_geojson(vectorize_classes(a, t, crs, CLASSES), crs, tmp_path / "c.geojson")
    meta, _, wkb, fields = pyogrio.raw.read(path)
    assert list(meta["fields"]) == ["class", "class_id", "color", "area_m2", "area_ha"]
    assert pyogrio.read_info(path)["crs"] == "EPSG:4326"
    props = [dict(zip(meta["fields"], row)) for row in zip(*fields)]
    assert [p["class"] for p in props] == ["water", "urban", "forest"]          # no polygons for "empty"
    assert [p["color"] for p in props] == ["#1f78b4", "#e31a1c", "#1b7837"]
    doc = json.loads(open(path).read())
    for p, g_wkb, f in zip(props, wkb, doc["features"]):
        geom = shapely.from_wkb(g_wkb)
        assert geom.is_valid
        # RFC 7946 right-hand rule: exteriors counter-clockwise, holes clockwise
        for poly in shapely.get_parts(geom):
            assert poly.exterior.is_ccw and all(not r.is_ccw for r in poly.interiors)
        raster = table.row(int(p["class_id"])).area_m2
        assert p["area_m2"] == pytest.approx(raster, rel=1e-3)                  # the 1 % rule, with room to spare
        assert geodesic_area(geom) == pytest.approx(p["area_m2"], rel=1e-6)
        assert p["area_ha"] == pytest.approx(p["area_m2"] / 1e4, rel=1e-6)
        assert set(f["properties"]) == {"class", "class_id", "color", "area_m2", "area_ha"}
    water = shapely.from_wkb(wkb[0])
    assert any(len(p.interiors) == 1 for p in shapely.get_parts(water))     # the island stays a hole


def _children(el):
    return [c.tag.split("}")[1] for c in el]


# KML 2.2 schema order of the elements written here (AbstractFeatureGroup then container contents)
_FEATURE_ORDER = ["name", "visibility", "open", "description", "styleUrl", "Style", "ExtendedData",
                  "Folder", "Placemark", "Polygon", "MultiGeometry"]


def _assert_schema_order(el):
    tags = _children(el)
    ranks = [_FEATURE_ORDER.index(t) for t in tags if t in _FEATURE_ORDER]
    assert ranks == sorted(ranks), f"{el.tag}: {tags}"


def test_kml_folders_styles_and_descriptions(tmp_path, grid):
    a, t, crs = grid
    feats = vectorize_classes(a, t, crs, CLASSES)
    path = write_kml(feats, crs, tmp_path / "c.kml", opacity=0.4)
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.opengis.net/kml/2.2}kml"
    doc = root.find("k:Document", KML_NS)
    folders = doc.findall("k:Folder", KML_NS)
    assert [f.find("k:name", KML_NS).text for f in folders] == ["water", "urban", "forest"]
    styles = {s.get("id"): s for s in doc.findall("k:Style", KML_NS)}
    table = class_areas(a, t, crs, CLASSES)
    for folder, cls in zip(folders, CLASSES):
        pms = folder.findall("k:Placemark", KML_NS)
        assert len(pms) == 1
        pm = pms[0]
        style = styles[pm.find("k:styleUrl", KML_NS).text.lstrip("#")]
        assert style.find("k:PolyStyle/k:color", KML_NS).text == kml_color(cls.color, 0.4)
        assert style.find("k:PolyStyle/k:color", KML_NS).text[:2] == "66"         # 0.4 * 255
        assert style.find("k:LineStyle/k:color", KML_NS).text[2:] == cls.color[5:7] + cls.color[3:5] + cls.color[1:3]
        desc = pm.find("k:description", KML_NS).text
        assert cls.name in desc and "ha" in desc
        data = {d.get("name"): d.find("k:value", KML_NS).text for d in pm.findall("k:ExtendedData/k:Data", KML_NS)}
        assert data["class"] == cls.name and data["color"] == cls.color
        assert float(data["area_m2"]) == pytest.approx(table.row(cls.id).area_m2, rel=1e-3)
        _assert_schema_order(pm)
    _assert_schema_order(doc)
    for f in folders:
        _assert_schema_order(f)
    # GDAL reads it back: one layer per class folder, polygons valid
    layers = [name for name, _ in pyogrio.list_layers(path)]
    assert layers == ["water", "urban", "forest"]
    _, _, wkb, _ = pyogrio.raw.read(path, layer="water")
    assert shapely.from_wkb(wkb[0]).is_valid


def test_per_patch_kml_has_a_placemark_per_patch(tmp_path):
    crs, t = GRIDS["UTM 32N"]
    a = _classes_array()
    feats = vectorize_classes(a, t, crs, CLASSES, per_patch=True)
    root = ET.parse(write_kml(feats, crs, tmp_path / "p.kml")).getroot()
    n = len(root.findall(".//k:Placemark", KML_NS))
    assert n == len(feats) and n > 3


def test_kml_opacity_out_of_range(tmp_path):
    crs, t = GRIDS["UTM 32N"]
    with pytest.raises(SatSegError, match="opacity"):
        write_kml([], crs, tmp_path / "x.kml", opacity=1.5)


def test_area_report_csv_and_json(tmp_path):
    crs, t = GRIDS["Web Mercator"]
    table = class_areas(_classes_array(), t, crs, CLASSES)
    write_area_csv(table, tmp_path / "r.csv")
    write_area_json(table, tmp_path / "r.json")
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == CSV_HEADER
    assert CSV_HEADER == ["class", "class_id", "color", "pixels", "area_m2", "area_ha", "area_km2", "percent"]
    body = {r[0]: r for r in rows[1:]}
    assert list(body) == ["water", "urban", "forest", "empty", "unclassified", "nodata"]
    assert body["empty"][3:] == ["0", "0.00", "0.000000", "0.00000000", "0.0000"]
    assert body["nodata"][1] == "255" and body["nodata"][3] == "1000" and body["nodata"][7] == ""
    assert body["unclassified"][1] == "0" and body["unclassified"][3] == "2000"
    assert sum(float(body[c][7]) for c in ("water", "urban", "forest", "empty")) == pytest.approx(100, abs=1e-3)
    water = table.row(1)
    assert float(body["water"][4]) == pytest.approx(water.area_m2, abs=0.01)
    assert float(body["water"][5]) == pytest.approx(water.area_m2 / 1e4, rel=1e-6)
    assert float(body["water"][6]) == pytest.approx(water.area_m2 / 1e6, rel=1e-6)
    # ground area at ~60 N is about a quarter of the Web Mercator map area
    assert water.area_m2 < 0.3 * water.pixels * 60 * 60
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [c["class"] for c in doc["classes"]] == ["water", "urban", "forest", "empty"]
    assert doc["classes"][0]["area_m2"] == pytest.approx(water.area_m2)
    assert doc["nodata"]["pixels"] == 1000 and doc["unclassified"]["pixels"] == 2000
    assert doc["crs"] == "EPSG:3857"


def test_class_raster_without_tag_gets_generic_names(tmp_path):
    crs, t = GRIDS["UTM 32N"]
    a = _classes_array()
    with rasterio.open(tmp_path / "plain.tif", "w", driver="GTiff", width=a.shape[1], height=a.shape[0], count=1,
                       dtype="uint8", crs=crs, transform=t, nodata=255) as ds:
        ds.write(a, 1)
    arr, t2, crs2, classes = read_class_raster(tmp_path / "plain.tif")
    assert [c.name for c in classes] == ["class 1", "class 2", "class 3"]
    table = class_areas(arr, t2, crs2, classes)
    write_area_csv(table, tmp_path / "r.csv")
    assert "class 2," in (tmp_path / "r.csv").read_text()
    path = write_geojson(vectorize_classes(arr, t2, crs2, classes), crs2, tmp_path / "g.geojson")
    names = [f["properties"]["class"] for f in json.loads(open(path).read())["features"]]
    assert names == ["class 1", "class 2", "class 3"]


def test_unwritable_destination_is_a_clear_error_and_leaves_nothing(tmp_path):
    crs, t = GRIDS["UTM 32N"]
    table = class_areas(_classes_array(), t, crs, CLASSES)
    with pytest.raises(SatSegError, match="does not exist"):
        write_area_csv(table, tmp_path / "missing" / "r.csv")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SatSegError, match="cannot write"):
        write_area_json(table, tmp_path / "afile" / "r.json")
    with pytest.raises(SatSegError, match="is a folder"):
        write_area_json(table, tmp_path)


def test_full_disk_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    crs, t = GRIDS["UTM 32N"]
    a = _classes_array()
    feats = vectorize_classes(a, t, crs, CLASSES)
    dest = tmp_path / "c.geojson"
    dest.write_text("previous export")

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(SatSegError, match="disk is full"):
        write_geojson(feats, crs, dest)
    with pytest.raises(SatSegError, match="disk is full"):
        write_kml(feats, crs, tmp_path / "c.kml")
    assert dest.read_text() == "previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.geojson"]


def test_samples_round_trip_geojson_and_kml(tmp_path, demo_dir):
    samples = read_samples(demo_dir / "samples.geojson")
    samples.polygons[3].role = "validation"
    for writer, name in ((write_samples_geojson, "s.geojson"), (write_samples_kml, "s.kml")):
        back = read_samples(writer(samples, tmp_path / name))
        assert [c.name for c in back.classes] == [c.name for c in samples.classes]
        assert [c.color for c in back.classes] == [c.color for c in samples.classes]
        assert len(back.polygons) == len(samples.polygons)
        for p, q in zip(samples.polygons, back.polygons):
            assert (q.class_name, q.color, q.role) == (p.class_name, p.color, p.role)
            assert p.geometry.symmetric_difference(q.geometry).area < 1e-6 * p.geometry.area
    # a second trip through KML (reader-added fields) still works and stays clean
    again = read_samples(write_samples_kml(read_samples(tmp_path / "s.kml"), tmp_path / "s2.kml"))
    assert len(again.polygons) == len(samples.polygons)
    assert "drawOrder" not in (tmp_path / "s2.kml").read_text()


def test_samples_export_takes_plain_polygons_and_multipolygons(tmp_path):
    square = shapely.box(77.70, 29.40, 77.71, 29.41)
    two = shapely.MultiPolygon([shapely.box(77.72, 29.40, 77.73, 29.41), shapely.box(77.74, 29.40, 77.75, 29.41)])
    polys = [SamplePolygon(square, "water", "#0000ff"), SamplePolygon(two, "crops", "#00ff00", role="validation",
                                                                      properties={"note": "field survey"})]
    doc = json.loads(open(write_samples_geojson(polys, tmp_path / "p.geojson")).read())
    assert doc["features"][1]["properties"] == {"class": "crops", "color": "#00ff00", "role": "validation",
                                                "note": "field survey"}
    back = read_samples(write_samples_kml(polys, tmp_path / "p.kml"))
    assert back.polygons[1].geometry.geom_type == "MultiPolygon"
    assert back.polygons[1].properties["note"] == "field survey"
    assert back.polygons[0].geometry.equals_exact(square.normalize(), 1e-7) or \
        back.polygons[0].geometry.symmetric_difference(square).area < 1e-12
    with pytest.raises(SatSegError, match="sample polygon 1"):
        write_samples_geojson([SamplePolygon(shapely.Point(0, 0), "x", "#000000")], tmp_path / "bad.geojson")


def test_polygons_across_the_antimeridian_are_split_and_keep_their_area(tmp_path):
    crs, t = CRS.from_epsg(32601), Affine(30, 0, 160000, 0, -30, -1000000)   # UTM 1S, straddling 180°
    a = _classes_array()
    table = class_areas(a, t, crs, CLASSES)
    doc = json.loads(open(write_geojson(vectorize_classes(a, t, crs, CLASSES), crs, tmp_path / "a.geojson")).read())
    lons = []
    for f in doc["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        assert geom.is_valid
        lons.extend(shapely.get_coordinates(geom)[:, 0])
        assert f["properties"]["area_m2"] == pytest.approx(table.row(f["properties"]["class_id"]).area_m2, rel=1e-3)
    lons = np.array(lons)
    assert lons.min() >= -180 and lons.max() <= 180
    assert (lons > 179).any() and (lons < -179).any()               # pieces on both sides
    root = ET.parse(write_kml(vectorize_classes(a, t, crs, CLASSES), crs, tmp_path / "a.kml")).getroot()
    coords = " ".join(c.text for c in root.iter("{http://www.opengis.net/kml/2.2}coordinates"))
    assert all(-180 <= float(xyz.split(",")[0]) <= 180 for xyz in coords.split())
