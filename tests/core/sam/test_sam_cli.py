"""`satseg sam ...`: JSON output, random-init marking, and one-line errors (exit 2) for bad input."""
import json
import subprocess
import sys

import pytest
import rasterio

from desktop_app.cli import main
from desktop_app.core.sam.runtime import OVERRIDES_ENV, SHRINK_OVERRIDES


def env_for_cli(home) -> dict:
    import os

    return dict(os.environ, SATSEG_HOME=str(home), **{OVERRIDES_ENV: " ".join(SHRINK_OVERRIDES)})


def test_refine_cli_json_as_a_whole_process(small_scene, sam_home, tmp_path):
    out = tmp_path / "refined.tif"
    proc = subprocess.run(
        [sys.executable, "-m", "desktop_app.cli", "sam", "refine", str(small_scene / "scene.tif"),
         str(small_scene / "classes.tif"), "--out", str(out), "--random-init", "--window", "256", "--json"],
        capture_output=True, text=True, env=env_for_cli(sam_home), timeout=600)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["device"] == "cpu" and r["random_init"] is True and r["model"]["note"].startswith("random-init")
    assert r["windows"] == 1 and r["cache_hits"] + r["cache_misses"] == 1 and r["seconds"] > 0
    assert set(r["changed_share"]) == {"water", "urban", "agriculture", "barren", "forest"}
    with rasterio.open(out) as ds, rasterio.open(small_scene / "scene.tif") as src:
        assert ds.dtypes[0] == "uint8" and ds.transform == src.transform and ds.crs == src.crs
        assert "SATSEG_CLASSES" in ds.tags() and "SATSEG_SAM_RANDOM_INIT" in ds.tags()


def test_list_without_models_says_how_to_get_one(capsys):
    assert main(["sam", "list", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["models"] == [] and r["device"] == "cpu" and "import it with `satseg sam import FILE`" in r["hint"]


@pytest.mark.parametrize("argv,message", [
    (["sam", "import", "{tmp}/broken.pt"], "not a readable PyTorch checkpoint"),
    (["sam", "refine", "{scene}/scene.tif", "{demo}/truth.tif", "--out", "{tmp}/o.tif", "--random-init"],
     "another grid"),
    (["sam", "refine", "{scene}/scene.tif", "{scene}/classes.tif", "--out", "{tmp}/o.tif"],
     "no SAM-2 model is installed"),
    (["sam", "segment", "{scene}/scene.tif", "{tmp}", "--out", "{tmp}/o.tif"], "not a fine-tuned SAM-2 model"),
    (["sam", "finetune", "{scene}/scene.tif", "{scene}/classes.tif", "--out", "{tmp}/m", "--random-init",
      "--steps", "0"], "--steps must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, small_scene, demo_dir, tmp_path, capsys):
    (tmp_path / "broken.pt").write_bytes(b"\x80\x02 not really a pickle")
    argv = [a.format(tmp=tmp_path, scene=small_scene, demo=demo_dir) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("satseg: error:") and message in err and "\n" not in err
    assert not (tmp_path / "o.tif").exists()


def test_model_and_random_init_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sam", "refine", "a.tif", "b.tif", "--out", "c.tif", "--model", "x", "--random-init"])
    assert exc.value.code == 2


def test_refine_thresholds_change_acceptance_as_documented(small_scene, tmp_path, monkeypatch, capsys):
    """--iou-min X --agreement-min Y: a mask is accepted iff SAM's predicted IoU >= X and its agreement >= Y."""
    import numpy as np

    from desktop_app.core.classes import read_class_raster

    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))      # a cache holding this scene's entry only
    classifier = read_class_raster(small_scene / "classes.tif")[0]

    def refine(*extra):
        out = tmp_path / f"r{len(list(tmp_path.glob('r*.tif')))}.tif"
        argv = ["sam", "refine", str(small_scene / "scene.tif"), str(small_scene / "classes.tif"), "--out", str(out),
                "--random-init", "--window", "256", "--json", *extra]
        assert main(argv) == 0
        return json.loads(capsys.readouterr().out), read_class_raster(out)[0]

    default, _ = refine()
    assert (default["iou_min"], default["agreement_min"]) == (0.8, 0.6)
    # the loosest values accept every mask; the strictest accept none and keep the classifier's raster
    loose, loose_raster = refine("--iou-min", "0", "--agreement-min", "0")
    assert loose["accepted"] == loose["prompts"] > 0 and (loose_raster != classifier).any()
    strict, strict_raster = refine("--iou-min", "1", "--agreement-min", "1")
    assert strict["accepted"] == 0
    np.testing.assert_array_equal(strict_raster, classifier)
    # --iou-min alone: exactly the prompts whose predicted IoU (stored by the decoder in the cache) reaches it
    (entry,) = (tmp_path / "home" / "sam-cache" / "decoded").glob("*/*.npz")
    with np.load(entry) as z:
        ious = z["iou"]
    assert len(ious) == loose["prompts"]
    for x in (float(np.median(ious)), float(ious.max())):
        r, _ = refine("--iou-min", f"{x!r}", "--agreement-min", "0")
        assert r["accepted"] == int((ious >= x).sum())
    # a stricter agreement never accepts more
    counts = [refine("--iou-min", "0", "--agreement-min", y)[0]["accepted"] for y in ("0.3", "0.6", "0.9")]
    assert loose["accepted"] > counts[0] >= counts[1] >= counts[2]
    # out of range: one line, exit 2
    assert main(["sam", "refine", str(small_scene / "scene.tif"), str(small_scene / "classes.tif"), "--out",
                 str(tmp_path / "o.tif"), "--random-init", "--iou-min", "1.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--iou-min must be between 0 and 1" in err and "\n" not in err
