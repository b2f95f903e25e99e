"""Sample polygons: reading every format, class ids/colours, reprojection onto the raster grid,
nodata, caps, overlaps and every kind of bad input (one clear message, never a traceback)."""
import json

import numpy as np
import pytest
import shapely
from affine import Affine
from rasterio.crs import CRS
from shapely.geometry import Polygon, box, mapping

from desktop_app.core.classes import DEFAULT_PALETTE
from desktop_app.core.errors import SatSegError
from desktop_app.core.geo import WGS84, transform_geometry
from desktop_app.core.geotiff import write_raster
from desktop_app.core.raster import Raster
from desktop_app.core.samples import collect_training, read_samples, samples_from_geojson
from desktop_app.core.sources import open_image

UTM = CRS.from_epsg(32643)
T = Affine(10, 0, 760000, 0, -10, 3262000)
ROWS, COLS = 60, 80


def grid_raster(bands=3, nodata=None) -> Raster:
    """Band 1 = row, band 2 = col, band 3.. = constant: each value says where a pixel is."""
    r, c = np.mgrid[0:ROWS, 0:COLS].astype(np.float32)
    data = np.stack([r, c] + [np.full_like(r, 0.5 + i) for i in range(bands - 2)])
    mask = np.zeros((ROWS, COLS), bool) if nodata is None else nodata
    return Raster(data, T, UTM, [f"B{i + 1}" for i in range(bands)], mask)


def pixel_box(r0, c0, r1, c1, inset=0.25):
    """Polygon in WGS84 covering pixel rows r0..r1-1, cols c0..c1-1 (edges inset by a fraction of a pixel)."""
    x0, y0 = T @ (c0 + inset, r0 + inset)
    x1, y1 = T @ (c1 - inset, r1 - inset)
    return transform_geometry(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)).segmentize(2), UTM, WGS84)


def fc(*features):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": mapping(g)} for g, props in features]}


def two_class_fc():
    return fc((pixel_box(2, 3, 6, 8), {"class": "water", "color": "#0000FF"}),
              (pixel_box(20, 30, 25, 36), {"class": "forest"}),
              (pixel_box(40, 10, 44, 14), {"class": "water"}))


def test_reprojection_from_wgs84_lands_on_the_right_pixels():
    td = collect_training(grid_raster(), samples_from_geojson(two_class_fc()))
    water = td.X[td.y == 1]
    got = {(int(a), int(b)) for a, b in water[:, :2]}
    want = {(r, c) for r in range(2, 6) for c in range(3, 8)} | {(r, c) for r in range(40, 44) for c in range(10, 14)}
    assert got == want
    forest = {(int(a), int(b)) for a, b in td.X[td.y == 2][:, :2]}
    assert forest == {(r, c) for r in range(20, 25) for c in range(30, 36)}
    assert td.pixels_per_class == {1: 36, 2: 30}
    assert td.X.dtype == np.float32 and td.band_names == ["B1", "B2", "B3"]


def test_same_pixels_from_a_geotiff_source_as_from_memory(tmp_path):
    mem = grid_raster()
    mem.data /= 100  # reflectance-like values, so the file is not taken for digital numbers
    path = write_raster(tmp_path / "img.tif", mem)
    s = samples_from_geojson(two_class_fc())
    with open_image(path) as src:
        a = collect_training(src, s)
    b = collect_training(mem, s)
    order_a, order_b = np.lexsort(a.X.T[::-1]), np.lexsort(b.X.T[::-1])
    assert np.array_equal(a.X[order_a], b.X[order_b]) and np.array_equal(a.y[order_a], b.y[order_b])


def test_class_ids_first_appearance_colours_and_palette():
    s = samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "urban"}),
                                (pixel_box(10, 10, 15, 15), {"class": "water", "color": "#00ff00"}),
                                (pixel_box(20, 20, 25, 25), {"class": "urban", "color": "#123456"})))
    assert [(c.id, c.name) for c in s.classes] == [(1, "urban"), (2, "water")]
    assert s.classes[0].color == DEFAULT_PALETTE[0]          # first feature had no colour
    assert s.classes[1].color == "#00ff00"


def test_other_class_field_and_unknown_field_message():
    s = samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"lc": "a"}), (pixel_box(10, 10, 15, 15), {"lc": "b"})), "lc")
    assert [c.name for c in s.classes] == ["a", "b"]
    with pytest.raises(SatSegError, match="class field 'klass'.*fields: lc"):
        samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"lc": "a"})), "klass")


def test_nodata_pixels_are_dropped():
    nodata = np.zeros((ROWS, COLS), bool)
    nodata[2:4, 3:8] = True
    td = collect_training(grid_raster(nodata=nodata), samples_from_geojson(two_class_fc()))
    water = {(int(a), int(b)) for a, b in td.X[td.y == 1][:, :2]}
    assert not any(r in (2, 3) and 3 <= c < 8 for r, c in water)
    assert td.pixels_per_class[1] == 36 - 10
    assert any("nodata" in w for w in td.warnings)


def test_seeded_cap_per_class():
    s = samples_from_geojson(two_class_fc())
    a = collect_training(grid_raster(), s, max_per_class=10, seed=3)
    b = collect_training(grid_raster(), s, max_per_class=10, seed=3)
    c = collect_training(grid_raster(), s, max_per_class=10, seed=4)
    assert a.pixels_per_class == {1: 10, 2: 10}
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)


def test_band_selection_and_mismatched_band_names():
    s = samples_from_geojson(two_class_fc())
    td = collect_training(grid_raster(), s, bands=["B2", "B1"])
    assert td.band_names == ["B2", "B1"] and td.X.shape[1] == 2
    with pytest.raises(SatSegError, match="band 'B9' does not exist"):
        collect_training(grid_raster(), s, bands=["B2", "B9"])


def test_overlapping_polygons_of_two_classes_drop_the_shared_pixels():
    s = samples_from_geojson(fc((pixel_box(0, 0, 10, 10), {"class": "a"}), (pixel_box(5, 5, 15, 15), {"class": "b"})))
    td = collect_training(grid_raster(), s)
    assert td.pixels_per_class == {1: 100 - 25, 2: 100 - 25}
    assert any("different classes" in w and "'a'/'b'" in w for w in td.warnings)


def test_fewer_than_two_classes():
    s = samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "water"})))
    with pytest.raises(SatSegError, match="at least two classes.*water"):
        collect_training(grid_raster(), s)


def test_class_with_fewer_pixels_than_bands_plus_one_is_named():
    s = samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "water"}), (pixel_box(10, 10, 11, 13), {"class": "reed"})))
    with pytest.raises(SatSegError, match="class 'reed' has only 3 training pixel.*at least 4"):
        collect_training(grid_raster(bands=3), s)


def test_polygons_outside_the_image():
    far = transform_geometry(box(100000, 100000, 100100, 100100), UTM, WGS84)
    s = samples_from_geojson(fc((far, {"class": "a"}), (far, {"class": "b"})))
    with pytest.raises(SatSegError, match="none of the training polygons overlaps the image"):
        collect_training(grid_raster(), s)
    s = samples_from_geojson(fc(*[(g, p) for g, p in [(pixel_box(1, 1, 5, 5), {"class": "a"}),
                                                      (pixel_box(10, 10, 15, 15), {"class": "b"}),
                                                      (far, {"class": "b"})]]))
    td = collect_training(grid_raster(), s)
    assert any("feature 3 (class 'b')" in w and "outside" in w for w in td.warnings)
    s = samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "a"}), (far, {"class": "b"})))
    with pytest.raises(SatSegError, match="class 'b' has no usable training pixels"):
        collect_training(grid_raster(), s)


def test_self_intersecting_polygon_is_repaired_and_named():
    x0, y0 = T @ (10, 10)
    x1, y1 = T @ (20, 20)
    bowtie = transform_geometry(Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]), UTM, WGS84)
    assert not bowtie.is_valid
    s = samples_from_geojson(fc((pixel_box(30, 30, 40, 40), {"class": "a"}), (bowtie, {"class": "b"})))
    assert any("feature 2 (class 'b')" in w and "repaired" in w for w in s.warnings)
    td = collect_training(grid_raster(), s)
    assert 30 < td.pixels_per_class[2] < 60       # two triangles of a 10 x 10 px square


def test_degenerate_and_non_polygon_geometries_are_named():
    line = shapely.LineString([(77.7, 29.4), (77.71, 29.41)])
    with pytest.raises(SatSegError, match="feature 1 \\(class 'a'\\) is a LineString"):
        samples_from_geojson(fc((line, {"class": "a"})))
    flat = Polygon([(77.0, 29.0), (77.5, 29.5), (78.0, 30.0), (77.0, 29.0)])
    with pytest.raises(SatSegError, match="feature 1 \\(class 'a'\\) has no area"):
        samples_from_geojson(fc((flat, {"class": "a"})))


def test_missing_class_value_and_bad_role():
    with pytest.raises(SatSegError, match="feature 2 has no value in the class field"):
        samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "a"}), (pixel_box(9, 9, 12, 12), {})))
    with pytest.raises(SatSegError, match="role 'test'"):
        samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "a", "role": "test"})))


def test_roles_training_only_by_default():
    s = samples_from_geojson(fc((pixel_box(1, 1, 5, 5), {"class": "a"}), (pixel_box(10, 10, 15, 15), {"class": "b"}),
                                (pixel_box(30, 30, 40, 40), {"class": "a", "role": "validation"})))
    td = collect_training(grid_raster(), s)
    assert td.pixels_per_class == {1: 16, 2: 25}
    tv = collect_training(grid_raster(), s, role="validation", min_pixels=1)
    assert tv.pixels_per_class == {1: 100}


def write_files(tmp_path):
    import pyogrio.raw

    feats = [(pixel_box(2, 3, 6, 8), "water"), (pixel_box(20, 30, 25, 36), "forest")]
    geoms = np.array([shapely.to_wkb(g) for g, _ in feats], dtype=object)
    fields = [np.array([c for _, c in feats], dtype=object), np.array(["#0000ff", "#00aa00"], dtype=object)]
    paths = {}
    for ext, driver in ((".gpkg", "GPKG"), (".shp", "ESRI Shapefile")):
        p = tmp_path / f"s{ext}"
        pyogrio.raw.write(p, geoms, fields, fields=["class", "color"], geometry_type="Polygon", crs="EPSG:4326",
                          driver=driver)
        paths[ext] = p
    # The same polygons in UTM in a GeoPackage: read_samples must bring them back to WGS84.
    utm = np.array([shapely.to_wkb(transform_geometry(g, WGS84, UTM)) for g, _ in feats], dtype=object)
    pyogrio.raw.write(tmp_path / "utm.gpkg", utm, fields, fields=["class", "color"], geometry_type="Polygon",
                      crs="EPSG:32643", driver="GPKG")
    paths["utm"] = tmp_path / "utm.gpkg"
    import simplekml

    kml = simplekml.Kml()
    for g, c in feats:
        pol = kml.newpolygon(name=c, outerboundaryis=list(g.exterior.coords))
        pol.extendeddata.newdata("class", c)
    kml.save(str(tmp_path / "s.kml"))
    paths[".kml"] = tmp_path / "s.kml"
    (tmp_path / "s.geojson").write_text(json.dumps(fc(*[(g, {"class": c}) for g, c in feats])))
    paths[".geojson"] = tmp_path / "s.geojson"
    return paths


def test_every_file_format_gives_the_same_training_pixels(tmp_path):
    paths = write_files(tmp_path)
    results = {}
    for key, p in paths.items():
        s = read_samples(p)
        assert [c.name for c in s.classes] == ["water", "forest"], key
        results[key] = collect_training(grid_raster(), s).pixels_per_class
    assert all(r == {1: 20, 2: 30} for r in results.values()), results
    assert read_samples(paths[".gpkg"]).classes[1].color == "#00aa00"


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(SatSegError, match="does not exist"):
        read_samples(tmp_path / "nope.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(SatSegError, match="not valid GeoJSON"):
        read_samples(bad)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"garbage")
    with pytest.raises(SatSegError, match="cannot read samples"):
        read_samples(junk)


def test_kml_with_one_folder_per_class_reads_every_folder(tmp_path):
    """Google Earth keeps classes in folders; OGR makes each folder a layer."""
    import simplekml

    kml = simplekml.Kml()
    for cls, x in (("water", 77.70), ("urban", 77.71), ("forest", 77.72)):
        folder = kml.newfolder(name=cls)
        for j in range(2):
            x0 = x + j * 0.001
            folder.newpolygon(name=f"patch {j}", outerboundaryis=[
                (x0, 29.47), (x0 + 0.0005, 29.47), (x0 + 0.0005, 29.4705), (x0, 29.47)])
    kml.save(str(tmp_path / "folders.kml"))
    samples = read_samples(tmp_path / "folders.kml")
    assert [c.name for c in samples.classes] == ["water", "urban", "forest"]
    assert len(samples.polygons) == 6
    assert {p.class_name for p in samples.polygons} == {"water", "urban", "forest"}
