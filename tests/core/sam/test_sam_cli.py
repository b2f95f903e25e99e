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
    assert r["models"] == [] and r["device"] == "cpu" and "import" in r["hint"]


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
