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


def _screen_points(placement: dict, transform, crs, rows, cols):
    """Window pixel (x, y) of scene pixels (row, col): UTM -> lon/lat -> Web Mercator -> the overlay."""
    from pyproj import Transformer

    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    (south, west), (north, east) = placement["bounds"]
    merc = lambda v: np.log(np.tan(np.pi / 4 + np.radians(v) / 2))   # noqa: E731  Web Mercator northing
    fx = (np.asarray(lon) - west) / (east - west)
    fy = (merc(north) - merc(np.asarray(lat))) / (merc(north) - merc(south))
    return (placement["x"] + fx * placement["width"]).astype(int), (placement["y"] + fy * placement["height"]).astype(int)


def test_screenshot_flag_renders_the_window_before_and_after_classifying(tmp_path):
    import json

    from scipy import ndimage

    from desktop_app.core.demo_scene import CLASSES, make_demo_scene
    from desktop_app.core.classes import hex_to_rgb
    from desktop_app.ui.layers_panel import DEFAULT_MASK_OPACITY

    out = tmp_path / "shot.png"
    r = _run(["--demo", "--demo-size", "300", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    before = np.asarray(Image.open(tmp_path / "shot-loaded.png").convert("RGB")).astype(float)
    after = np.asarray(Image.open(out).convert("RGB")).astype(float)
    assert before.shape == after.shape == (768, 1366, 3)        # --screenshot's default window size
    placements = [json.loads(line.split("image on screen: ", 1)[1])
                  for line in r.stdout.splitlines() if "image on screen: " in line]
    assert len(placements) == 2 and placements[0] == placements[1]   # the map did not move between the shots
    place = placements[0]
    assert place["width"] > 300 and place["height"] > 300          # the image fills a good part of the map

    # Known places: pixels well inside each class of the scene's ground truth. In the picture
    # after the run, mask = class colour at DEFAULT_MASK_OPACITY over the picture before it, so
    # (after - (1 - a) * before) / a gives the mask colour back; it must be the true class's.
    scene = make_demo_scene(size=300)
    a = DEFAULT_MASK_OPACITY
    colors = {c.id: np.array(hex_to_rgb(c.color), float) for c in CLASSES}
    rng = np.random.default_rng(0)
    right = total = 0
    for c in CLASSES:
        inner = ndimage.binary_erosion(scene.truth == c.id, iterations=4)
        rows, cols = np.nonzero(inner)
        pick = rng.choice(len(rows), size=min(25, len(rows)), replace=False)
        x, y = _screen_points(place, scene.image.transform, scene.image.crs, rows[pick], cols[pick])
        mask = (after[y, x] - (1 - a) * before[y, x]) / a
        nearest = [min(colors, key=lambda k: np.abs(m - colors[k]).sum()) for m in mask]
        right += sum(k == c.id for k in nearest)
        total += len(nearest)
        # And the picture before the run is the image itself, not the empty map background.
        assert (np.abs(before[y, x] - np.array([0x2b, 0x2f, 0x33])).sum(axis=1) > 30).mean() > 0.9, c.name
    assert right / total > 0.9, f"{right} of {total} known places show their class colour"


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


def test_the_app_shortens_the_gil_switch_interval_for_the_ui_thread(tmp_path):
    # Python's default (5 ms) let worker threads keep the UI thread waiting for the GIL
    # 200-300 ms at a time on a busy 2-core machine (docs/performance.md, "Who waits for whom").
    code = ("import sys; from desktop_app.ui.app import make_app; before = sys.getswitchinterval(); "
            "make_app(); print(before, sys.getswitchinterval())")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1",
               SATSEG_HOME=str(tmp_path / "home"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    before, after = map(float, r.stdout.split())
    assert before == 0.005 and after == 0.001



_ARENAS = """
import ctypes, sys, threading
from desktop_app.ui.app import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas(2)
keep, together = [], threading.Barrier(8)
def work():
    keep.append([bytearray(1000) for _ in range(2000)])     # malloc, not Python's small-object pool
    together.wait()                    # all eight alive at once: none hands its arena on
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL(None).malloc_stats()       # glibc prints one "Arena N:" block per arena on stderr
"""


def _arenas(how: str, tmp_path) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    r = subprocess.run([sys.executable, "-c", _ARENAS, how], capture_output=True, text=True, timeout=60,
                       env=dict(env, SATSEG_HOME=str(tmp_path / "home")))
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stderr.count("Arena ")


def test_the_app_limits_glibc_malloc_arenas(tmp_path):
    # Without the limit glibc gives each new thread an arena of its own (freed memory stays in
    # each: ~400 MB on the big scene, docs/performance.md); with it the threads share two.
    if not sys.platform.startswith("linux"):
        return
    assert _arenas("default", tmp_path) > 4
    assert _arenas("limit", tmp_path) <= 2
