"""The automation flags of `python -m desktop_app`, run as a user (or a packaged build) would."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image


def _run(args, tmp_path, timeout=180):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1",
               SATSEG_HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_smoke_test_flag(tmp_path):
    r = _run(["--smoke-test", "--demo-size", "300"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    for line in ("map page ready", "bridge round trip ok", "classified with", "smoke test passed"):
        assert line in r.stdout


def test_screenshot_flag_renders_the_window_before_and_after_classifying(tmp_path):
    out = tmp_path / "shot.png"
    r = _run(["--demo", "--demo-size", "300", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    before = np.asarray(Image.open(tmp_path / "shot-loaded.png").convert("RGB"))
    after = np.asarray(Image.open(out).convert("RGB"))
    assert before.shape == after.shape and before.shape[1] > 800
    # Real pictures: many colours, and the masks changed the map between the two.
    assert len(np.unique(after.reshape(-1, 3), axis=0)) > 200
    assert (np.abs(after.astype(int) - before.astype(int)).sum(axis=2) > 30).mean() > 0.05


def test_project_flag_opens_a_saved_project(tmp_path):
    from desktop_app.core import project as core_project
    from desktop_app.core.classes import ClassInfo

    folder = tmp_path / "proj"
    state = core_project.ProjectState(name="flags", classes=[ClassInfo(1, "water", "#1f78b4")],
                                      extra={"demo_size": 200})
    core_project.save_project(folder, state)
    out = tmp_path / "p.png"
    r = _run(["--project", str(folder), "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.stat().st_size > 10000


def test_a_newer_project_fails_the_automation_run_with_a_message(tmp_path):
    import json

    from desktop_app.core import project as core_project

    folder = tmp_path / "future"
    folder.mkdir()
    (folder / core_project.MANIFEST_NAME).write_text(json.dumps(
        {"format": core_project.PROJECT_FORMAT, "version": core_project.PROJECT_VERSION + 1}))
    r = _run(["--project", str(folder), "--screenshot", str(tmp_path / "x.png")], tmp_path, timeout=60)
    assert r.returncode == 1
    assert "newer SatSeg" in r.stderr and "Traceback" not in r.stderr
