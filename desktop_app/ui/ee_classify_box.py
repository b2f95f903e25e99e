"""'on Earth Engine' next to Run classification: train and classify on Earth Engine's servers (docs/scale.md).

The choice sits beside the Run button; when it is ticked, Run asks for the
imagery (the same choices as Fetch imagery for ROI… in the Image panel: dates, bands, composite, Earth
Engine account) and where a large result goes (``ee_classify_dialog.py``), and
runs ``core/scale/ee_run.classify_on_ee`` for the region of interest with the
window's samples, method, options and thresholds. The class raster lands in the
imagery cache (or the project's imagery folder) and is shown as the window's
result: masks, layers, areas and exports as for a local run. An export is
followed in Classify ▸ Earth Engine tasks… (``ee_tasks_dialog.py``). On another grid than the open image it is resampled onto the image's grid
for display; with no image open it is opened as the image (docs/scale.md).
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout


class EarthEngineChoice(QCheckBox):
    def __init__(self, parent=None) -> None:
        super().__init__("on Earth Engine", parent)
        self.setToolTip("Train and classify inside Google Earth Engine for the region of interest "
                        "(random forest, Mahalanobis, maximum likelihood, parallelepiped); "
                        "only the class raster is downloaded")


def install(win) -> EarthEngineChoice:
    """Put the choice on the Run button's row of the Model panel."""
    panel = win.model_panel
    choice = EarthEngineChoice(panel)
    layout = panel.layout()
    index = layout.indexOf(panel.run_button)
    row = QHBoxLayout()
    layout.insertLayout(index, row)
    row.addWidget(panel.run_button, 1)
    row.addWidget(choice)
    from .ee_tasks_dialog import show_tasks

    for action in win.menuBar().actions():
        if action.text() == "&Classify":
            win.act_ee_tasks = win._action(action.menu(), "Earth Engine &tasks…", lambda: show_tasks(win),
                                           tip="The exports started on Earth Engine: their state, cancel one, "
                                               "download and show a finished one")
    return choice


def ee_thresholds(by_name, samples):
    """The panel's {class name: value} as the engine's thresholds: one value when every class has the same one."""
    if not by_name:
        return None
    ids = {samples.class_id(name): v for name, v in by_name.items() if any(c.name == name for c in samples.classes)}
    if set(ids) == {c.id for c in samples.classes} and len(set(ids.values())) == 1:
        return next(iter(ids.values()))
    return ids or None


def run_on_earth_engine(win) -> None:
    from ..core.errors import SatSegError
    from ..core.online.fetch import default_cache_dir
    from ..core.scale.ee_classify import check_method
    from ..core.scale.ee_run import classify_on_ee
    from .ee_classify_dialog import ClassifyOnEarthEngineDialog

    if not win.roi:
        win.notify("Draw a region of interest first (Image panel ▸ Region of interest): Earth Engine classifies "
                   "that area.", "warning")
        return
    samples = win.model.to_sample_set()
    method = win.model_panel.method()
    if len(samples.classes) < 2:
        win.notify("Draw training polygons for at least two classes first.", "warning")
        return
    try:
        thresholds = ee_thresholds(win.model_panel.thresholds(), samples)
        check_method(method, thresholds)
    except SatSegError as exc:
        win.notify(str(exc), "warning")
        return
    cache: Path = (win.project_folder / "imagery") if win.project_folder else default_cache_dir()
    stem = f"classes_earthengine_{method}_{time.strftime('%Y%m%d_%H%M%S')}"
    dlg = ClassifyOnEarthEngineDialog(win.roi, cache, win, settings=win.settings, runner=win.runner,
                                      notify=win.notify, file_name=stem)
    win.ee_classify_dialog = dlg      # reachable while it is open (tests drive it from a timer)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return
    req = dlg.request()
    if req.source != "earthengine":
        win.notify("Classifying on a server needs the Earth Engine source; choose it in the dialog.", "warning")
        return
    out = cache / f"{stem}.tif"
    options = win.model_panel.options()
    try:
        export = dlg.export()
    except SatSegError as exc:
        win.notify(str(exc), "warning")
        return

    def done(result) -> None:
        counts = ", ".join(f"{c['name']} {c['pixels']:,} px" for c in result["classes"])
        win.notify(f"Classified on Earth Engine ({len(result['scenes'])} scene(s)): {out} — {counts}", "info")
        show_class_raster(win, out)

    def exported(result) -> None:
        from .ee_tasks_dialog import destination_text, show_tasks

        win.notify(f"Earth Engine is exporting the result ({result['width']:,} × {result['height']:,} px) to "
                   f"{destination_text(export)}. Download it from Classify ▸ Earth Engine tasks… when it is done.",
                   "info")
        show_tasks(win, select=result["task"])

    win.runner.start("classify-ee", lambda job: classify_on_ee(req, samples, method, out, thresholds=thresholds,
                                                               options=options, cache_dir=cache, job=job,
                                                               export=export),
                     label="Starting the Earth Engine export" if export else "Classifying on Earth Engine",
                     on_done=exported if export else done,
                     on_error=lambda msg: win.notify(f"Classifying on Earth Engine failed: {msg}", "error"))


def show_class_raster(win, path) -> None:
    """Show a finished class raster as the window's result, as SAM results are (ui/sam_tools.py).

    On the open image's grid it is shown as it is. On another grid it is
    resampled (nearest neighbour) onto the image's grid for display only,
    and the status bar says so; the saved file is not changed. With no image
    open, the class raster itself is opened as the image and shown on its
    own grid (docs/scale.md).
    """
    if win.doc is None:
        def opened(doc) -> None:
            win.set_document(doc)
            _show_on_image(win, path, f"No image was open, so the Earth Engine result {path} is open as the image "
                                      "with its classes on the map.")
        win.open_path(str(path), then=opened)
        return
    _show_on_image(win, path)


def _as_window_classes(win, path):
    """The raster's classes as the window's (matched by name, missing ones added, as the clusters box does).

    Returns (lookup table raster id -> window id, the window's ClassInfo list), or (None, None) when the
    file has no class list. Runs on the UI thread: it reads only the file's tags.
    """
    import numpy as np
    import rasterio

    from ..core.classes import CLASSES_TAG, classes_from_tags

    try:
        with rasterio.open(path) as ds:
            tags = ds.tags()
    except rasterio.errors.RasterioIOError:
        return None, None            # the job says what is wrong with the file
    if CLASSES_TAG not in tags:
        return None, None
    model, lut, classes = win.model, np.arange(256, dtype=np.uint8), []
    for c in classes_from_tags(tags):
        existing = model.class_by_name(c.name)
        cid = existing.id if existing else model.add_class(c.name, c.color)
        if cid > 0:
            lut[c.id] = cid
            classes.append(model.class_info(cid))
    return lut, classes


def _show_on_image(win, path, note: str = "") -> None:
    from ..core.classes import read_class_raster_on_grid
    from . import pipeline

    doc = win.doc
    lut, window_classes = _as_window_classes(win, path)
    req = pipeline.RunRequest(doc, win.model.to_sample_set(), list(doc.band_names), win.model_panel.method(),
                              win.model_panel.options(), None)

    def load(job):
        array, classes, resampled = read_class_raster_on_grid(path, doc.height, doc.width, doc.transform, doc.crs,
                                                              job.sub(0.0, 0.5))
        if lut is not None:
            array, classes = lut[array], window_classes
        return pipeline.classes_result(req, array, classes, job.sub(0.5, 1.0)), resampled

    def done(out) -> None:
        res, resampled = out
        win._show_result(res)
        win._send_legend()
        if resampled:
            # The status bar is one line: the file's name here (its full path was reported when it was saved).
            win.notify(f"{Path(path).name} is on another grid: shown resampled (nearest neighbour) onto the image's "
                       "grid; areas and exports here use the image's grid; the file is unchanged.", "info")
        elif note:
            win.notify(note, "info")

    win.runner.start("classify-ee-show", load, label="Showing the Earth Engine result", on_done=done,
                     on_error=lambda msg: win.notify(f"The Earth Engine result is saved at {path} but cannot be "
                                                     f"shown: {msg}", "warning"))
