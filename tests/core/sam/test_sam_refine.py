"""Refine: acceptance rule, cache, nodata, georeferencing and tags, bad input, cancel."""
import json

import numpy as np
import pytest
import rasterio

from desktop_app.core.accuracy import accuracy_against_polygons
from desktop_app.core.classes import NODATA, read_class_raster
from desktop_app.core.errors import SatSegError
from desktop_app.core.jobs import Cancelled, Job
from desktop_app.core.samples import read_samples
from desktop_app.core.sam.features import FeatureCache
from desktop_app.core.sam.refine import refine_file
from desktop_app.core.sam.scene import fit_window


def _refine(scene, out, **kw):
    kw.setdefault("window", 256)
    kw.setdefault("overlap", 32)
    return refine_file(scene / "scene.tif", scene / "classes.tif", out, random_init=True, **kw)


def test_refined_raster_has_the_classifier_grid_classes_and_tags(small_scene, tmp_path):
    out = tmp_path / "refined.tif"
    r = _refine(small_scene, out, cache_dir=tmp_path / "cache")
    assert r["random_init"] and r["device"] == "cpu" and r["windows"] == 1 and r["prompts"] > 0
    classified, transform, crs, classes = read_class_raster(small_scene / "classes.tif")
    refined, t2, crs2, classes2 = read_class_raster(out)
    # on the classifier's grid, with its class ids, names and colours
    assert (t2, crs2, classes2) == (transform, crs, classes)
    with rasterio.open(out) as ds, rasterio.open(small_scene / "classes.tif") as src:
        assert ds.colormap(1)[1] == src.colormap(1)[1]
        tags = ds.tags()
    assert "random SAM-2 weights" in tags["SATSEG_SAM_RANDOM_INIT"]
    info = json.loads(tags["SATSEG_SAM"])
    assert info["kind"] == "refine" and info["mapping"]["bands"] == ["B4", "B3", "B2"]
    assert info["model"]["random_init"] is True
    samples = read_samples(small_scene / "validation.geojson")
    before = accuracy_against_polygons(classified, transform, crs, classes, samples)
    after = accuracy_against_polygons(refined, transform, crs, classes, samples)
    assert after.overall_accuracy >= before.overall_accuracy
    assert set(r["changed_share"]) == {c.name for c in classes}


def test_pixels_change_only_inside_accepted_masks_and_nodata_stays(small_scene, tmp_path):
    """Some masks accepted, some rejected: every pixel outside the accepted masks keeps the classifier's
    class, nodata stays nodata, and inside them the higher predicted IoU wins (docs/sam.md)."""
    from sklearn.metrics import jaccard_score

    from desktop_app.core.classes import write_class_raster
    from desktop_app.core.sam.decoded import unpack
    from desktop_app.core.sam.prompts import component_prompts

    classified, transform, crs, classes = read_class_raster(small_scene / "classes.tif")
    labels = classified.copy()
    labels[100:116, :] = NODATA                       # a nodata band across the scene's components
    labels[:, 150:160] = NODATA
    write_class_raster(tmp_path / "classes.tif", labels, transform, crs, classes)
    # with the shrunk random-weight model these thresholds accept some of the masks (SAM's predicted
    # IoUs are 0.53-0.57; the agreement with the classifier's component decides)
    iou_min, agreement_min = 0.5, 0.3
    cache, out = tmp_path / "cache", tmp_path / "refined.tif"
    r = refine_file(small_scene / "scene.tif", tmp_path / "classes.tif", out, random_init=True, window=256,
                    overlap=32, cache_dir=cache, iou_min=iou_min, agreement_min=agreement_min)
    refined = read_class_raster(out)[0]
    assert r["windows"] == 1                          # one window at (0, 0): its grid is the scene's
    # which masks pass, decided here from the cached masks: predicted IoU, and the agreement with
    # the prompt's component as scikit-learn's Jaccard index
    [entry] = (cache / "decoded").glob("*/*.npz")
    with np.load(entry) as z:
        decoded = unpack({k: z[k] for k in z.files})
    prompts = component_prompts(labels, [c.id for c in classes])
    assert len(prompts) == len(decoded) == r["prompts"]
    accepted, masks = [], []
    for p, (score, region, sam) in zip(prompts, decoded):
        placed = np.zeros(labels.shape, bool)
        placed[region] = sam
        component = np.zeros(labels.shape, bool)
        component[p.rows, p.cols] = p.component
        masks.append(placed)
        if score >= iou_min and jaccard_score(component.ravel(), placed.ravel()) >= agreement_min:
            accepted.append((score, p.class_id, placed))
    assert r["accepted"] == len(accepted) and 0 < len(accepted) < len(prompts)
    inside = np.logical_or.reduce([m for _, _, m in accepted])
    # pixel by pixel: outside the accepted masks the classifier's class, nodata everywhere it was
    nodata = labels == NODATA
    np.testing.assert_array_equal(refined[~inside], labels[~inside])
    assert (refined[nodata] == NODATA).all() and (inside & nodata).any()   # accepted masks do cross nodata
    # inside them: the class of the covering mask with the highest predicted IoU
    expected = labels.copy()
    for _, cid, placed in sorted(accepted, key=lambda a: a[0]):
        expected[placed & ~nodata] = cid
    np.testing.assert_array_equal(refined, expected)
    assert (refined != labels).any()
    # the rejected masks would have changed pixels outside the accepted ones: those kept the classifier's
    everything = refine_file(small_scene / "scene.tif", tmp_path / "classes.tif", tmp_path / "all.tif",
                             random_init=True, window=256, overlap=32, cache_dir=cache, iou_min=0.0,
                             agreement_min=0.0)
    assert everything["accepted"] == len(prompts) and everything["decode_hits"] == 1
    by_rejected = (read_class_raster(tmp_path / "all.tif")[0] != labels) & ~inside
    assert by_rejected.sum() > 100
    assert (refined[by_rejected] == labels[by_rejected]).all()


def test_accepted_masks_change_pixels_and_nodata_stays(small_scene, tmp_path):
    # thresholds at zero accept every SAM mask: the acceptance path is live and changes pixels
    out = tmp_path / "all.tif"
    r = _refine(small_scene, out, iou_min=-1.0, agreement_min=0.0, cache_dir=tmp_path / "cache")
    assert r["accepted"] == r["prompts"] > 0
    classified = read_class_raster(small_scene / "classes.tif")[0]
    refined = read_class_raster(out)[0]
    assert (refined != classified).any()
    assert ((refined == NODATA) == (classified == NODATA)).all()


def test_second_run_uses_the_cache_and_gives_the_same_raster(small_scene, tmp_path):
    cache = tmp_path / "cache"
    first = _refine(small_scene, tmp_path / "a.tif", cache_dir=cache, iou_min=-1.0, agreement_min=0.3, window=160)
    second = _refine(small_scene, tmp_path / "b.tif", cache_dir=cache, iou_min=-1.0, agreement_min=0.3, window=160)
    assert (first["cache_hits"], first["cache_misses"]) == (0, 4)
    assert (second["cache_hits"], second["cache_misses"]) == (4, 0)
    np.testing.assert_array_equal(read_class_raster(tmp_path / "a.tif")[0], read_class_raster(tmp_path / "b.tif")[0])
    # the key changes with the recipe/stretch, the window and the model
    k = FeatureCache.key("img", "0,0,256,256", "true_colour:[...]", "model")
    assert len({k, FeatureCache.key("img", "0,0,256,256", "false_colour:[...]", "model"),
                FeatureCache.key("img", "0,96,256,256", "true_colour:[...]", "model"),
                FeatureCache.key("img", "0,0,256,256", "true_colour:[...]", "other model")}) == 4


def test_cancel_during_encoding_leaves_no_output_and_a_consistent_cache(small_scene, tmp_path):
    cache = tmp_path / "cache"
    calls = []

    def progress(f, msg):
        calls.append(msg)
        if msg.startswith("window 2"):
            job.cancel()

    job = Job(progress)
    with pytest.raises(Cancelled):
        _refine(small_scene, tmp_path / "x.tif", cache_dir=cache, job=job, window=160)
    assert not (tmp_path / "x.tif").exists()
    assert not list(tmp_path.glob(".x.tif*"))
    entries = list(cache.glob("*/*.npz"))
    assert 1 <= len(entries) < 4                   # the windows encoded before the cancel, each complete
    for e in entries:
        with np.load(e) as z:
            assert z["image_embed"].shape[1] == 256
    assert not list(cache.rglob("*.part"))
    # one complete entry per finished window (the cancelled window may have its features, never its masks)
    decoded = list((cache / "decoded").glob("*/*.npz"))
    assert 1 <= len(decoded) <= len(entries)
    for e in decoded:
        with np.load(e) as z:
            assert len(z["offsets"]) == len(z["iou"]) + 1 and z["offsets"][-1] == len(z["bits"])
    r = _refine(small_scene, tmp_path / "x.tif", cache_dir=cache, window=160)
    assert r["cache_hits"] == len(entries) and r["cache_misses"] == 4 - len(entries)
    assert r["decode_hits"] == len(decoded)


def test_class_raster_on_another_grid_is_refused(small_scene, tmp_path, demo_dir):
    with pytest.raises(SatSegError, match="another grid"):
        refine_file(small_scene / "scene.tif", demo_dir / "truth.tif", tmp_path / "o.tif", random_init=True)
    assert not (tmp_path / "o.tif").exists()


def test_unknown_recipe_band_and_output_folder(small_scene, tmp_path):
    with pytest.raises(SatSegError, match="recipe"):
        _refine(small_scene, tmp_path / "o.tif", recipe="B4,B3")
    with pytest.raises(SatSegError, match="no band"):
        _refine(small_scene, tmp_path / "o.tif", recipe="B4,B3,B10")
    with pytest.raises(SatSegError, match="does not exist"):
        _refine(small_scene, tmp_path / "missing" / "o.tif")


def test_window_too_large_for_memory_falls_back_and_says_so():
    warnings = []
    assert fit_window(1024, warnings, available=16 * 2 ** 30) == 1024 and warnings == []
    size = fit_window(16384, warnings, available=8 * 2 ** 30)
    assert size < 16384 and size * size * 200 <= 8 * 2 ** 30 / 2
    assert "using" in warnings[0] and "16384 px window" in warnings[0]


def test_repeated_refine_reuses_decoded_masks_without_building_the_model(small_scene, tmp_path):
    from desktop_app.core.sam import runtime

    cache = tmp_path / "cache"
    kw = dict(cache_dir=cache, iou_min=-1.0, agreement_min=0.3, window=160)
    first = _refine(small_scene, tmp_path / "a.tif", **kw)
    assert first["model_built"] and (first["decode_hits"], first["decode_misses"]) == (0, 4)
    assert len(list((cache / "decoded").glob("*/*.npz"))) == 4
    builds = runtime.BUILDS["count"]
    second = _refine(small_scene, tmp_path / "b.tif", **kw)
    assert runtime.BUILDS["count"] == builds               # the real build path was not taken
    assert not second["model_built"] and second["device"] is None
    assert (second["decode_hits"], second["decode_misses"], second["cache_hits"]) == (4, 0, 4)
    assert (second["prompts"], second["accepted"]) == (first["prompts"], first["accepted"])
    np.testing.assert_array_equal(read_class_raster(tmp_path / "a.tif")[0], read_class_raster(tmp_path / "b.tif")[0])


def test_changed_thresholds_from_the_cache_equal_an_uncached_run(small_scene, tmp_path):
    from desktop_app.core.sam import runtime

    cache = tmp_path / "cache"
    _refine(small_scene, tmp_path / "fill.tif", cache_dir=cache, iou_min=0.8, agreement_min=0.6)
    builds = runtime.BUILDS["count"]
    for iou_min, agreement in ((-1.0, 0.0), (-1.0, 0.5), (0.0, 0.3)):
        cached = _refine(small_scene, tmp_path / "c.tif", cache_dir=cache, iou_min=iou_min, agreement_min=agreement)
        assert cached["decode_hits"] == 1 and not cached["model_built"]
        fresh = _refine(small_scene, tmp_path / "f.tif", cache_dir=None, iou_min=iou_min, agreement_min=agreement)
        assert fresh["model_built"] and fresh["decode_misses"] == 1
        assert cached["accepted"] == fresh["accepted"]
        np.testing.assert_array_equal(read_class_raster(tmp_path / "c.tif")[0],
                                      read_class_raster(tmp_path / "f.tif")[0])
    assert runtime.BUILDS["count"] == builds + 3           # only the uncached runs built a model
    # the thresholds do bite: accepting everything changes pixels the default rejects
    assert (read_class_raster(tmp_path / "c.tif")[0] != read_class_raster(small_scene / "classes.tif")[0]).any()


def test_changed_prompts_miss_the_decoded_cache(small_scene, tmp_path):
    import rasterio as rio

    cache = tmp_path / "cache"
    _refine(small_scene, tmp_path / "a.tif", cache_dir=cache)
    # another class raster on the same grid: other prompts, same encoder features
    with rio.open(small_scene / "classes.tif") as src:
        profile, data, tags = src.profile, src.read(1), src.tags()
        cmap = src.colormap(1)
    ids = [c for c in np.unique(data) if c != NODATA and c != data[40, 40]]
    data[20:80, 20:80] = ids[0]               # a new large component of another class
    other = tmp_path / "other.tif"
    with rio.open(other, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(**tags)
        dst.write_colormap(1, cmap)
    r = refine_file(small_scene / "scene.tif", other, tmp_path / "b.tif", random_init=True, window=256, overlap=32,
                    cache_dir=cache)
    assert (r["decode_hits"], r["decode_misses"]) == (0, 1) and r["cache_hits"] == 1 and r["cache_misses"] == 0


def test_fully_cached_refine_process_imports_neither_torch_nor_sam2(small_scene, tmp_path):
    import subprocess
    import sys

    cache = tmp_path / "cache"
    _refine(small_scene, tmp_path / "a.tif", cache_dir=cache)
    code = ("import sys, json\n"
            "from desktop_app.core.sam.refine import refine_file\n"
            f"r = refine_file({str(small_scene / 'scene.tif')!r}, {str(small_scene / 'classes.tif')!r}, "
            f"{str(tmp_path / 'b.tif')!r}, random_init=True, window=256, overlap=32, cache_dir={str(cache)!r})\n"
            "print(json.dumps([r['decode_hits'], 'torch' in sys.modules, 'sam2' in sys.modules]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [1, False, False]
    np.testing.assert_array_equal(read_class_raster(tmp_path / "a.tif")[0], read_class_raster(tmp_path / "b.tif")[0])
