"""SAM-2 in the real window, for the README: screenshots and the time of each stage (random weights:
no checkpoint is shipped).

    SATSEG_SAM_RANDOM_INIT=1 QTWEBENGINE_DISABLE_SANDBOX=1 xvfb-run -a -s "-screen 0 1366x768x24" \\
        .venv/bin/python docs/sam_screenshots.py docs/screenshots [--scene demo|FOLDER] [--steps N] [--size WxH] [--zoom-in N]

``--scene demo`` (default): the 600 px demo scene with its sample and validation polygons.
``--scene FOLDER``: a Sentinel-2 band folder (e.g. ../shared/data/s2-l2a-29RKH); three classes
get a training and a validation square each, on the most uniform dark, mid and bright B04
ground (picked from the 100 m red band, far apart), and the app's palette colours (the imagery's
own greens and tans would hide them). Before each screenshot the map zooms ``--zoom-in`` levels
in from the whole scene, onto the part where the shown classes are most evenly mixed, and the
masks are drawn at 80 % opacity: a whole 110 km scene is a few hundred pixels on the map.

Classify -> Refine -> Fine-tune (live loss, then the scene segmented with the new model and the
score table) -> all samples removed and a scene reopened with no samples (demo: another seed;
folder: the same folder) -> Segment with the saved model. Each stage is timed from the click to
the end of its task in the window; every screenshot waits until no SAM task and no scoring runs.
"""
import argparse
import os
import tempfile
import time

from PySide6.QtCore import QSettings, QTimer

from desktop_app.ui.app import make_app

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--scene", default="demo", help="demo, or a Sentinel-2 band folder")
ap.add_argument("--steps", type=int, default=10, help="fine-tuning steps per variant")
ap.add_argument("--size", default="1366x768", help="window size WxH (the README's shots: 1366x768)")
ap.add_argument("--zoom-in", type=int, default=2, help="band folder: map zoom levels in from the whole scene")
args = ap.parse_args()

app = make_app()
from desktop_app.ui.main_window import MainWindow  # noqa: E402

DEMO = args.scene == "demo"
PREFIX = "sam-" if DEMO else "sam-real-"
work = tempfile.mkdtemp()
os.environ.setdefault("SATSEG_HOME", os.path.join(work, "home"))
win = MainWindow(settings=QSettings(os.path.join(work, "s.ini"), QSettings.Format.IniFormat), quiet=True)
win.resize(*map(int, args.size.split("x")))
win.show()
p = win.sam_tools.panel
stage = {"name": "open", "t": time.monotonic()}
started: dict = {}


def log(text):
    print(f"{text}  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})", flush=True)


def later(ms, fn):
    QTimer.singleShot(ms, fn)


def when_idle(fn, settle_ms=2000):
    """Call fn once no SAM task and no scoring runs any more (then let the map draw)."""
    if win.runner.busy("sam") or win.runner.busy("sam-scores") or win.runner.busy("open"):
        later(300, lambda: when_idle(fn, settle_ms))
    else:
        later(settle_ms, fn)


def scroll(to_end: bool) -> None:
    bar = win.docks["dock_sam"].widget().verticalScrollBar()
    bar.setValue(bar.maximum() if to_end else 0)


def shot(name):
    """The window as a 256-colour PNG (a third of the RGB file's size; the README carries several)."""
    import io

    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    from desktop_app.core.atomic import atomic_open

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    win.grab().save(buf, "PNG")
    img = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    path = os.path.join(args.out, PREFIX + name)
    with atomic_open(path) as f:
        img.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(f, "PNG", optimize=True)
    log(f"saved {path} ({os.path.getsize(path) // 1024} KB)")


def sample_squares(folder, half=3, apart=60):
    """Per brightness level (10th, 50th, 90th percentile of B04): a training and a validation
    square of (2*half+1)^2 px on the most uniform ground, at least ``apart`` px from each other."""
    import numpy as np
    import rasterio
    from pyproj import Transformer
    from scipy.ndimage import uniform_filter

    with rasterio.open(os.path.join(folder, "B04.tif")) as src:
        red = src.read(1).astype("float64")
        tr, crs = src.transform, src.crs
    valid = uniform_filter((red > 0).astype(float), 2 * half + 1) > 0.999
    mean = uniform_filter(red, 2 * half + 1)
    std = np.sqrt(np.maximum(uniform_filter(red * red, 2 * half + 1) - mean * mean, 0))
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    rr, cc = np.mgrid[:red.shape[0], :red.shape[1]]
    out = []
    for level in np.percentile(red[red > 0], [10, 50, 90]):
        cost = np.where(valid, std + np.abs(mean - level), np.inf)
        pair = []
        for _role in ("training", "validation"):
            r, c = np.unravel_index(np.argmin(cost), cost.shape)
            ring = [(c - half, r - half), (c + half + 1, r - half), (c + half + 1, r + half + 1),
                    (c - half, r + half + 1), (c - half, r - half)]
            pair.append({"type": "Polygon", "coordinates": [[list(to_ll.transform(*(tr * xy))) for xy in ring]]})
            cost[(rr - r) ** 2 + (cc - c) ** 2 < apart ** 2] = np.inf
        out.append(pair)
    return out


def where_classes_meet(class_array, ids, rows, cols):
    """(row, col) centre of the rows x cols view whose smallest class share is the largest
    (of the classes ``ids`` the array has: a segmentation may lack one)."""
    import numpy as np
    from scipy.ndimage import uniform_filter

    h, w = class_array.shape
    rows, cols = min(rows, h), min(cols, w)
    ids = [i for i in ids if (class_array == i).any()]
    share = np.stack([uniform_filter((class_array == i).astype("float32"), (rows, cols), mode="constant")
                      for i in ids]).min(axis=0)
    inside = np.zeros_like(share, bool)      # views that lie wholly on the scene
    inside[rows // 2:h - (rows - 1) // 2, cols // 2:w - (cols - 1) // 2] = True
    return np.unravel_index(np.argmax(np.where(inside, share, -1)), share.shape)


def focus_map(then):
    """Band folder: zoom onto the part of the scene where the shown classes meet, masks at 80 %
    opacity; then ``then()`` once the map has drawn. The demo scene keeps the whole-scene view."""
    if DEMO or win.result is None:
        then()
        return
    import math

    from pyproj import Transformer

    from desktop_app.ui.layers_panel import mask_layer_id

    res = win.result
    doc = res.request.doc
    px = abs(doc.transform.a)                                     # metres per image pixel (UTM)
    x, y = doc.transform @ (doc.width / 2, doc.height / 2)
    lon, lat = Transformer.from_crs(doc.crs, "EPSG:4326", always_xy=True).transform(x, y)
    w, h = win.map.width(), win.map.height()
    per_px0 = 156543.03392 * math.cos(math.radians(lat))         # Web Mercator metres per screen px at zoom 0
    whole = math.floor(math.log2(per_px0 * min(w / (doc.width * px), h / (doc.height * px))))  # Leaflet's fit
    zoom = whole + args.zoom_in
    scale = per_px0 / 2 ** zoom / px                             # image pixels per screen pixel
    r, c = where_classes_meet(res.class_array, [k.id for k in res.classes], int(h * scale), int(w * scale))
    lon, lat = Transformer.from_crs(doc.crs, "EPSG:4326", always_xy=True).transform(
        *(doc.transform @ (c + 0.5, r + 0.5)))
    for k in res.classes:
        if mask_layer_id(k.id) in win.layers_panel.rows:
            win.layers_panel.set_opacity(mask_layer_id(k.id), 0.8)
    win.map.bridge.send("set_view", lat=lat, lon=lon, zoom=zoom)
    log(f"  map: zoom {zoom} (whole scene {whole}) at lat {lat:.4f} lon {lon:.4f}")
    later(3000, then)


# ------------------------------------------------------------------ the sequence
def on_started(task):
    started[task.id] = time.monotonic()


def on_finished(task, outcome):
    if task.id in started and task.kind in ("open", "classify", "sam", "sam-scores"):
        log(f"  task '{task.label}': {outcome} in {time.monotonic() - started.pop(task.id):.1f} s")
    if outcome == "failed":
        log(f"failed: {task.label} {win.messages[-1:]}")
        finish()
        return
    if task.kind != "sam" or outcome != "done":
        return
    if task.label == "Refining with SAM-2" and stage["name"] == "refine":
        end_stage()
        when_idle(after_refine)
    elif task.label == "Fine-tuning SAM-2" and stage["name"] == "finetune":
        end_stage()
        begin("segment (this scene, after fine-tuning)")       # Fine-tune's end starts Segment itself
    elif task.label == "Segmenting with the fine-tuned model" and stage["name"].startswith("segment (this"):
        end_stage()
        when_idle(after_finetune)
    elif task.label == "Segmenting with the fine-tuned model" and stage["name"].startswith("segment (no samples"):
        end_stage()
        when_idle(lambda: focus_map(lambda: (scroll(True), shot("3-segment-new-scene.png" if DEMO else "3-segment.png"),
                                             finish())), 3000)


def begin(name):
    stage.update(name=name, t=time.monotonic())


def end_stage():
    log(f"{stage['name']}: {time.monotonic() - stage['t']:.1f} s in the window")


def on_displayed():
    if stage["name"] == "open":
        end_stage()
        if not DEMO:
            names = ("dark ground", "mid ground", "bright ground")
            for name, (train, valid) in zip(names, sample_squares(args.scene)):
                cid = win.model.add_class(name)     # the app's palette: blue, red, light green
                win.model.add_polygon(train, cid)
                win.model.add_polygon(valid, cid, role="validation")
        begin("classify")
        win.classification_finished.connect(after_classify)
        later(800, win.run_classification)
    elif stage["name"] == "reopen":
        end_stage()
        later(1500, start_segment)


def after_classify(outcome):
    if stage["name"] != "classify":
        return
    end_stage()
    win.show_panel("dock_sam")
    p.steps.setValue(args.steps)
    begin("refine")
    p.refine_btn.click()


def after_refine():
    focus_map(refine_shot)


def refine_shot():
    scroll(False)
    shot("1-refine.png")
    begin("finetune")
    p.finetune_btn.click()


def after_finetune():
    scroll(True)
    shot("2-finetune-scores.png")
    # a scene without any sample polygon or classification: only the saved model
    win.dirty = False
    win.model.clear()
    win.model.mark_saved()
    begin("reopen")
    if DEMO:
        from desktop_app.core.demo_scene import write_demo_scene

        win.open_path(str(write_demo_scene(os.path.join(work, "other"), seed=11, size=600)["scene.tif"]))
    else:
        win.open_path(args.scene)


def start_segment():
    begin("segment (no samples, saved model)")
    p.segment_btn.click()


def finish():
    win.dirty = False
    win.model.mark_saved()
    win.close()
    app.quit()


win.runner.task_started.connect(on_started)
win.runner.task_finished.connect(on_finished)
win.image_displayed.connect(on_displayed)
later(500, lambda: win.open_demo(600) if DEMO else win.open_path(args.scene))
later(1800 * 1000, finish)
app.exec()
