"""Tour screenshots of the real window, for the README.

    QTWEBENGINE_DISABLE_SANDBOX=1 xvfb-run -a -s "-screen 0 1366x768x24" \
        .venv/bin/python docs/tour_screenshots.py docs/screenshots

Steps 1-2 come from `python -m desktop_app --demo --screenshot docs/screenshots/tour-2-classified.png`
(1366 x 768 by default); this script makes 3-6 at the same size.
"""
import sys, os
from PySide6.QtCore import QTimer, QSettings
from desktop_app.ui.app import make_app
app = make_app()
from desktop_app.ui.main_window import MainWindow
import tempfile
out = sys.argv[1]
win = MainWindow(settings=QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat), quiet=True)
win.resize(1366, 768); win.show()
steps = []
def later(ms, fn): QTimer.singleShot(ms, fn)
def shot(name):
    win.grab().save(os.path.join(out, name)); print("saved", name, flush=True)

def on_displayed():
    if steps: return
    steps.append(1)
    later(1200, step_zoom)
def step_zoom():
    # Zoom on the town and the river: sample polygons over the image, before classifying.
    win.bands_panel.display_preset.setCurrentText("False colour (B8/B4/B3)")
    win.map.bridge.send("fit_bounds", bounds=[[29.468, 77.690], [29.486, 77.716]])
    win.show_panel("dock_classes")
    win.docks["dock_spectra"].show()   # the spectral plot toggle (F9)
    later(2500, lambda: (shot("tour-3-samples-false-colour.png"), step_run()))
def step_run():
    win.classification_finished.connect(after_run)
    win.run_classification()
def after_run(outcome):
    if steps.count(2): return
    steps.append(2)
    win.bands_panel.display_preset.setCurrentText("True colour (B4/B3/B2)")
    win.docks["dock_spectra"].hide()
    win.show_panel("dock_layers")
    win.layers_panel.set_opacity("mask-3", 0.25)   # agriculture faint, others strong
    later(2500, lambda: (shot("tour-4-masks-zoomed.png"), step_accuracy()))
def step_accuracy():
    win.show_panel("dock_results")
    win.results_panel.tabs.setCurrentIndex(1)
    later(800, lambda: (shot("tour-5-accuracy.png"), step_thresholds()))
def step_thresholds():
    win.show_panel("dock_model")
    win.classification_finished.disconnect(after_run)
    win.classification_finished.connect(after_thr)
    win.model_panel.set_thresholds({c.name: 5.0 for c in win.model.classes()})
def after_thr(outcome):
    if steps.count(3): return
    steps.append(3)
    later(2000, lambda: (shot("tour-6-thresholds-unclassified.png"), finish()))
def finish():
    win.dirty = False; win.close(); app.quit()
win.image_displayed.connect(on_displayed)
win.open_demo(1000)
QTimer.singleShot(240000, lambda: (print("timeout"), app.quit()))
app.exec()
