"""'on Earth Engine' next to Run classification: train and classify on Earth Engine's servers (docs/scale.md).

The choice sits beside the Run button; when it is ticked, Run asks for the
imagery (the same dialog as Imagery ▸ Fetch: dates, bands, composite, Earth
Engine account) and runs ``core/scale/ee_run.classify_on_ee`` for the region
of interest with the window's samples, method, options and thresholds. The
class raster lands in the imagery cache (or the project's imagery folder) and,
when the open image is on its grid (the composite Imagery ▸ Fetch gives for the
same region, scale and CRS), is shown as the window's result: masks, layers,
areas and exports as for a local run (docs/scale.md).
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
    from .fetch_dialog import FetchDialog

    if not win.roi:
        win.notify("Draw a region of interest first (Imagery ▸ Region of interest): Earth Engine classifies that area.",
                   "warning")
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
    dlg = FetchDialog(win.roi, cache, win, settings=win.settings, runner=win.runner, notify=win.notify)
    dlg.setWindowTitle("Classify on Earth Engine")
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return
    req = dlg.request()
    if req.source != "earthengine":
        win.notify("Classifying on a server needs the Earth Engine source; choose it in the dialog.", "warning")
        return
    out = cache / f"classes_earthengine_{method}_{time.strftime('%Y%m%d_%H%M%S')}.tif"
    options = win.model_panel.options()

    def done(result) -> None:
        counts = ", ".join(f"{c['name']} {c['pixels']:,} px" for c in result["classes"])
        win.notify(f"Classified on Earth Engine ({len(result['scenes'])} scene(s)): {out} — {counts}", "info")
        show_class_raster(win, out)

    win.runner.start("classify-ee", lambda job: classify_on_ee(req, samples, method, out, thresholds=thresholds,
                                                               options=options, cache_dir=cache, job=job),
                     label="Classifying on Earth Engine", on_done=done,
                     on_error=lambda msg: win.notify(f"Classifying on Earth Engine failed: {msg}", "error"))


def _same_grid(doc, path) -> bool:
    import rasterio

    with rasterio.open(path) as ds:
        return ((ds.height, ds.width) == (doc.height, doc.width) and ds.crs == doc.crs
                and ds.transform.almost_equals(doc.transform))


def show_class_raster(win, path) -> None:
    """Show a finished class raster as the window's result, as SAM results are (ui/sam_tools.py).

    Only over an open image on the raster's grid: the map, areas, accuracy and
    exports all work on the image's grid. Otherwise the user is told how to get one.
    """
    from . import pipeline

    doc = win.doc
    if doc is None or not _same_grid(doc, path):
        win.notify(f"The Earth Engine result is saved at {path}; it is not on the open image's grid, so it is "
                   "not shown. To see it on the map, fetch the imagery from Earth Engine for the same region and "
                   "scale first (Imagery ▸ Fetch imagery for ROI), then classify on Earth Engine again.", "warning")
        return
    req = pipeline.RunRequest(doc, win.model.to_sample_set(), list(doc.band_names), win.model_panel.method(),
                              win.model_panel.options(), None)
    win.runner.start("classify-ee-show", lambda job: pipeline.restore(req, str(path), job),
                     label="Showing the Earth Engine result", on_done=win._show_result,
                     on_error=lambda msg: win.notify(f"Cannot show the Earth Engine result: {msg}", "error"))
