"""Long runs in the window: Cancel, a responsive UI thread, closing mid-run."""
import time

import numpy as np
from PySide6.QtCore import QTimer

from desktop_app.core.raster import Raster
from desktop_app.ui.pipeline import ImageDoc
from ui_helpers import open_demo

BIG = 2000


def big_doc(win) -> ImageDoc:
    """A 2000 x 2000, 12-band scene: the demo image tiled, with the demo's sample polygons."""
    small = win.doc
    reps = -(-BIG // small.width)
    data = np.tile(small.raster.data, (1, reps, reps))[:, :BIG, :BIG].copy()
    raster = Raster(data, small.transform, small.crs, list(small.band_names))
    return ImageDoc("tiled demo", None, list(small.band_names), small.transform, small.crs, BIG, BIG,
                    raster=raster, samples=small.samples)


def _open_big(qtbot, win):
    open_demo(qtbot, win, size=400)
    doc = big_doc(win)
    with qtbot.waitSignal(win.image_displayed, timeout=60000):
        win.set_document(doc)
    return doc


def test_ui_thread_stays_responsive_while_classifying_2000x2000(qtbot, window, monkeypatch):
    import threading

    import desktop_app.core.scale.score_cache as score_cache

    real, threads = score_cache.classify_cached, set()

    def recorded(*a, **kw):   # the window's classification entry point: where it runs
        threads.add(threading.get_ident())
        return real(*a, **kw)

    monkeypatch.setattr(score_cache, "classify_cached", recorded)
    win = window
    _open_big(qtbot, win)
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    with qtbot.waitSignal(win.classification_finished, timeout=180000) as sig:
        win.run_classification()
    timer.stop()
    assert sig.args[0] == "done"
    assert win.result.class_array.shape == (BIG, BIG)
    gaps = np.diff(ticks)
    print(f"event-loop ticks: {len(ticks)}, longest gap {gaps.max() * 1000:.0f} ms, "
          f"run {win.result.seconds:.1f} s")
    assert len(ticks) > 20
    # The work runs off the UI thread: no block is classified on it, and the event loop keeps
    # ticking throughout. The 200 ms target itself is measured by benchmarks/ui_responsiveness.py
    # under Xvfb, not here, where a loaded CI machine can starve the process for a second or two;
    # a classification on the UI thread would stall for the whole run, which this bound still catches.
    assert threads and threading.get_ident() not in threads
    assert gaps.max() < max(1.0, win.result.seconds / 3)


def test_cancel_midway_keeps_the_ui_usable(qtbot, window, monkeypatch):
    import desktop_app.core.scale.score_cache as score_cache

    real = score_cache._evaluate_block   # what the window's classification runs for each block

    def slow(*a, **kw):   # as on a slow machine: ~0.2 s per block, so Cancel lands mid-run
        time.sleep(0.2)
        return real(*a, **kw)

    monkeypatch.setattr(score_cache, "_evaluate_block", slow)
    win = window
    _open_big(qtbot, win)
    seen = []
    win.runner.task_progress.connect(lambda t: seen.append(t.fraction) if t.kind == "classify" else None)
    with qtbot.waitSignal(win.classification_finished, timeout=180000) as sig:
        win.run_classification()
        qtbot.waitUntil(lambda: bool(seen) and seen[-1] > 0.3, timeout=120000)
        assert win.act_cancel.isEnabled() and win.status.cancel.isVisible()
        win.status.cancel.click()
    assert sig.args[0] == "cancelled"
    assert win.result is None                      # nothing half-done is shown
    assert not win.runner.busy()
    assert not win.status.cancel.isVisible()
    assert win.model_panel.run_button.isEnabled()
    # Usable: a new, smaller run completes.
    monkeypatch.setattr(score_cache, "_evaluate_block", real)
    open_demo(qtbot, win, size=200)
    with qtbot.waitSignal(win.classification_finished, timeout=120000) as sig:
        win.run_classification()
    assert sig.args[0] == "done" and win.result is not None


def test_a_new_run_cancels_the_stale_one(qtbot, window):
    win = window
    open_demo(qtbot, window, size=300)
    outcomes = []
    win.classification_finished.connect(outcomes.append)
    win.run_classification()
    win.run_classification()
    qtbot.waitUntil(lambda: "done" in outcomes, timeout=120000)
    qtbot.waitUntil(lambda: not win.runner.busy(), timeout=30000)
    assert outcomes.count("done") == 1
    assert set(outcomes) <= {"done", "cancelled", "superseded"} and len(outcomes) == 2


def test_closing_during_a_run_cancels_it_and_closes(qtbot, window):
    win = window
    _open_big(qtbot, win)
    win.run_classification()
    qtbot.waitUntil(lambda: win.runner.busy("classify"), timeout=5000)
    t0 = time.perf_counter()
    assert win.close()
    assert time.perf_counter() - t0 < 20
    assert win._closed and not win.isVisible()
