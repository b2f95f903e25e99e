"""SAM-2 test fixtures: the real sam2 architecture, shrunk and with random weights (docs/sam.md).

SATSEG_SAM_OVERRIDES carries the shrink overrides to every random-init build
(also in `satseg` subprocesses); SATSEG_HOME keeps models and the feature
cache inside the test's temporary folder.
"""
from pathlib import Path

import pytest

from desktop_app.core.sam.runtime import OVERRIDES_ENV, SHRINK_OVERRIDES

SHRINK = " ".join(SHRINK_OVERRIDES)


@pytest.fixture(scope="session")
def sam_home(tmp_path_factory):
    import torch

    # One thread: on a machine shared by many test runs, torch's spinning thread pool is many
    # times slower than one thread (measured: 6.6 s vs 0.3 s per training step).
    torch.set_num_threads(1)
    home = tmp_path_factory.mktemp("satseg-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SATSEG_HOME", str(home))
        mp.setenv(OVERRIDES_ENV, SHRINK)
        yield home


@pytest.fixture(autouse=True)
def _sam_env(sam_home, monkeypatch):
    monkeypatch.setenv("SATSEG_HOME", str(sam_home))
    monkeypatch.setenv(OVERRIDES_ENV, SHRINK)


@pytest.fixture(scope="session")
def small_scene(sam_home, tmp_path_factory) -> Path:
    """A 256 px demo scene with the classifier's class raster (classes.tif) beside it."""
    from desktop_app.cli import main
    from desktop_app.core.demo_scene import write_demo_scene

    out = tmp_path_factory.mktemp("sam-scene")
    write_demo_scene(out, size=256)
    assert main(["classify", str(out / "scene.tif"), str(out / "samples.geojson"), "--out",
                 str(out / "classes.tif"), "--json"]) == 0
    return out


@pytest.fixture(scope="session")
def tuned(small_scene, tmp_path_factory):
    """A model fine-tuned on the small scene's classifier mask: (model dir, finetune summary)."""
    from desktop_app.core.sam.finetune import finetune_file

    out = tmp_path_factory.mktemp("sam-model") / "model"
    result = finetune_file(small_scene / "scene.tif", small_scene / "classes.tif", out, random_init=True,
                           steps=24, validation=small_scene / "validation.geojson", window=256, overlap=32)
    return out, result
