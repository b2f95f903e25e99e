"""The window <-> ``core.project.ProjectState``: save, open, autosave, recovery.

Saving writes the class raster of the last run into the project's results/
folder (atomically, like every project file) so reopening shows the same
masks and areas without re-running anything. Opening is asynchronous: the
image loads on a worker, then samples, settings and the stored result are
applied in that order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..core import project as core_project
from ..core.errors import SatSegError
from . import pipeline

CLASS_RASTER = core_project.CLASS_RASTER


def state_from_window(win, folder: Optional[Path] = None) -> core_project.ProjectState:
    doc = win.doc
    extra: dict = {"roi": win.roi}
    if doc is not None and doc.is_demo:
        extra["demo_size"] = doc.width
    if win.result is not None and win.result.classifier is not None:
        r = win.result.request
        extra["result"] = {"method": r.method, "thresholds": r.thresholds, "bands": r.bands}
    bands = win.bands_panel.classifier_bands()
    return core_project.ProjectState(
        name=(folder.name if folder else "Untitled project"),
        image=doc.path if doc is not None else None,
        display_bands=win.bands_panel.display_bands(),
        classifier_bands=None if doc is None or bands == doc.band_names else bands,
        classes=win.model.classes(),
        samples=win.model.to_geojson(),
        method=win.model_panel.method(),
        options=win.model_panel.options(),
        thresholds=win.model_panel.thresholds(),
        layers=win.layers_panel.state(),
        extra=extra,
    )


def _in_fetch_cache(path: str) -> bool:
    try:
        from ..core.online.fetch import default_cache_dir

        return Path(path).resolve().is_relative_to(default_cache_dir().resolve())
    except (ImportError, OSError):
        return False


def save_project(win, folder) -> bool:
    folder = Path(folder)
    try:
        state = state_from_window(win, folder)
        res = win.result
        raster = None if res is None else (res.class_array, res.request.doc.transform, res.request.doc.crs,
                                           res.classes)
        # Fetched imagery lives in a per-user cache; copy it in so the project opens anywhere, offline.
        # All files are written first and switched in together (docs/data-safety.md).
        core_project.save_project(folder, state, class_raster=raster,
                                  copy_image=bool(state.image and _in_fetch_cache(state.image)))
    except SatSegError as exc:
        win.notify(f"The project was not saved: {exc}", "error")
        return False
    except OSError as exc:
        win.notify(f"The project was not saved: {exc.strerror or exc}", "error")
        return False
    win.project_folder = folder
    win.model.mark_saved()
    win.dirty = False
    win.setWindowTitle(f"SatSeg — {folder.name}")
    win.notify(f"Project saved to {folder}", "info")
    return True


def open_project(win, folder) -> bool:
    folder = Path(folder)
    try:
        state = core_project.load_project(folder)
    except SatSegError as exc:
        win.notify(f"Cannot open the project: {exc}", "error")
        return False
    apply_state(win, state, folder)
    return True


def apply_state(win, state: core_project.ProjectState, folder: Optional[Path]) -> None:
    """Load the image of ``state`` (on a worker), then everything else."""
    for w in state.warnings:
        win.notify(w, "warning")

    def finish(doc: Optional[pipeline.ImageDoc]) -> None:
        if doc is not None:
            win.set_document(doc, load_samples=False)
            if state.display_bands:
                win.bands_panel.set_display_bands(state.display_bands)
            if state.classifier_bands:
                win.bands_panel.set_classifier_bands(state.classifier_bands, emit=False)
        fc = dict(state.samples)
        win.model.from_geojson(fc, classes=state.classes)
        win.model_panel.set_state({"method": state.method, "options": state.options,
                                   "thresholds": state.thresholds})
        win.layers_panel.apply_state(state.layers)
        win.set_roi(state.extra.get("roi"))
        win.project_folder = folder
        win.setWindowTitle(f"SatSeg — {state.name}")
        raster = state.results.get(CLASS_RASTER)
        if doc is not None and raster and Path(raster).is_file():
            restore_result(win, doc, raster, state)
        else:
            win.project_loaded.emit()
        win.model.mark_saved()
        win.dirty = False

    demo_size = state.extra.get("demo_size")
    if demo_size:
        win.open_demo(int(demo_size), then=finish)
    elif state.image:
        if not Path(state.image).exists():
            finish(None)  # samples and settings still load; the warning says where the image was
        else:
            win.open_path(state.image, then=finish)
    else:
        finish(None)


def restore_result(win, doc, raster_path: str, state) -> None:
    """Show a saved class raster: masks, areas and accuracy, without the classifier."""
    samples = win.model.to_sample_set()
    info = state.extra.get("result") or {}
    req = pipeline.RunRequest(doc, samples, info.get("bands") or doc.band_names, info.get("method") or state.method,
                              state.options, info.get("thresholds"))

    def done(res) -> None:
        win._show_result(res)
        win.layers_panel.apply_state(state.layers)
        win.project_loaded.emit()
        win.model.mark_saved()
        win.dirty = False

    win.runner.start("classify", lambda job: pipeline.restore(req, raster_path, job), label="Loading results",
                     on_done=done, on_error=lambda msg: (win.notify(f"Cannot show the saved result: {msg}", "warning"),
                                                         win.project_loaded.emit()))


def autosave_now(win) -> Optional[Path]:
    """Write the session's autosave (settings and samples; results are not autosaved)."""
    folder = win.project_folder or core_project.user_autosave_dir()
    try:
        return core_project.autosave(folder, state_from_window(win, win.project_folder), win.project_folder)
    except SatSegError as exc:
        win.status.showMessage(f"Autosave failed: {exc}", 10000)
        return None


def offer_recovery(win, folder: Optional[Path] = None, ask=None) -> bool:
    """After a crash: offer the newer autosave; ``ask(text) -> bool`` decides (a dialog by default)."""
    where = Path(folder) if folder else core_project.user_autosave_dir()
    try:
        rec = core_project.find_recovery(where)
    except SatSegError as exc:
        win.notify(f"An autosave was found but cannot be used: {exc}", "warning")
        return False
    if rec is None:
        return False
    text = (f"SatSeg found unsaved work from {rec.autosaved_at[:19].replace('T', ' ')} UTC "
            f"({len(rec.state.samples.get('features', []))} sample polygons). Restore it?")
    if ask is None:
        from PySide6.QtWidgets import QMessageBox

        ask = lambda t: QMessageBox.question(win, "Recover unsaved work", t) == QMessageBox.StandardButton.Yes  # noqa: E731
    if not ask(text):
        core_project.discard_recovery(where)
        return False
    apply_state(win, rec.state, rec.project_folder)
    win.dirty = True  # recovered work is not saved yet
    return True
