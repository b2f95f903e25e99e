"""The toolbox commands end to end on the demo scene, and their bad-input messages (exit 2, one line)."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from desktop_app.cli import main
from desktop_app.core.classes import read_class_raster

SATSEG = [sys.executable, "-m", "desktop_app.cli"]


def _csv(path):
    with open(path, newline="") as fh:
        return {r["class"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def noisy(demo_dir, tmp_path_factory):
    """A speckled map: the minimum-distance classification of the demo scene."""
    out = tmp_path_factory.mktemp("noisy") / "m.tif"
    assert main(["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"), "--method",
                 "min_distance", "--out", str(out), "--json"]) == 0
    return out


def _raster_and_report_agree(raster, report, geojson=None):
    array, _, _, classes = read_class_raster(raster)
    rows = _csv(report)
    for c in classes:
        assert int(rows[c.name]["pixels"]) == int((array == c.id).sum())
    if geojson:
        for f in json.loads(geojson.read_text())["features"]:
            assert f["properties"]["area_m2"] == pytest.approx(float(rows[f["properties"]["class"]]["area_m2"]),
                                                               rel=1e-3)


def test_postprocess_raster_vectors_and_report_describe_the_same_clean_map(noisy, tmp_path, capsys):
    clean, rep, vec = tmp_path / "clean.tif", tmp_path / "a.csv", tmp_path / "v.geojson"
    assert main(["postprocess", str(noisy), "--majority", "3", "--sieve-ha", "0.5", "--out", str(clean),
                 "--report", str(rep), "--vector", str(vec), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["sieve_pixels"] in (50, 51) and d["changed_pixels"] > 0
    _raster_and_report_agree(clean, rep, vec)
    a = read_class_raster(clean)[0]
    from scipy import ndimage
    for v in np.unique(a):
        sizes = np.bincount(ndimage.label(a == v)[0].ravel())[1:]
        assert sizes.min() >= d["sieve_pixels"]            # no patch below the sieve is left


def test_min_area_now_cleans_the_raster_too(demo_dir, tmp_path, capsys):
    out, rep = tmp_path / "c.tif", tmp_path / "r.csv"
    assert main(["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"), "--method",
                 "min_distance", "--out", str(out), "--report", str(rep), "--min-area", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    _raster_and_report_agree(out, rep)
    a = read_class_raster(out)[0]
    assert {c["name"]: c["pixels"] for c in result["classes"]} == {k: int(v["pixels"]) for k, v in _csv(rep).items()
                                                                   if k not in ("unclassified", "nodata")}
    with rasterio.open(out) as ds:
        assert json.loads(ds.tags()["SATSEG_POSTPROCESS"])["sieve_pixels"] == 20
    from scipy import ndimage
    assert min(np.bincount(ndimage.label(a == v)[0].ravel())[1:].min() for v in np.unique(a)) >= 20


def test_sample_design_label_then_accuracy_json_has_area_estimate(demo_dir, noisy, tmp_path, capsys):
    pts = tmp_path / "p.geojson"
    assert main(["sample-design", str(noisy), "--total", "150", "--min-per-class", "20", "--seed", "3",
                 "--out", str(pts)]) == 0
    capsys.readouterr()
    # label every point with the truth raster, as a person would in the app
    truth, transform, _, tclasses = read_class_raster(demo_dir / "truth.tif")
    names = {c.id: c.name for c in tclasses}
    fc = json.loads(pts.read_text())
    for f in fc["features"]:
        f["properties"]["reference"] = names[int(truth[f["properties"]["row"], f["properties"]["col"]])]
    pts.write_text(json.dumps(fc))
    assert main(["accuracy", str(noisy), str(pts), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    est = d["area_estimate"]
    assert set(est) == {"water", "urban", "agriculture", "barren", "forest"}
    for e in est.values():
        assert {"area_m2", "ci95_m2", "users_accuracy", "producers_accuracy"} <= set(e)
    # the estimate is close to the truth's areas (the map is 99 % right), within its own CI + 2 %
    truth_rows = {r["class"]: float(r["area_m2"]) for r in json.loads(
        subprocess.run(SATSEG + ["export", str(demo_dir / "truth.tif"), "--report", str(tmp_path / "t.json")],
                       capture_output=True, text=True, check=True) and (tmp_path / "t.json").read_text())["classes"]}
    for name, e in est.items():
        assert abs(e["area_m2"] - truth_rows[name]) <= e["ci95_m2"] + 0.02 * truth_rows[name]
    assert sum(e["area_m2"] for e in est.values()) == pytest.approx(sum(truth_rows.values()), rel=1e-6)
    assert 0.9 < d["overall_accuracy"] <= 1


def test_polygon_accuracy_keeps_working_with_a_note(demo_dir, noisy, capsys):
    assert main(["accuracy", str(noisy), str(demo_dir / "validation.geojson"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["overall_accuracy"] > 0.9 and "not a probability sample" in d["note"]


def test_change_and_cluster_and_indices_commands(demo_dir, noisy, tmp_path, capsys):
    assert main(["change", str(demo_dir / "truth.tif"), str(noisy), "--out", str(tmp_path / "ch.tif"),
                 "--report", str(tmp_path / "ch.csv"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert np.array(d["pixels"]).sum() == 1000 * 1000
    assert main(["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"), "--bands",
                 "B2,B3,B4,B8,B11", "--indices", "NDVI,MNDWI,WET=(B3-B11)/(B3+B11+B8)", "--out",
                 str(tmp_path / "i.tif"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["bands"] == ["B2", "B3", "B4", "B8", "B11", "NDVI", "MNDWI", "WET"]
    with rasterio.open(tmp_path / "i.tif") as ds:
        assert [i["name"] for i in json.loads(ds.tags()["SATSEG_INDICES"])] == ["NDVI", "MNDWI", "WET"]


@pytest.mark.parametrize("args, message", [
    (["classify", "{d}/scene.tif", "{d}/samples.geojson", "--indices", "NDVI,X=B8/B13", "--out", "{t}/o.tif"],
     "index X needs band B13"),
    (["cluster", "{t}/flat.tif", "--k", "5", "--out", "{t}/o.tif"], "--k 5 is more than the 1 distinct"),
    (["accuracy", "{d}/truth.tif", "{t}/unlabelled.geojson"], "no reference labels"),
    (["change", "{d}/truth.tif", "{t}/far.tif", "--out", "{t}/o.tif"], "the two maps do not overlap"),
    (["postprocess", "{d}/truth.tif", "--majority", "4", "--out", "{t}/o.tif"], "odd number"),
    (["sample-design", "{d}/truth.tif", "--total", "10", "--out", "{t}/o.geojson"], "less than"),
])
def test_bad_input_exits_2_with_one_line(demo_dir, tmp_path, capsys, args, message):
    from affine import Affine

    from desktop_app.core.classes import ClassInfo, write_class_raster

    with rasterio.open(tmp_path / "flat.tif", "w", driver="GTiff", width=16, height=16, count=2, dtype="uint16",
                       crs="EPSG:32643", transform=Affine(10, 0, 500000, 0, -10, 3000000)) as ds:
        ds.write(np.full((2, 16, 16), 1200, np.uint16))
    write_class_raster(tmp_path / "far.tif", np.ones((5, 5), np.uint8), Affine(10, 0, 100000, 0, -10, 1000000),
                       rasterio.crs.CRS.from_epsg(32643), [ClassInfo(1, "water", "#0000ff")])
    (tmp_path / "unlabelled.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [77.7, 29.45]},
         "properties": {"stratum": "water", "reference": None}}]}))
    argv = [a.format(d=demo_dir, t=tmp_path) for a in args]
    assert main(argv) == 2          # main() is what the satseg entry point runs
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("satseg: error:")
    assert not (tmp_path / "o.tif").exists()
