"""`satseg export` and the export options shared with `satseg classify`."""
import argparse
import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from desktop_app.cli import main
from desktop_app.commands.export_options import add_export_arguments, run_exports
from desktop_app.core.classes import read_class_raster

SATSEG = [sys.executable, "-m", "desktop_app.cli"]


def _csv(path):
    with open(path, newline="") as fh:
        return {r["class"]: r for r in csv.DictReader(fh)}


def test_export_writes_vector_kml_and_reports_that_agree(demo_dir, tmp_path, capsys):
    out = {k: tmp_path / n for k, n in (("v", "c.geojson"), ("k", "c.kml"), ("c", "r.csv"), ("j", "r.json"))}
    rc = main(["export", str(demo_dir / "truth.tif"), "--vector", str(out["v"]), "--kml", str(out["k"]),
               "--report", str(out["c"]), "--report", str(out["j"]), "--kml-opacity", "0.5"])
    assert rc == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out["v"]), str(out["k"]), str(out["c"]), str(out["j"])]
    report = _csv(out["c"])
    assert list(report) == ["water", "urban", "agriculture", "barren", "forest", "unclassified", "nodata"]
    feats = json.loads(out["v"].read_text())["features"]
    assert [f["properties"]["class"] for f in feats] == ["water", "urban", "agriculture", "barren", "forest"]
    for f in feats:
        raster = float(report[f["properties"]["class"]]["area_m2"])
        assert f["properties"]["area_m2"] == pytest.approx(raster, rel=0.01)
        assert f["properties"]["color"] == report[f["properties"]["class"]]["color"]
    kml = ET.parse(out["k"]).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(kml.findall("k:Document/k:Folder", ns)) == 5
    assert all(c.text.startswith("80") for c in kml.findall(".//k:PolyStyle/k:color", ns))
    doc = json.loads(out["j"].read_text())
    assert doc["classes"][2]["pixels"] == int(report["agriculture"]["pixels"])


def test_export_options_are_reusable_from_another_command(demo_dir, tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("image")
    add_export_arguments(parser)
    args = parser.parse_args(["x.tif", "--vector", str(tmp_path / "v.geojson"), "--min-area", "50",
                              "--simplify", "20", "--per-patch", "--small", "drop"])
    result = run_exports(args, demo_dir / "truth.tif")
    assert result["vector"] == str(tmp_path / "v.geojson") and result["kml"] is None and result["reports"] == []
    feats = json.loads((tmp_path / "v.geojson").read_text())["features"]
    assert len(feats) == result["features"] > 5                      # one feature per patch
    assert all(f["properties"]["area_m2"] >= 50 * 99 for f in feats)  # small patches dropped (~99.9 m² a pixel)
    assert {f["properties"]["patch"] for f in feats} >= {1, 2}
    table = result["areas"]
    assert table.row(3).class_name == "agriculture" and table.row(3).pixels > 0


def test_export_without_outputs_prints_the_area_table(demo_dir, capsys):
    assert main(["export", str(demo_dir / "truth.tif")]) == 0
    out = capsys.readouterr().out
    assert "agriculture" in out and "unclassified" in out and "WGS 84" in out


def test_export_geotiff_rewrites_the_class_map(demo_dir, tmp_path):
    assert main(["export", str(demo_dir / "truth.tif"), "--geotiff", str(tmp_path / "c.tif")]) == 0
    a, t, crs, classes = read_class_raster(demo_dir / "truth.tif")
    b, t2, crs2, classes2 = read_class_raster(tmp_path / "c.tif")
    assert np.array_equal(a, b) and t == t2 and crs == crs2 and classes == classes2


@pytest.mark.parametrize("make_args, message", [
    (lambda d, t: ["export", str(d / "truth.tif"), "--vector", str(t / "nope" / "v.geojson")], "does not exist"),
    (lambda d, t: ["export", str(d / "scene.tif"), "--report", str(t / "r.csv")], "not a class raster"),
    (lambda d, t: ["export", str(t / "missing.tif"), "--report", str(t / "r.csv")], "missing.tif"),
    (lambda d, t: ["export", str(d / "truth.tif"), "--simplify", "-5"], "must not be negative"),
    (lambda d, t: ["export", str(d / "truth.tif"), "--kml-opacity", "2"], "between 0 and 1"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(demo_dir, tmp_path, capsys, make_args, message):
    try:
        rc = main(make_args(demo_dir, tmp_path))
    except SystemExit as exc:           # argparse rejects bad option values itself
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("satseg: error:", "satseg export: error:"))
    assert not list(tmp_path.rglob("*.csv")) and not list(tmp_path.rglob("*.geojson"))


def test_unwritable_output_from_a_real_process(demo_dir, tmp_path):
    p = subprocess.run(SATSEG + ["export", str(demo_dir / "truth.tif"), "--kml", str(tmp_path / "no" / "c.kml")],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [f"satseg: error: cannot write --kml {tmp_path / 'no' / 'c.kml'}: "
                                             f"its folder does not exist"]


def test_all_unclassified_raster_exports_empty_files_with_a_warning(tmp_path, capsys):
    from affine import Affine
    from rasterio.crs import CRS

    from desktop_app.core.classes import ClassInfo, write_class_raster

    a = np.zeros((50, 60), np.uint8)
    a[:10] = 255
    write_class_raster(tmp_path / "c.tif", a, Affine(10, 0, 500000, 0, -10, 3000000), CRS.from_epsg(32643),
                       [ClassInfo(1, "water", "#1f78b4")])
    assert main(["export", str(tmp_path / "c.tif"), "--vector", str(tmp_path / "v.geojson"),
                 "--report", str(tmp_path / "r.csv")]) == 0
    assert "no classified pixels" in capsys.readouterr().out
    assert json.loads((tmp_path / "v.geojson").read_text())["features"] == []
    rows = _csv(tmp_path / "r.csv")
    assert rows["water"]["pixels"] == "0"
    assert rows["unclassified"]["pixels"] == "2400" and rows["nodata"]["pixels"] == "600"
