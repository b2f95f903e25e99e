"""`satseg classify` and `satseg accuracy` end to end on a small demo scene, and their bad-input messages."""
import json

import numpy as np
import pytest
import rasterio

from desktop_app.cli import main
from desktop_app.core.demo_scene import write_demo_scene
from desktop_app.core.geotiff import CLASSES_TAG


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    write_demo_scene(d, size=200)
    return d


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_writes_class_raster_and_json(demo, tmp_path, capsys):
    out = tmp_path / "classes.tif"
    code, stdout, err = run(capsys, "classify", demo / "scene.tif", demo / "samples.geojson",
                            "--method", "max_likelihood", "--out", out, "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert [c["name"] for c in d["classes"]] == ["water", "urban", "agriculture", "barren", "forest"]
    assert set(d["classes"][0]) >= {"id", "name", "color", "pixels", "area_m2"}
    assert d["nodata"] == 0 and d["unclassified"] == 0 and d["seconds"] > 0
    assert sum(c["pixels"] for c in d["classes"]) == 200 * 200
    assert d["classes"][0]["area_m2"] == pytest.approx(d["classes"][0]["pixels"] * 100, rel=2e-3)
    with rasterio.open(out) as ds, rasterio.open(demo / "scene.tif") as img:
        assert ds.dtypes[0] == "uint8" and ds.transform == img.transform and ds.crs == img.crs
        assert ds.shape == img.shape
        tag = json.loads(ds.tags()[CLASSES_TAG])
        assert [c["name"] for c in tag] == ["water", "urban", "agriculture", "barren", "forest"]
        assert ds.colormap(1)[5][:3] == (0x1b, 0x78, 0x37)

    code, stdout, err = run(capsys, "accuracy", out, demo / "truth.tif", "--json")
    assert code == 0, err
    acc = json.loads(stdout)
    assert set(acc) >= {"overall_accuracy", "kappa", "confusion_matrix", "per_class"}
    assert acc["overall_accuracy"] > 0.9 and len(acc["confusion_matrix"]) == 5

    code, stdout, err = run(capsys, "accuracy", out, demo / "validation.geojson")
    assert code == 0 and "overall accuracy" in stdout and "kappa" in stdout


def test_thresholds_bands_and_text_output(demo, tmp_path, capsys):
    out = tmp_path / "c.tif"
    code, stdout, err = run(capsys, "classify", demo / "scene.tif", demo / "samples.geojson", "--out", out,
                            "--bands", "B2,B3,B4,B8", "--threshold", "2.5", "--threshold", "water=6", "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert d["bands"] == ["B2", "B3", "B4", "B8"] and d["method"] == "mahalanobis"
    assert d["thresholds"] == {"1": 6.0, "2": 2.5, "3": 2.5, "4": 2.5, "5": 2.5}
    assert d["unclassified"] > 0
    code, stdout, err = run(capsys, "classify", demo / "scene.tif", demo / "samples.geojson", "--out", out,
                            "--method", "min_distance")
    assert code == 0 and "water" in stdout and "unclassified 0 px" in stdout


@pytest.mark.parametrize("args, message", [
    (["--threshold", "lake=3"], "unknown class 'lake'"),
    (["--threshold", "water=abc"], "'abc' is not a number"),
    (["--method", "max_likelihood", "--threshold", "2"], "out of range for Maximum likelihood"),
    (["--class-field", "landcover"],
     "class field 'landcover' (fields: class, color, role); choose the field with --class-field"),
    (["--bands", "B2,B99"], "band 'B99' does not exist"),
    (["--bands", ""], "--bands is empty"),            # given but empty is a mistake, not "all bands"
    (["--bands", " , "], "--bands is empty"),
])
def test_bad_options_give_one_clear_line(demo, tmp_path, capsys, args, message):
    out = tmp_path / "c.tif"
    code, stdout, err = run(capsys, "classify", demo / "scene.tif", demo / "samples.geojson", "--out", out, *args)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_max_likelihood_threshold_one_accepts_every_pixel(demo, tmp_path, capsys):
    # p = 1 is the whole chi-square range: nothing is rejected, the result is the unthresholded one.
    outs = {}
    for name, extra in (("p1", ["--threshold", "1.0"]), ("off", [])):
        outs[name] = tmp_path / f"{name}.tif"
        code, stdout, err = run(capsys, "classify", demo / "scene.tif", demo / "samples.geojson", "--out",
                                outs[name], "--method", "max_likelihood", "--json", *extra)
        assert code == 0, err
        assert json.loads(stdout)["unclassified"] == 0
    with rasterio.open(outs["p1"]) as a, rasterio.open(outs["off"]) as b:
        assert np.array_equal(a.read(1), b.read(1))


def test_bad_samples_give_one_clear_line(demo, tmp_path, capsys):
    fc = json.loads((demo / "samples.geojson").read_text())
    one = dict(fc, features=[f for f in fc["features"] if f["properties"]["class"] == "water"])
    (tmp_path / "one.geojson").write_text(json.dumps(one))
    code, _, err = run(capsys, "classify", demo / "scene.tif", tmp_path / "one.geojson", "--out", tmp_path / "c.tif")
    assert code == 2 and "at least two classes" in err and "water" in err
    far = json.loads(json.dumps(fc))
    for f in far["features"]:
        f["geometry"]["coordinates"] = [[[x + 5, y] for x, y in ring] for ring in f["geometry"]["coordinates"]]
    (tmp_path / "far.geojson").write_text(json.dumps(far))
    code, _, err = run(capsys, "classify", demo / "scene.tif", tmp_path / "far.geojson", "--out", tmp_path / "c.tif")
    assert code == 2 and "overlaps the image" in err
    code, _, err = run(capsys, "accuracy", tmp_path / "missing.tif", demo / "truth.tif")
    assert code == 2 and "does not exist" in err
