"""The synthetic demo scene: deterministic, realistic spectra, sensible samples."""
import hashlib
import json

import numpy as np
import shapely

from desktop_app.core.classes import read_class_raster
from desktop_app.core.demo_scene import CLASSES, DEMO_CRS, make_demo_scene
from desktop_app.core.geo import WGS84, transform_geometry
from desktop_app.core.sources import open_image


def test_same_seed_same_bytes_other_seed_differs():
    a = make_demo_scene(seed=3, size=200)
    b = make_demo_scene(seed=3, size=200)
    c = make_demo_scene(seed=4, size=200)
    digest = lambda s: hashlib.sha256(s.image.data.tobytes() + s.truth.tobytes()).hexdigest()
    assert digest(a) == digest(b) != digest(c)
    assert a.samples == b.samples


def test_written_scene_is_a_twelve_band_utm_image_near_muzaffarnagar(demo_dir):
    with open_image(demo_dir / "scene.tif") as src:
        assert src.band_names == ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]
        assert src.crs == DEMO_CRS and src.res == (10, 10) and src.shape == (1000, 1000)
        from desktop_app.core.geo import bounds_to_wgs84
        w, s, e, n = bounds_to_wgs84(src.bounds, src.crs)
    assert w < 77.70 < e and s < 29.47 < n


def test_class_spectra_are_ordered_like_real_surfaces(demo_dir):
    truth, _, _, classes = read_class_raster(demo_dir / "truth.tif")
    assert [c.name for c in classes] == ["water", "urban", "agriculture", "barren", "forest"]
    with open_image(demo_dir / "scene.tif") as src:
        img = src.read()
    mean = {c.name: img.data[:, truth == c.id].mean(axis=1) for c in classes}
    b = {n: i for i, n in enumerate(img.band_names)}
    nir, red, swir = b["B8"], b["B4"], b["B11"]
    # water is dark in the NIR, vegetation bright; vegetation red < NIR (red edge)
    assert mean["water"][nir] < 0.05 < mean["forest"][nir] < mean["agriculture"][nir]
    assert mean["agriculture"][red] < mean["agriculture"][nir] / 3
    # bare soil is brighter than urban in SWIR, urban brighter than water everywhere
    assert mean["barren"][swir] > mean["urban"][swir] > mean["water"][swir]
    assert np.all(mean["urban"] > mean["water"])
    # within-class variation exists but classes are separable
    std_agri = img.data[nir][truth == 3].std()
    assert 0.01 < std_agri < 0.1


def test_every_class_is_present_and_samples_cover_a_small_pure_share(demo_dir):
    truth, transform, crs, _ = read_class_raster(demo_dir / "truth.tif")
    fc = json.loads((demo_dir / "samples.geojson").read_text())
    names = [f["properties"]["class"] for f in fc["features"]]
    assert list(dict.fromkeys(names)) == [c.name for c in CLASSES]
    assert all(f["properties"]["color"].startswith("#") and len(f["properties"]["color"]) == 7 for f in fc["features"])
    from rasterio.features import rasterize
    for cls in CLASSES:
        geoms = [transform_geometry(shapely.geometry.shape(f["geometry"]), WGS84, crs)
                 for f in fc["features"] if f["properties"]["class"] == cls.name]
        covered = rasterize(geoms, out_shape=truth.shape, transform=transform).astype(bool)
        assert covered.sum() > 50
        assert (truth[covered] == cls.id).mean() > 0.97  # polygons sit inside their class
        assert covered.sum() / (truth == cls.id).sum() < 0.2  # a small share of the class
    for f in fc["features"]:
        assert shapely.geometry.shape(f["geometry"]).is_valid


def test_roi_lies_inside_the_scene(demo_dir):
    roi = json.loads((demo_dir / "roi.geojson").read_text())
    geom = shapely.geometry.shape(roi["features"][0]["geometry"])
    with open_image(demo_dir / "scene.tif") as src:
        from desktop_app.core.geo import bounds_to_wgs84
        box = shapely.box(*bounds_to_wgs84(src.bounds, src.crs))
    assert box.contains(geom) and geom.area > 0.5 * box.area


def test_the_smallest_allowed_scene_builds():
    scene = make_demo_scene(size=64)
    assert scene.image.shape == (64, 64) and scene.truth.shape == (64, 64)
    assert set(np.unique(scene.truth)) <= {1, 2, 3, 4, 5}
