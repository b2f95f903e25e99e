"""SAM-2 on the real Sentinel-2 L2A folder (/work/shared/data/s2-l2a-29RKH), random weights.

    SATSEG_SAM_RANDOM_INIT=1 QTWEBENGINE_DISABLE_SANDBOX=1 xvfb-run -a -s "-screen 0 1366x768x24" \
        .venv/bin/python docs/sam_real_scene.py /work/shared/data/s2-l2a-29RKH docs/screenshots

Open the band folder -> three sample squares (dark / mid / bright red-band ground, picked where
the 100 m B04 is most uniform) -> classify -> Refine -> Fine-tune (SAM_SHOT_STEPS) -> Segment the
same scene with the saved model. Prints the time of each stage; saves sam-real-*.png.
"""
import os
import sys
import tempfile
import time

import numpy as np
import rasterio
from PySide6.QtCore import QSettings, QTimer
from pyproj import Transformer
from scipy.ndimage import uniform_filter

from desktop_app.ui.app import make_app

app = make_app()
from desktop_app.ui.main_window import MainWindow  # noqa: E402

folder, out = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp()
os.environ.setdefault("SATSEG_HOME", os.path.join(work, "home"))
win = MainWindow(settings=QSettings(os.path.join(work, "s.ini"), QSettings.Format.IniFormat), quiet=True)
win.resize(1366, 768)
win.show()
p = win.sam_tools.panel
done = set()
t0 = [time.monotonic()]


def stamp(what):
    now = time.monotonic()
    print(f"{what}: {now - t0[0]:.1f} s", flush=True)
    t0[0] = now


def sample_squares(half=3):
    """Three WGS84 squares of (2*half+1)^2 px on the most uniform dark, mid and bright B04 ground."""
    with rasterio.open(os.path.join(folder, "B04.tif")) as src:
        red = src.read(1).astype("float64")
        tr, crs = src.transform, src.crs
    valid = uniform_filter((red > 0).astype(float), 2 * half + 1) > 0.999
    mean = uniform_filter(red, 2 * half + 1)
    std = np.sqrt(np.maximum(uniform_filter(red * red, 2 * half + 1) - mean * mean, 0))
    edges = np.percentile(red[red > 0], [10, 50, 90])
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    squares = []
    for level in edges:
        cost = np.where(valid, std + np.abs(mean - level), np.inf)
        r, c = np.unravel_index(np.argmin(cost), cost.shape)
        ring = [(c - half, r - half), (c + half + 1, r - half), (c + half + 1, r + half + 1),
                (c - half, r + half + 1), (c - half, r - half)]
        pts = [to_ll.transform(*(tr * xy)) for xy in ring]
        squares.append({"type": "Polygon", "coordinates": [[list(pt) for pt in pts]]})
    return squares


def later(ms, fn):
    QTimer.singleShot(ms, fn)


def scroll(to_end: bool) -> None:
    bar = win.docks["dock_sam"].widget().verticalScrollBar()
    bar.setValue(bar.maximum() if to_end else 0)


def shot(name):
    win.grab().save(os.path.join(out, name))
    print("saved", name, flush=True)


def once(key):
    if key in done:
        return False
    done.add(key)
    return True


def on_displayed():
    if once("opened"):
        stamp("open + display")
        for name, colour, geom in zip(("dark ground", "mid ground", "bright ground"),
                                      ("#1b7837", "#bf812d", "#f6e8c3"), sample_squares()):
            cid = win.model.add_class(name, colour)
            win.model.add_polygon(geom, cid)
        win.classification_finished.connect(after_run)
        later(800, win.run_classification)


def after_run(outcome):
    if not once("classified"):
        return
    stamp(f"classify ({outcome})")
    later(1500, lambda: shot("sam-real-0-classified.png"))
    later(2000, start_refine)


def start_refine():
    win.show_panel("dock_sam")
    p.steps.setValue(int(os.environ.get("SAM_SHOT_STEPS", "10")))
    win.runner.task_finished.connect(on_task)
    t0[0] = time.monotonic()
    p.refine_btn.click()


def on_task(task, outcome):
    kind = getattr(win.result, "sam_kind", None)
    print("task", task.kind, outcome, kind, flush=True)
    if task.kind == "sam" and kind == "refined" and once("refined"):
        stamp("refine")
        later(2000, lambda: (shot("sam-real-1-refine.png"), restart(), p.finetune_btn.click()))
    elif task.kind == "sam-scores" and kind == "segmented" and once("tuned"):
        stamp("fine-tune (incl. scores)")
        later(2000, lambda: (scroll(True), shot("sam-real-2-finetune.png"), restart(), p.segment_btn.click()))
    elif task.kind == "sam" and kind == "segmented" and "tuned" in done and once("segmented"):
        stamp("segment with the saved model")
        later(2500, lambda: (scroll(True), shot("sam-real-3-segment.png"), finish()))
    elif outcome == "failed":
        print("failed:", task.label, win.messages[-1:], flush=True)
        finish()


def restart():
    t0[0] = time.monotonic()


def finish():
    win.dirty = False
    win.model.mark_saved()
    win.close()
    app.quit()


win.image_displayed.connect(on_displayed)
later(500, lambda: win.open_path(folder))
later(1200 * 1000, finish)
app.exec()
