"""Fine-tune, save, load and segment without samples."""
import json

import numpy as np
import pytest
import rasterio

from desktop_app.core.accuracy import accuracy_from_arrays
from desktop_app.core.classes import ClassInfo, read_class_raster
from desktop_app.core.errors import SatSegError
from desktop_app.core.sam import saved
from desktop_app.core.sam.finetune import training_target
from desktop_app.core.sam.segment import check_scene, segment_file


def test_finetuning_lowers_the_loss_and_scores_both_variants(tuned):
    model_dir, r = tuned
    for variant in ("full", "tokens"):
        losses = r["losses"][variant]
        assert len(losses) >= 10
        assert np.mean(losses[-5:]) < np.mean(losses[:5]), variant
        assert r["scores"][variant]["basis"] == "validation polygons"
    # tokens + decoder + band head learn fast (tokens alone barely move a random decoder)
    full = r["losses"]["full"]
    assert np.mean(full[-5:]) < 0.8 * np.mean(full[:5])
    assert r["kept"] == max(r["scores"], key=lambda v: r["scores"][v]["overall_accuracy"])
    meta = saved.read_meta(model_dir)
    assert meta["variant"] == r["kept"] and meta["base_model"]["random_init"] is True
    assert meta["mapping"]["recipe"] == "true_colour" and len(meta["mapping"]["limits"]) == 3
    assert [c["name"] for c in meta["classes"]] == ["water", "urban", "agriculture", "barren", "forest"]
    assert meta["head_bands"][:3] == ["B1", "B2", "B3"] and len(meta["band_stats"]) == len(meta["head_bands"])
    # only the trained parts are saved: far smaller than the SAM-2 model itself
    assert (model_dir / "trained.pt").stat().st_size < 30 * 2 ** 20


def test_segment_reproduces_the_training_mask_well_above_chance(tuned, small_scene, tmp_path):
    model_dir, _ = tuned
    out = tmp_path / "seg.tif"
    r = segment_file(small_scene / "scene.tif", model_dir, out, cache_dir=tmp_path / "cache")
    assert r["random_init"] and r["windows"] == 1
    target, transform, crs, classes = read_class_raster(small_scene / "classes.tif")
    seg, t2, crs2, classes2 = read_class_raster(out)
    assert (t2, crs2, classes2) == (transform, crs, classes)
    with rasterio.open(out) as ds:
        tags = ds.tags()
        assert "random SAM-2 weights" in tags["SATSEG_SAM_RANDOM_INIT"]
        assert json.loads(tags["SATSEG_SAM"])["kind"] == "segment"
    report = accuracy_from_arrays(seg, target, classes)
    chance = np.bincount(target.ravel(), minlength=6)[1:6].max() / target.size   # always the commonest class
    # agreement with the training mask; with random SAM weights the band head carries most of it
    assert report.overall_accuracy > chance + 0.1, (report.overall_accuracy, chance)
    assert report.kappa > 0.4


def test_save_load_segment_gives_identical_output(tuned, small_scene, tmp_path):
    model_dir, _ = tuned
    copy = tmp_path / "copy"
    net, meta, base = saved.load_model(model_dir, device="cpu")
    saved.save_model(copy, net.trained_state(), {k: v for k, v in meta.items() if k not in ("format", "version")})
    a = segment_file(small_scene / "scene.tif", model_dir, tmp_path / "a.tif", cache_dir=None)
    b = segment_file(small_scene / "scene.tif", copy, tmp_path / "b.tif", cache_dir=tmp_path / "c")
    c = segment_file(small_scene / "scene.tif", copy, tmp_path / "c.tif", cache_dir=tmp_path / "c")
    assert c["cache_hits"] == 1
    ra, rb, rc = (read_class_raster(tmp_path / f"{x}.tif")[0] for x in "abc")
    np.testing.assert_array_equal(ra, rb)
    np.testing.assert_array_equal(rb, rc)


def test_scene_without_the_bands_or_with_other_classes_is_refused(tuned):
    meta = saved.read_meta(tuned[0])
    with pytest.raises(SatSegError, match="lacks band"):
        check_scene(meta, ["B2", "B3", "B4", "B8"])
    check_scene(meta, ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"])
    with pytest.raises(SatSegError, match="other classes"):
        check_scene(meta, meta["head_bands"], [ClassInfo(1, "water", "#0000ff"), ClassInfo(2, "crops", "#00ff00")])


def test_training_target_ignores_disagreement_unclassified_and_nodata():
    classes = [ClassInfo(3, "a", "#000000"), ClassInfo(7, "b", "#ffffff")]
    refined = np.array([[3, 7, 0, 255], [3, 3, 7, 7]], np.uint8)
    classifier = np.array([[3, 3, 0, 255], [3, 3, 7, 3]], np.uint8)
    t = training_target(refined, classes, classifier)
    assert t.tolist() == [[0, -1, -1, -1], [0, 0, 1, -1]]


def test_model_folder_checks(tmp_path, tuned):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SatSegError, match="other files"):
        saved.check_model_dir(tmp_path / "busy")
    saved.check_model_dir(tuned[0])          # an existing model may be replaced
    with pytest.raises(SatSegError, match="not a fine-tuned"):
        saved.read_meta(tmp_path / "busy")


def test_scores_compare_classifier_refined_and_finetuned(tuned, small_scene, tmp_path):
    from desktop_app.core.accuracy import accuracy_against_polygons
    from desktop_app.core.samples import read_samples
    from desktop_app.core.sam.refine import refine_file
    from desktop_app.core.sam.scores import compare

    refine_file(small_scene / "scene.tif", small_scene / "classes.tif", tmp_path / "r.tif", random_init=True,
                window=256, cache_dir=None)
    segment_file(small_scene / "scene.tif", tuned[0], tmp_path / "f.tif", cache_dir=None)
    samples = read_samples(small_scene / "validation.geojson")
    table = compare({"classifier": small_scene / "classes.tif", "refined": tmp_path / "r.tif",
                     "fine-tuned": tmp_path / "f.tif"}, samples)
    rows = {r["result"]: r for r in table["rows"]}
    assert set(rows) == {"classifier", "refined", "fine-tuned"}
    direct = accuracy_against_polygons(tmp_path / "f.tif", samples=samples)
    assert rows["fine-tuned"]["overall_accuracy"] == round(direct.overall_accuracy, 6)
    # per-class IoU from the confusion matrix: tp / (tp + fp + fn)
    m = direct.matrix
    k = [c.name for c in direct.classes].index("water")
    iou = m[k, k] / (m[k].sum() + direct.unclassified[k] + m[:, k].sum() - m[k, k])
    assert rows["fine-tuned"]["iou"]["water"] == pytest.approx(iou, abs=1e-6)
    best = max(rows.values(), key=lambda r: (r["overall_accuracy"], r["kappa"]))
    assert table["best"] == best["result"]
    for r in rows.values():
        assert r["worse"] == (r["result"] != "classifier" and
                              (r["overall_accuracy"], r["kappa"]) < (rows["classifier"]["overall_accuracy"],
                                                                     rows["classifier"]["kappa"]))
    print({r["result"]: (r["overall_accuracy"], r["kappa"]) for r in table["rows"]})
