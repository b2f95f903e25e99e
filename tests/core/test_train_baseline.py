"""`satseg train --baseline`: a band folder without metadata is scaled by the stated processing baseline,
and the model file keeps how it was read (docs/sentinel2.md)."""
import json
import zipfile

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from desktop_app.cli import main

# Digital numbers per class and band; the left half of the image is water, the right half crop.
DN = {"water": {"B02": 1200, "B04": 1100, "B08": 1050}, "crop": {"B02": 1400, "B04": 1300, "B08": 4000}}
X0, Y0 = 600000, 3300000


@pytest.fixture
def folder_and_samples(tmp_path):
    """B02/B04/B08 at 10 m (40 x 40 px), no MTD_MSIL2A.xml, no STAC item, no N#### in the name."""
    folder = tmp_path / "copied_bands"
    folder.mkdir()
    for band in ("B02", "B04", "B08"):
        a = np.empty((40, 40), np.uint16)
        a[:, :20], a[:, 20:] = DN["water"][band], DN["crop"][band]
        with rasterio.open(folder / f"{band}.tif", "w", driver="GTiff", width=40, height=40, count=1,
                           dtype="uint16", nodata=0, crs=CRS.from_epsg(32643),
                           transform=Affine(10, 0, X0, 0, -10, Y0)) as ds:
            ds.write(a, 1)

    def square(x, name):   # 10 x 10 px inside one half
        ring = [[x, Y0 - 50], [x + 100, Y0 - 50], [x + 100, Y0 - 150], [x, Y0 - 150], [x, Y0 - 50]]
        return {"type": "Feature", "properties": {"class": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}

    samples = tmp_path / "samples.geojson"
    samples.write_text(json.dumps({"type": "FeatureCollection",
                                   "crs": {"type": "name", "properties": {"name": "EPSG:32643"}},
                                   "features": [square(X0 + 50, "water"), square(X0 + 250, "crop")]}))
    return folder, samples


def _train(capsys, folder, samples, out, *extra):
    assert main(["train", str(folder), str(samples), "--method", "min_distance", "--out", str(out),
                 "--json", *extra]) == 0
    result = json.loads(capsys.readouterr().out)
    with zipfile.ZipFile(out) as z:
        model = json.loads(z.read("model.json"))
    means = {s["class"]: s["mean"] for s in model["signatures"]["signatures"]}
    return result, model, means


def test_train_reads_the_folder_with_the_stated_baseline(folder_and_samples, tmp_path, capsys):
    folder, samples = folder_and_samples
    r4, m4, means4 = _train(capsys, folder, samples, tmp_path / "b04.satseg-model", "--baseline", "04.00")
    r3, m3, means3 = _train(capsys, folder, samples, tmp_path / "b03.satseg-model", "--baseline", "03.00")
    assert m4["bands"] == m3["bands"] == ["B2", "B4", "B8"]
    for name, dn in DN.items():
        # By hand: reflectance = (DN + BOA_ADD_OFFSET) / 10000, the offset -1000 from baseline 04.00 on.
        assert means4[name] == pytest.approx([(dn[b] - 1000) / 10000 for b in ("B02", "B04", "B08")], abs=1e-6)
        assert means3[name] == pytest.approx([dn[b] / 10000 for b in ("B02", "B04", "B08")], abs=1e-6)
    assert means4["water"] == pytest.approx([0.02, 0.01, 0.005], abs=1e-6)
    assert means3["water"] == pytest.approx([0.12, 0.11, 0.105], abs=1e-6)
    # Stated: no warning; the model file and the report keep how the pixels were read.
    assert r4["warnings"] == [] and r3["warnings"] == []
    assert m4["baseline"] == r4["baseline"] == {"processing_baseline": "04.00", "baseline_from": "user",
                                                "baseline_offset_dn": -1000.0}
    assert m3["baseline"] == {"processing_baseline": "03.00", "baseline_from": "user", "baseline_offset_dn": 0.0}


def test_an_unknown_baseline_is_warned_at_training_and_when_the_model_is_applied(folder_and_samples, tmp_path,
                                                                                 capsys):
    folder, samples = folder_and_samples
    result, model, means = _train(capsys, folder, samples, tmp_path / "unknown.satseg-model")
    assert any("--baseline 04.00" in w for w in result["warnings"]), result["warnings"]
    assert means["water"] == pytest.approx([0.12, 0.11, 0.105], abs=1e-6)   # read with no offset
    assert model["baseline"] == {"processing_baseline": None, "baseline_from": None, "baseline_offset_dn": 0.0}

    # Applied to a scene read right, the model says it may expect pixels 0.1 too bright.
    out = tmp_path / "c.tif"
    assert main(["classify", str(folder), "--model", str(tmp_path / "unknown.satseg-model"), "--out", str(out),
                 "--baseline", "04.00", "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("unknown.satseg-model was trained on a Sentinel-2 band folder whose processing baseline was "
               "unknown" in w and "0.1 too high" in w for w in warnings), warnings


def test_a_model_trained_with_the_baseline_classifies_the_folder_read_the_same_way(folder_and_samples, tmp_path,
                                                                                   capsys):
    folder, samples = folder_and_samples
    _train(capsys, folder, samples, tmp_path / "b04.satseg-model", "--baseline", "04.00")
    out = tmp_path / "c.tif"
    assert main(["classify", str(folder), "--model", str(tmp_path / "b04.satseg-model"), "--out", str(out),
                 "--baseline", "04.00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
    with rasterio.open(out) as ds:
        classes = ds.read(1)
    assert (classes[:, :20] == 1).all() and (classes[:, 20:] == 2).all()   # water first, then crop
