"""Every classifier through the one interface; block-wise = whole-image; nodata never classified;
singular covariances regularized with a warning; band mismatches explained; signatures and JM."""
import numpy as np
import pytest
import rasterio

from desktop_app.core.classes import NODATA, read_class_raster
from desktop_app.core.classifiers import DEFAULT_METHOD, METHODS, make_classifier
from desktop_app.core.classify import classify_image, classify_raster
from desktop_app.core.demo_scene import make_demo_scene
from desktop_app.core.errors import SatSegError
from desktop_app.core.geotiff import CLASSES_TAG, write_raster
from desktop_app.core.jobs import Cancelled, Job
from desktop_app.core.raster import Raster
from desktop_app.core.samples import TrainingData, collect_training, samples_from_geojson
from desktop_app.core.signatures import class_signatures, jeffries_matusita
from desktop_app.core.sources import open_image

FAST = {"random_forest": {"trees": 20}, "svm": {"max_train_per_class": 200}}
THRESHOLD = {"mahalanobis": 3.0, "max_likelihood": 0.99, "parallelepiped": 2.5, "random_forest": 0.6,
             "min_distance": 0.05, "spectral_angle": 0.08, "svm": 0.95}


@pytest.fixture(scope="module")
def scene():
    d = make_demo_scene(size=200)
    samples = samples_from_geojson(d.samples)
    return d, samples, collect_training(d.image, samples)


@pytest.fixture(scope="module")
def fitted(scene):
    return {m: make_classifier(m, **FAST.get(m, {})).fit(scene[2]) for m in METHODS}


def test_registry_and_default():
    assert list(METHODS) == ["mahalanobis", "max_likelihood", "parallelepiped", "random_forest",
                             "min_distance", "spectral_angle", "svm"]
    assert DEFAULT_METHOD == "mahalanobis"
    with pytest.raises(SatSegError, match="unknown classification method 'kmeans'"):
        make_classifier("kmeans")
    for cls in METHODS.values():
        assert cls.threshold_help and cls.threshold_unit


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_classifies_the_demo_scene(scene, fitted, method):
    d, _, _ = scene
    clf = fitted[method]
    labels = classify_raster(d.image, clf)
    assert labels.dtype == np.uint8 and labels.shape == d.truth.shape
    assert set(np.unique(labels)) <= {0, 1, 2, 3, 4, 5}
    accuracy = float((labels == d.truth).mean())
    # Min/max boxes from few samples leave many pixels outside every box (unclassified).
    assert accuracy > {"parallelepiped": 0.6, "spectral_angle": 0.8}.get(method, 0.9), accuracy


@pytest.mark.parametrize("method", list(METHODS))
def test_scores_agree_with_predict(scene, fitted, method):
    clf = fitted[method]
    X = scene[0].image.pixels()[::37]
    s = clf.scores(X)
    assert s.shape == (len(X), 5) and s.dtype == np.float32
    best = s.argmax(axis=1) if clf.higher_score_is_better else s.argmin(axis=1)
    labels = clf.predict(X)
    if method == "parallelepiped":
        inside = labels > 0          # outside every box -> unclassified, whatever the distances
        assert np.array_equal(clf.class_ids[best][inside], labels[inside])
    else:
        assert np.mean(clf.class_ids[best] == labels) > 0.999


@pytest.mark.parametrize("method", list(METHODS))
def test_block_wise_equals_whole_image_with_and_without_thresholds(tmp_path, scene, fitted, method):
    d, _, _ = scene
    clf = fitted[method]
    image = d.image
    nodata = np.zeros(image.shape, bool)
    nodata[50:70, 10:190] = True            # a stripe of nodata crossing blocks
    nodata[0, 0] = True
    img = Raster(image.data.copy(), image.transform, image.crs, image.band_names, nodata)
    path = write_raster(tmp_path / "img.tif", img)
    with open_image(path) as src:
        whole = classify_raster(src.read(), clf, THRESHOLD[method])
        summary = classify_image(src, clf, tmp_path / "c.tif", THRESHOLD[method], block=64)
    blocks, transform, crs, classes = read_class_raster(tmp_path / "c.tif")
    assert np.array_equal(blocks, whole)
    assert transform == image.transform and crs == image.crs
    assert [c.name for c in classes] == ["water", "urban", "agriculture", "barren", "forest"]
    # Nodata is never classified, and nothing else is marked nodata.
    assert np.array_equal(blocks == NODATA, nodata)
    assert summary.nodata == int(nodata.sum())
    assert summary.unclassified == int((blocks == 0).sum())
    assert sum(summary.pixels.values()) + summary.unclassified + summary.nodata == blocks.size
    # Ground areas on the ellipsoid: a 10 m UTM pixel is 100 m² up to the zone's scale factor.
    assert summary.area_m2[1] == pytest.approx(summary.pixels[1] * 100.0, rel=2e-3)
    # Thresholds change the result (they are not silently ignored).
    assert not np.array_equal(whole, classify_raster(img, clf))


def test_class_raster_file_format(tmp_path, scene, fitted):
    d = scene[0]
    path = write_raster(tmp_path / "img.tif", d.image)
    with open_image(path) as src:
        classify_image(src, fitted["mahalanobis"], tmp_path / "c.tif", block=128)
    with rasterio.open(tmp_path / "c.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.count == 1 and ds.nodata == 255
        assert ds.colormap(1)[1][:3] == (0x1f, 0x78, 0xb4)
        assert '"name": "water"' in ds.tags()[CLASSES_TAG]


def test_progress_and_cancel_leave_no_file(tmp_path, scene, fitted):
    path = write_raster(tmp_path / "img.tif", scene[0].image)
    seen = []

    def progress(f, msg):
        seen.append(f)
        if f > 0.3:
            job.cancel()

    job = Job(progress)
    with open_image(path) as src, pytest.raises(Cancelled):
        classify_image(src, fitted["mahalanobis"], tmp_path / "c.tif", block=64, job=job)
    assert seen and not (tmp_path / "c.tif").exists()
    assert not list(tmp_path.glob("*.part"))


def test_all_nodata_block_and_whole_image(scene, fitted):
    img = scene[0].image
    r = Raster(img.data, img.transform, img.crs, img.band_names, np.ones(img.shape, bool))
    assert (classify_raster(r, fitted["random_forest"]) == NODATA).all()


def test_band_mismatch_is_explained(scene, fitted, tmp_path):
    clf = fitted["mahalanobis"]
    with pytest.raises(SatSegError, match="trained on 12 bands .* given 4"):
        clf.predict(np.zeros((3, 4), np.float32))
    img = scene[0].image.select(["B2", "B3", "B4", "B8"])
    with pytest.raises(SatSegError, match="band 'B1' does not exist"):
        classify_raster(img, clf)


def test_bands_are_matched_by_name_not_position(scene):
    d, samples, _ = scene
    td = collect_training(d.image, samples, bands=["B8", "B4", "B3"])
    clf = make_classifier("mahalanobis").fit(td)
    reordered = d.image.select(["B3", "B4", "B8", "B11"])
    assert np.array_equal(classify_raster(reordered, clf), classify_raster(d.image, clf))


def test_singular_covariance_is_regularized_with_a_warning(scene):
    _, _, td = scene
    X = td.X.copy()
    X[td.y == 2, 3] = 0.25                     # urban: one band constant -> singular covariance
    X[td.y == 4, 5] = X[td.y == 4, 6]          # barren: two identical bands
    t2 = TrainingData(X, td.y, td.classes, td.band_names, td.pixels_per_class)
    for method in ("mahalanobis", "max_likelihood"):
        clf = make_classifier(method).fit(t2)
        msgs = " ".join(clf.warnings)
        assert "class 'urban'" in msgs and "class 'barren'" in msgs and "regularized" in msgs
        assert "class 'water'" not in msgs
        labels = clf.predict(X)
        assert np.isin(labels, [1, 2, 3, 4, 5]).all()
        assert (labels == td.y).mean() > 0.9
    par = make_classifier("parallelepiped").fit(t2)
    assert any("urban" in w and "B4" in w for w in par.warnings)


def test_unfitted_and_one_class():
    with pytest.raises(SatSegError, match="not been trained"):
        make_classifier("mahalanobis").predict(np.zeros((1, 3), np.float32))
    from desktop_app.core.classes import ClassInfo

    td = TrainingData(np.random.default_rng(0).random((20, 2), dtype=np.float32), np.ones(20, int),
                      [ClassInfo(1, "a", "#000000")], ["B1", "B2"], {1: 20})
    with pytest.raises(SatSegError, match="at least two classes"):
        make_classifier("min_distance").fit(td)


def test_signatures_and_jeffries_matusita(scene):
    _, _, td = scene
    sigs = class_signatures(td)
    assert [s.name for s in sigs] == ["water", "urban", "agriculture", "barren", "forest"]
    water = td.X[td.y == 1]
    assert np.allclose(sigs[0].mean, water.mean(axis=0), atol=1e-6)
    assert np.allclose(sigs[0].max, water.max(axis=0)) and sigs[0].pixels == len(water)
    jm = jeffries_matusita(td)
    assert jm.shape == (5, 5) and np.allclose(jm, jm.T) and np.all(np.diag(jm) == 0)
    assert np.all((jm >= 0) & (jm <= 2))
    assert jm[0, 2] > 1.9                       # water vs agriculture: clearly separable
    # Two halves of one class are hardly separable (4 bands: covariances well estimated from ~70 px).
    from desktop_app.core.classes import ClassInfo

    half = np.where(np.arange(len(water)) % 2 == 0, 1, 2)
    same = TrainingData(water[:, [1, 2, 3, 7]], half, [ClassInfo(1, "w1", "#000000"), ClassInfo(2, "w2", "#000000")],
                        ["B2", "B3", "B4", "B8"], {})
    assert jeffries_matusita(same)[0, 1] < 0.3


@pytest.mark.parametrize("options", [{"trees": 30}, {"trees": 30, "balanced": True}, {"trees": 10, "max_depth": 2}])
def test_random_forest_probabilities_equal_scikit_learn(scene, options):
    _, _, td = scene
    clf = make_classifier("random_forest", **options).fit(td)
    # Fully grown trees use the vote-counting path; depth-limited ones (impure leaves) sklearn's own.
    assert (clf._vote_codes is None) == ("max_depth" in options)
    X = scene[0].image.pixels()[::7]
    ours = clf.scores(X)
    theirs = clf.model.predict_proba(X)
    assert np.allclose(ours, theirs, atol=1e-6)
    assert np.array_equal(clf.predict(X), clf.class_ids[theirs.argmax(axis=1)])


def test_real_sentinel2_scene_block_wise(shared_scene, tmp_path):
    """A real L2A band folder (WarpedVRT to 10 m): samples placed on the greenest and the barest
    5 x 5 px of the scene, classified block by block exactly as in one piece."""
    from scipy import ndimage
    from shapely.geometry import box, mapping

    from desktop_app.core.geo import WGS84, transform_geometry

    bands = ["B2", "B3", "B4", "B8"]
    with open_image(shared_scene) as src:
        img = src.read(bands=bands)
        red, nir = img.data[2], img.data[3]
        ndvi = np.where(img.nodata_mask, np.nan, (nir - red) / np.maximum(nir + red, 1e-6))
        feats = []
        for name, score in (("vegetation", ndvi), ("bare", -ndvi)):
            worst_in_box = ndimage.minimum_filter(np.nan_to_num(score, nan=-9), size=9)
            r, c = np.unravel_index(np.argmax(worst_in_box), score.shape)
            x0, y0 = img.transform @ (c - 3, r - 3)
            x1, y1 = img.transform @ (c + 4, r + 4)
            geom = transform_geometry(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), img.crs, WGS84)
            feats.append({"type": "Feature", "properties": {"class": name}, "geometry": mapping(geom)})
        samples = samples_from_geojson({"type": "FeatureCollection", "features": feats})
        td = collect_training(src, samples, bands=bands)
        assert td.pixels_per_class == {1: 49, 2: 49}
        clf = make_classifier("mahalanobis").fit(td)
        whole = classify_raster(img, clf)
        summary = classify_image(src, clf, tmp_path / "c.tif", block=256)
    blocks = read_class_raster(tmp_path / "c.tif")[0]
    assert np.array_equal(blocks, whole)
    assert np.array_equal(blocks == NODATA, img.nodata_mask)
    assert summary.pixels[1] > 0 and summary.pixels[2] > 0
