"""SAM-2 screenshots of the real window, for the README (random weights: no checkpoint is shipped).

    SATSEG_SAM_RANDOM_INIT=1 QTWEBENGINE_DISABLE_SANDBOX=1 xvfb-run -a -s "-screen 0 1366x768x24" \
        .venv/bin/python docs/sam_screenshots.py docs/screenshots

Demo scene -> classify -> Refine (SAM-2.1 tiny architecture, random weights) -> Fine-tune (the
loss plot, the score table) -> a second scene (another seed, no samples) segmented with the model.
"""
import os
import sys
import tempfile

from PySide6.QtCore import QSettings, QTimer

from desktop_app.ui.app import make_app

app = make_app()
from desktop_app.core.demo_scene import write_demo_scene  # noqa: E402
from desktop_app.ui.main_window import MainWindow  # noqa: E402

out = sys.argv[1]
work = tempfile.mkdtemp()
os.environ.setdefault("SATSEG_HOME", os.path.join(work, "home"))
other = write_demo_scene(os.path.join(work, "other"), seed=11, size=600)["scene.tif"]
win = MainWindow(settings=QSettings(os.path.join(work, "s.ini"), QSettings.Format.IniFormat), quiet=True)
win.resize(1366, 768)
win.show()
p = win.sam_tools.panel
done = set()


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
        win.classification_finished.connect(after_run)
        later(800, win.run_classification)
    elif "segment-other" in done and once("other-shown"):
        later(1500, segment_other)


def after_run(outcome):
    if not once("classified"):
        return
    win.show_panel("dock_sam")
    p.steps.setValue(int(os.environ.get("SAM_SHOT_STEPS", "10")))
    win.runner.task_finished.connect(on_task)
    p.refine_btn.click()


def on_task(task, outcome):
    kind = getattr(win.result, "sam_kind", None)
    if task.kind == "sam" and kind == "refined" and once("refined"):
        later(2000, lambda: (shot("sam-1-refine.png"), p.finetune_btn.click()))
    elif task.kind == "sam-scores" and kind == "segmented" and once("tuned"):
        later(2000, lambda: (scroll(True), shot("sam-2-finetune-scores.png"), open_other()))
    elif task.kind == "sam" and kind == "segmented" and "other-shown" in done and once("other-segmented"):
        later(2500, lambda: (scroll(True), shot("sam-3-segment-new-scene.png"), finish()))
    elif outcome == "failed":
        print("failed:", task.label, win.messages[-1:], flush=True)
        finish()


def open_other():
    done.add("segment-other")
    win.dirty = False
    win.model.mark_saved()
    win.open_path(str(other))


def segment_other():
    p.segment_btn.click()


def finish():
    win.dirty = False
    win.model.mark_saved()
    win.close()
    app.quit()


win.image_displayed.connect(on_displayed)
later(500, lambda: win.open_demo(600))
later(1800 * 1000, finish)
app.exec()
