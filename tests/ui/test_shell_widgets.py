"""The shell's widgets and helpers on their own: overlays, task runner, bands, layers, fetch dialog."""
import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from desktop_app.core.classes import ClassInfo
from desktop_app.core.demo_scene import CLASSES, make_demo_scene
from desktop_app.core.display import (UNCLASSIFIED_COLOR, latlon_bounds, mask_overlays, pixel_at, rgb_overlay)
from desktop_app.core.errors import SatSegError
from desktop_app.core.geo import WEB_MERCATOR, WGS84, transform_points


@pytest.fixture(scope="module")
def scene():
    return make_demo_scene(size=200)


def test_rgb_overlay_is_on_web_mercator_and_aligned_with_the_image(scene):
    ov = rgb_overlay(scene.image, ["B4", "B3", "B2"])
    img = Image.open(io.BytesIO(ov.png))
    assert img.mode == "RGBA" and img.size == (ov.width, ov.height)
    (s, w), (n, e) = ov.bounds
    # The overlay's corners enclose the image footprint (UTM -> lon/lat) tightly.
    left, bottom, right, top = scene.image.bounds
    lon, lat = transform_points([left, right, left, right], [bottom, bottom, top, top], scene.image.crs, WGS84)
    tol = 1e-5   # ~1 m, a tenth of a pixel: the warped grid snaps to whole pixels
    assert w <= lon.min() + tol and e >= lon.max() - tol and s <= lat.min() + tol and n >= lat.max() - tol
    assert (e - w) < (lon.max() - lon.min()) * 1.02
    # A percentile stretch uses the full range: dark and bright pixels both exist.
    rgb = np.asarray(img)[..., :3]
    alpha = np.asarray(img)[..., 3]
    assert rgb[alpha > 0].min() <= 5 and rgb[alpha > 0].max() >= 250
    assert (alpha == 0).any()        # the rotated UTM footprint leaves transparent corners


def test_class_masks_one_per_class_plus_unclassified(scene):
    arr = scene.truth.copy()
    arr[:10, :10] = 0                # some unclassified
    arr[-5:, -5:] = 255              # some nodata
    ovs = mask_overlays(arr, scene.image.transform, scene.image.crs, CLASSES)
    assert set(ovs) == {1, 2, 3, 4, 5, 0}
    for cid, ov in ovs.items():
        img = Image.open(io.BytesIO(ov.png)).convert("RGBA")
        px = np.asarray(img)
        on = px[..., 3] > 0
        assert on.sum() == ov.pixel_count
        if ov.pixel_count:
            color = UNCLASSIFIED_COLOR if cid == 0 else CLASSES[cid - 1].color
            assert tuple(px[on][0][:3]) == tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    # Nearest-neighbour warp keeps shares: water's share of the mask ~ its share of the truth.
    share = ovs[1].pixel_count / sum(o.pixel_count for o in ovs.values())
    assert abs(share - (arr == 1).sum() / (arr < 255).sum()) < 0.02


def test_pixel_at_finds_the_pixel_under_a_point(scene):
    t = scene.image.transform
    x, y = t.c + 37.5 * t.a, t.f + 12.5 * t.e   # centre of row 12, col 37
    lon, lat = transform_points([x], [y], scene.image.crs, WGS84)
    assert pixel_at(t, scene.image.crs, 200, 200, float(lon[0]), float(lat[0])) == (12, 37)
    assert pixel_at(t, scene.image.crs, 200, 200, 0.0, 0.0) is None


def test_latlon_bounds_of_a_mercator_grid():
    from affine import Affine

    x0, y0 = transform_points([10.0], [50.0], WGS84, WEB_MERCATOR)
    (s, w), (n, e) = latlon_bounds(Affine(100, 0, float(x0[0]), 0, -100, float(y0[0])), 10, 10)
    assert abs(w - 10.0) < 1e-9 and abs(n - 50.0) < 1e-9 and s < 50 and e > 10


# ----------------------------------------------------------------- task runner
def test_runner_reports_progress_and_result_on_the_ui_thread(qtbot):
    from desktop_app.ui.workers import TaskRunner

    runner = TaskRunner()
    ui_thread = threading.get_ident()
    seen, got = [], []
    runner.task_progress.connect(lambda t: seen.append((t.fraction, threading.get_ident())))

    def work(job):
        for i in range(5):
            job.step(i / 5, f"step {i}")
        return 42

    with qtbot.waitSignal(runner.task_finished, timeout=5000) as sig:
        runner.start("k", work, on_done=lambda r: got.append((r, threading.get_ident())))
    assert sig.args[1] == "done" and got == [(42, ui_thread)]
    assert seen and all(tid == ui_thread for _, tid in seen)
    assert not runner.busy()
    runner.shutdown()


def test_runner_new_run_of_a_kind_cancels_the_old_one(qtbot):
    from desktop_app.ui.workers import TaskRunner

    runner = TaskRunner()
    gate = threading.Event()
    outcomes, results = [], []
    runner.task_finished.connect(lambda t, o: outcomes.append((t.id, o)))

    def slow(job):
        gate.wait(5)
        for _ in range(50):
            job.step(0.5)
            time.sleep(0.01)
        return "old"

    first = runner.start("predict", slow, on_done=results.append)
    second = runner.start("predict", lambda job: "new", on_done=results.append)
    gate.set()
    qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=10000)
    assert results == ["new"]                       # the stale result never reaches the screen
    # The first run is stale once the second starts: it ends "superseded", whatever it was doing.
    assert dict(outcomes) == {first.id: "superseded", second.id: "done"}
    runner.shutdown()


def test_runner_a_task_started_by_on_done_follows_it(qtbot):
    """on_done starting a task of its own kind (Fine-tune, then Segment) does not supersede the task
    that finished; a new start while that follower still runs does."""
    from desktop_app.ui.workers import TaskRunner

    runner = TaskRunner()
    gate = threading.Event()
    outcomes, results, busy, chained = [], [], [], []
    runner.task_finished.connect(lambda t, o: outcomes.append((t.label, o)))
    runner.busy_changed.connect(busy.append)

    def held(job):
        gate.wait(5)
        return "second"

    def first_done(value):
        results.append(value)
        chained.append(runner.start("sam", held, label="second", on_done=results.append))

    first = runner.start("sam", lambda job: "first", label="first", on_done=first_done)
    qtbot.waitUntil(lambda: len(outcomes) == 1, timeout=5000)
    assert outcomes == [("first", "done")] and results == ["first"]
    assert not first.job.cancelled                  # the follower did not cancel a finished task
    assert runner.busy("sam") and runner.current() is chained[0]
    # the follower is a normal task: a new start while it runs supersedes it, its result is dropped
    runner.start("sam", lambda job: "third", label="third", on_done=results.append)
    assert chained[0].job.cancelled
    gate.set()
    qtbot.waitUntil(lambda: len(outcomes) == 3, timeout=5000)
    assert dict(outcomes) == {"first": "done", "second": "superseded", "third": "done"}
    assert results == ["first", "third"]
    assert busy == [True, False]                    # busy throughout the chain, idle at its end
    runner.shutdown()


def test_runner_turns_errors_into_messages(qtbot):
    from desktop_app.ui.workers import TaskRunner

    runner = TaskRunner()
    errors = []

    def bad(job):
        raise SatSegError("class 'water' has no pixels")

    def bug(job):
        raise ZeroDivisionError("boom")

    with qtbot.waitSignal(runner.task_finished, timeout=5000):
        runner.start("a", bad, on_error=errors.append)
    with qtbot.waitSignal(runner.task_finished, timeout=5000):
        runner.start("b", bug, on_error=errors.append)
    assert errors[0] == "class 'water' has no pixels"
    assert "ZeroDivisionError" in errors[1] and "Traceback" not in errors[1]
    runner.shutdown()


# ----------------------------------------------------------------- panels
def test_bands_panel_presets_and_separate_classifier_bands(qtbot):
    from desktop_app.ui.bands_panel import BandsPanel

    p = BandsPanel()
    qtbot.addWidget(p)
    names = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]
    p.set_band_names(names)
    assert p.display_bands() == ["B4", "B3", "B2"] and p.display_preset.currentText().startswith("True colour")
    shown = []
    p.display_bands_changed.connect(shown.append)
    for preset, bands in (("Urban (B12/B11/B4)", ["B12", "B11", "B4"]),
                          ("Agriculture (B11/B8/B2)", ["B11", "B8", "B2"]),
                          ("False colour (B8/B4/B3)", ["B8", "B4", "B3"])):
        p.display_preset.setCurrentText(preset)
        assert p.display_bands() == bands and shown[-1] == bands
    p.rgb[0].setCurrentIndex(0)                   # B1 as red: no preset matches any more
    assert p.display_preset.currentText() == "Custom"
    assert p.classifier_bands() == names          # the display never changes the classifier's bands
    p.classifier_preset.setCurrentText("Urban (B12/B11/B4)")
    assert p.classifier_bands() == ["B4", "B11", "B12"]
    p.same_as_display.click()
    assert set(p.classifier_bands()) == set(p.display_bands())


def test_bands_panel_with_non_sentinel_band_names(qtbot):
    from desktop_app.ui.bands_panel import BandsPanel

    p = BandsPanel()
    qtbot.addWidget(p)
    p.set_band_names(["red", "green", "blue", "nir"])
    assert p.display_bands() == ["red", "green", "blue"]
    assert [p.display_preset.itemText(i) for i in range(p.display_preset.count())] == ["Custom"]


def test_layers_panel_rows_and_state(qtbot):
    from desktop_app.ui.layers_panel import LayersPanel

    p = LayersPanel()
    qtbot.addWidget(p)
    classes = [ClassInfo(1, "water", "#1f78b4"), ClassInfo(4, "forest", "#1b7837")]
    p.set_masks(classes)
    assert set(p.rows) == {"image", "samples", "mask-1", "mask-4", "mask-0"}
    events = []
    p.opacity_changed.connect(lambda i, v: events.append(("opacity", i, v)))
    p.visibility_changed.connect(lambda i, v: events.append(("visible", i, v)))
    p.set_opacity("mask-4", 0.3)
    p.set_visible("mask-0", False)
    assert events == [("opacity", "mask-4", 0.3), ("visible", "mask-0", False)]
    state = p.state()
    p.set_masks(classes)                           # a re-run keeps the user's settings
    assert p.state() == state
    p.clear_masks()
    assert set(p.rows) == {"image", "samples"}


def test_fetch_dialog_sizes_the_request_offline(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from desktop_app.core.paths import settings_file
    from desktop_app.ui.ee_account import EeSettings, save_ee_settings
    from desktop_app.ui.fetch_dialog import FetchDialog

    roi = {"type": "Polygon", "coordinates": [[[77.69, 29.46], [77.71, 29.46], [77.71, 29.48], [77.69, 29.48],
                                               [77.69, 29.46]]]}
    # The test's own settings file: the user's real settings are neither read nor written.
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    save_ee_settings(settings, EeSettings("test-project", None, None))
    d = FetchDialog(roi, tmp_path / "cache", settings=settings)
    qtbot.addWidget(d)
    d.source.setCurrentIndex(d.source.findData("earthengine"))   # the dialog starts on keyless STAC
    assert d.ok.isEnabled(), d.plan.text()
    assert "px at 10 m" in d.plan.text() and "tile" in d.plan.text()
    req = d.request()
    assert req.source == "earthengine" and req.ee_project == "test-project" and req.roi == roi
    d.end.setDate(d.start.date().addDays(-5))      # end before start: refused with the reason
    assert not d.ok.isEnabled() and "before" in d.plan.text()
    d.ee_project.setText("other-project")
    d.accept()                                      # remembers the project id: in the given settings only
    settings.sync()
    assert QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat).value("earthengine/project") \
        == "other-project"
    assert not settings_file().exists()


def test_display_work_never_waits_for_long_jobs(qtbot):
    """Both long workers busy (two fetches): drawing and a threshold re-decide still run at once."""
    from desktop_app.ui.workers import TaskRunner, queue_of

    assert queue_of("fetch") == queue_of("classify") == "long"
    assert queue_of("display") == queue_of("signatures") == queue_of("predict") == "display"
    runner = TaskRunner()
    gate = threading.Event()
    done = []
    runner.start("fetch", lambda job: gate.wait(10))
    runner.start("classify", lambda job: gate.wait(10))
    runner.start("display", lambda job: threading.current_thread().name, on_done=done.append)
    runner.start("signatures", lambda job: "sig", on_done=done.append)
    try:
        qtbot.waitUntil(lambda: len(done) == 2, timeout=5000)   # while both long jobs still wait
        assert not gate.is_set() and any(str(d).startswith("satseg-display") for d in done)
    finally:
        gate.set()
        qtbot.waitUntil(lambda: not runner.busy(), timeout=10000)   # let the workers report before the runner goes
        runner.shutdown()
