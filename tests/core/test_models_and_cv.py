"""Reusable models, signature catalogues, polygon-grouped cross-validation and score rasters
(issue 17)."""
import io
import json
import zipfile

import numpy as np
import pytest
import rasterio

from desktop_app.cli import main
from desktop_app.core.classes import ClassInfo
from desktop_app.core.classifiers import METHODS, make_classifier
from desktop_app.core.classifiers.catalogue import (
    catalogue_from_signatures, load_catalogue, merge_catalogues, roll_up, save_catalogue, set_macroclasses,
)
from desktop_app.core.classifiers.model_file import load_model, save_model
from desktop_app.core.classifiers.validation import cross_validate, fold_indices
from desktop_app.core.demo_scene import make_demo_scene, write_demo_scene
from desktop_app.core.errors import SatSegError
from desktop_app.core.samples import TrainingData, collect_training, samples_from_geojson

FAST = {"random_forest": {"trees": 15}, "svm": {"max_train_per_class": 150}}
MODES = {"mahalanobis": "per-polygon", "max_likelihood": "per-polygon", "parallelepiped": "per-polygon",
         "min_distance": "auto", "spectral_angle": "per-polygon"}


@pytest.fixture(scope="module")
def scene():
    d = make_demo_scene(size=160)
    training = collect_training(d.image, samples_from_geojson(d.samples))
    return d, training


@pytest.mark.parametrize("method", list(METHODS))
def test_train_save_classify_equals_classifying_directly(scene, tmp_path, method):
    d, training = scene
    options = dict(FAST.get(method, {}))
    if method in MODES:
        options["signatures"] = MODES[method]
    direct = make_classifier(method, **options).fit(training)
    path = save_model(direct, tmp_path / "m.satseg-model", training.report())
    loaded = load_model(path)
    X = d.image.pixels()[:: 4 if method in FAST else 1]
    assert loaded.name == method and loaded.options == direct.options
    assert [c.to_dict() for c in loaded.classes] == [c.to_dict() for c in direct.classes]
    assert loaded.row_names == direct.row_names
    assert np.array_equal(loaded.predict(X), direct.predict(X))
    limit = {"random_forest": 0.6, "svm": 0.8, "max_likelihood": 0.99, "parallelepiped": 3.0,
             "min_distance": 0.05, "spectral_angle": 0.05, "mahalanobis": 3.0}[method]
    assert np.array_equal(loaded.predict(X, limit), direct.predict(X, limit))
    assert np.array_equal(loaded.scores(X[:500]), direct.scores(X[:500]))
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("model.json"))
        assert meta["format"] == "satseg-model" and meta["version"] == 1 and meta["bands"] == training.band_names
        assert not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in z.namelist())


def test_model_files_that_are_not_trusted_are_refused(scene, tmp_path):
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    _, training = scene
    good = save_model(make_classifier("random_forest", trees=3).fit(training), tmp_path / "rf.satseg-model")
    with zipfile.ZipFile(good) as z:
        meta = z.read("model.json")
    evil = tmp_path / "evil.satseg-model"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model.json", meta)
        z.writestr("estimator.skops", sio.dumps(FunctionTransformer(func=print)))
    evil.write_bytes(buf.getvalue())
    with pytest.raises(SatSegError, match="holds types SatSeg does not load: .*print"):
        load_model(evil)
    newer = tmp_path / "newer.satseg-model"
    with zipfile.ZipFile(newer, "w") as z:
        z.writestr("model.json", json.dumps({**json.loads(meta), "version": 99}))
    with pytest.raises(SatSegError, match="newer SatSeg"):
        load_model(newer)
    (tmp_path / "junk.satseg-model").write_bytes(b"not a zip")
    with pytest.raises(SatSegError, match="is not a SatSeg model file"):
        load_model(tmp_path / "junk.satseg-model")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    write_demo_scene(d, size=120)
    return d


def test_cli_train_then_classify_with_the_model(demo, tmp_path, capsys):
    model, a, b = tmp_path / "m.satseg-model", tmp_path / "a.tif", tmp_path / "b.tif"
    assert main(["train", str(demo / "scene.tif"), str(demo / "samples.geojson"), "--method", "max_likelihood",
                 "--signatures", "per-polygon", "--out", str(model), "--cv", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["cv"]["grouped_by"] == "polygon" and "grouped by polygon" in d["cv"]["note"]
    assert 0 < d["cv"]["overall_accuracy"] <= 1 and len(d["signatures"]) == d["polygons"]
    assert main(["classify", str(demo / "scene.tif"), "--model", str(model), "--out", str(a),
                 "--scores", str(tmp_path / "s.tif"), "--json"]) == 0
    capsys.readouterr()
    assert main(["classify", str(demo / "scene.tif"), str(demo / "samples.geojson"), "--method", "max_likelihood",
                 "--signatures", "per-polygon", "--out", str(b), "--json"]) == 0
    capsys.readouterr()
    with rasterio.open(a) as x, rasterio.open(b) as y:
        assert np.array_equal(x.read(), y.read()) and x.tags()["SATSEG_CLASSES"] == y.tags()["SATSEG_CLASSES"]
    # A model applied to an image without its bands: one clear line, exit 2, nothing written.
    small = tmp_path / "small.tif"
    with rasterio.open(demo / "scene.tif") as src:
        profile = dict(src.profile, count=3)
        with rasterio.open(small, "w", **profile) as dst:
            dst.write(src.read([2, 3, 4]))
            for i, name in enumerate(src.descriptions[1:4], start=1):
                dst.set_band_description(i, name)
    assert main(["classify", str(small), "--model", str(model), "--out", str(tmp_path / "c.tif")]) == 2
    err = capsys.readouterr().err
    assert "was trained on bands" in err and "lacks B1" in err and "Traceback" not in err
    assert not (tmp_path / "c.tif").exists()


def test_score_raster_is_the_winning_score(demo, tmp_path, capsys):
    out, scores = tmp_path / "c.tif", tmp_path / "s.tif"
    assert main(["classify", str(demo / "scene.tif"), str(demo / "samples.geojson"), "--method", "mahalanobis",
                 "--out", str(out), "--scores", str(scores), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scores"]["path"] == str(scores)
    from desktop_app.core.sources import open_image

    with open_image(str(demo / "scene.tif")) as src:
        image = src.read()
    training = collect_training(image, samples_from_geojson(json.loads((demo / "samples.geojson").read_text())))
    clf = make_classifier("mahalanobis").fit(training)
    expected = clf.scores(image.pixels()).min(axis=1).reshape(image.shape)     # D of the nearest class
    with rasterio.open(scores) as s:
        assert s.dtypes[0] == "float32" and s.shape == image.shape
        got = s.read(1)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def _leaky(seed=0):
    """Two classes whose 16 polygons each have their own spectrum drawn from one distribution:
    the spectra say nothing about the class, only which polygon a pixel is from."""
    rng = np.random.default_rng(seed)
    X, y, g = [], [], []
    for p in range(32):
        centre = rng.normal(0.2, 0.05, 4)
        X.append(rng.normal(centre, 0.002, (40, 4)))
        y.append(np.full(40, 1 + p % 2))
        g.append(np.full(40, p))
    X, y, g = np.vstack(X).astype(np.float32), np.concatenate(y), np.concatenate(g)
    classes = [ClassInfo(1, "a", "#000000"), ClassInfo(2, "b", "#ffffff")]
    return TrainingData(X, y, classes, ["B1", "B2", "B3", "B4"], {1: 640, 2: 640}, groups=g,
                        group_labels=[f"polygon {i + 1}" for i in range(32)])


def test_polygon_grouped_folds_never_share_a_polygon_and_do_not_leak():
    t = _leaky()
    folds = fold_indices(t, 4, "polygon")
    assert len(folds) == 4
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested) == list(range(len(t.y)))                 # every pixel tested once
    for tr, te in folds:
        assert not set(t.groups[tr]) & set(t.groups[te])            # no polygon in two folds
    grouped = cross_validate(t, "random_forest", {"trees": 15}, 4, "polygon")
    pixel = cross_validate(t, "random_forest", {"trees": 15}, 4, "pixel")
    assert pixel["overall_accuracy"] > 0.95                         # memorised polygons
    assert grouped["overall_accuracy"] < 0.75                       # the honest answer: near chance
    assert "grouped by polygon" in grouped["note"] and "overstates" in pixel["note"]
    assert sum(f["test_pixels"] for f in grouped["per_fold"]) == len(t.y)
    with pytest.raises(SatSegError, match="at least 40 training polygons"):
        fold_indices(t, 40, "polygon")


def test_catalogue_save_load_merge_and_macroclasses(scene, tmp_path):
    d, training = scene
    clf = make_classifier("spectral_angle", signatures="per-polygon").fit(training)
    path = save_catalogue(catalogue_from_signatures(clf.input_signatures, "scene A"), tmp_path / "a.json")
    cat = load_catalogue(path)
    refit = make_classifier("spectral_angle").fit_signatures(cat.signatures)
    X = d.image.pixels()
    assert np.array_equal(refit.predict(X), clf.predict(X))                 # the catalogue is the classifier
    merged = merge_catalogues([cat, load_catalogue(path)])
    assert merged.signatures.n == 2 * cat.signatures.n
    assert [c.name for c in merged.signatures.classes] == [c.name for c in cat.signatures.classes]
    assert len(set(merged.signatures.names)) == merged.signatures.n
    macro = set_macroclasses(merged, {"water": "wet", "urban": "built", "barren": "built",
                                      "agriculture": "green", "forest": "green"})
    save_catalogue(macro, tmp_path / "m.json")
    again = load_catalogue(tmp_path / "m.json")
    assert again.macroclass_of["forest"] == "green" and [m.name for m in again.macroclasses] == ["wet", "built", "green"]
    clf2 = make_classifier("min_distance").fit_signatures(again.signatures)
    per_class = clf2.predict(X)
    roll_up(clf2, again)
    rolled = clf2.predict(X)
    macro_id = {"wet": 1, "built": 2, "green": 3}
    lookup = {c.id: macro_id[again.macroclass_of[c.name]] for c in again.signatures.classes}   # class -> macro
    assert np.array_equal(rolled, np.vectorize(lookup.get)(per_class).astype(np.uint8))
    other = catalogue_from_signatures(make_classifier("spectral_angle").fit(
        TrainingData(training.X[:, :3], training.y, training.classes, training.band_names[:3],
                     training.pixels_per_class)).input_signatures)
    with pytest.raises(SatSegError, match="only catalogues with the same bands merge"):
        merge_catalogues([cat, other])


def test_a_model_remembers_its_index_bands(demo, tmp_path, capsys):
    model = tmp_path / "idx.satseg-model"
    assert main(["train", str(demo / "scene.tif"), str(demo / "samples.geojson"), "--method", "min_distance",
                 "--indices", "NDVI,WET=(B3-B12)/(B3+B12)", "--out", str(model)]) == 0
    capsys.readouterr()
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    assert main(["classify", str(demo / "scene.tif"), "--model", str(model), "--out", str(a), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["bands"][-2:] == ["NDVI", "WET"]
    assert main(["classify", str(demo / "scene.tif"), str(demo / "samples.geojson"), "--method", "min_distance",
                 "--indices", "NDVI,WET=(B3-B12)/(B3+B12)", "--out", str(b), "--json"]) == 0
    capsys.readouterr()
    with rasterio.open(a) as x, rasterio.open(b) as y:
        assert np.array_equal(x.read(), y.read())
