"""The window's document (``core.document``) <-> project folders: save, open, autosave, recovery.

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


def _in_fetch_cache(path: str) -> bool:
    try:
        from ..core.online.fetch import default_cache_dir

        return Path(path).resolve().is_relative_to(default_cache_dir().resolve())
    except (ImportError, OSError):
        return False


def save_project(win, folder) -> bool:
    folder = Path(folder)
    win.sync_settings()
    image = getattr(win.doc, "path", None)
    try:
        # Fetched imagery lives in a per-user cache; copy it in so the project opens anywhere, offline.
        # All files are written first and switched in together (docs/data-safety.md).
        win.document.save(folder, copy_image=bool(image and _in_fetch_cache(image)))
    except SatSegError as exc:
        win.notify(f"The project was not saved: {exc}", "error")
        return False
    except OSError as exc:
        win.notify(f"The project was not saved: {exc.strerror or exc}", "error")
        return False
    win.notify(f"Project saved to {folder}", "info")
    return True


def open_project(win, folder, ask=None) -> bool:
    """Open a project folder; if it holds work newer than its last save (a crash), offer that first.

    ``ask(text) -> bool`` answers the offer (a dialog by default; unattended windows are not asked).
    """
    folder = Path(folder)
    if (ask is not None or not win.quiet) and offer_recovery(win, folder, ask):
        return True
    try:
        state = core_project.load_project(folder)
    except SatSegError as exc:
        win.notify(f"Cannot open the project: {exc}", "error")
        return False
    apply_state(win, state, folder)
    return True


def apply_state(win, state: core_project.ProjectState, folder: Optional[Path],
                recovered: Optional[core_project.Recovery] = None) -> None:
    """Load the image of ``state`` (on a worker), then everything else.

    ``recovered``: the state comes from that autosave, so it stays unsaved work
    until the user saves it (docs/data-safety.md §4).
    """
    missing_image = bool(state.image and not state.extra.get("demo_size") and not Path(state.image).exists())
    located = win.locate_missing_image(state.image) if missing_image else None
    for w in state.warnings:
        if not (located and state.image in w):
            win.notify(w, "warning")

    def loaded() -> None:
        if recovered is not None:
            win.document.recovered(recovered)
        else:
            win.document.mark_saved()
        if located:
            win._mark_dirty()   # the project on disk still names the old place until it is saved
            win.notify(f"The image is now read from {located}; save the project to keep this.", "info")
        win.project_loaded.emit()

    def finish(doc: Optional[pipeline.ImageDoc]) -> None:
        if doc is not None:
            win.set_document(doc, load_samples=False)
            if state.extra.get("indices"):   # index bands first: the classifier bands may name them
                win.analysis_tools.indices.set_indices(state.extra["indices"])
                win.analysis_tools.apply_indices(win.analysis_tools.indices.indices())
        win.model.from_geojson(dict(state.samples), classes=state.classes)
        win.document.apply_project_state(state, folder)   # settings reach the panels through the document
        if state.basemap and Path(state.basemap).is_file():   # a missing one is in state.warnings
            from .basemap import add_offline_basemap

            add_offline_basemap(win, state.basemap, remember=False)
        win.set_roi(state.extra.get("roi"))
        raster = state.results.get(CLASS_RASTER)
        if doc is not None and raster and Path(raster).is_file():
            restore_result(win, doc, raster, state, loaded)
        else:
            loaded()

    demo_size = state.extra.get("demo_size")
    if demo_size:
        win.open_demo(int(demo_size), then=finish)
    elif state.image:
        # The baseline the user stated for a band folder without metadata: not asked again.
        baseline = state.extra.get("baseline") or None
        if located:
            win.open_path(located, then=finish, baseline=baseline)
        elif missing_image:
            finish(None)  # samples and settings still load; the warning says where the image was
        else:
            win.open_path(state.image, then=finish, baseline=baseline)
    else:
        finish(None)


def restore_result(win, doc, raster_path: str, state, loaded) -> None:
    """Show a saved class raster: masks, areas and accuracy, without the classifier; then ``loaded()``."""
    samples = win.model.to_sample_set()
    info = state.extra.get("result") or {}
    req = pipeline.RunRequest(doc, samples, info.get("bands") or doc.band_names, info.get("method") or state.method,
                              state.options, info.get("thresholds"))

    def done(res) -> None:
        win._show_result(res)
        win.layers_panel.apply_state(state.layers)
        loaded()

    def failed(msg: str) -> None:
        win.notify(f"Cannot show the saved result: {msg}", "warning")
        loaded()

    win.runner.start("classify", lambda job: pipeline.restore(req, raster_path, job), label="Loading results",
                     on_done=done, on_error=failed)


def autosave_now(win) -> Optional[Path]:
    """Write the session's autosave (settings and samples; results are not autosaved)."""
    win.sync_settings()
    try:
        return win.document.autosave()
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
    if ask is None:
        from PySide6.QtWidgets import QMessageBox

        ask = lambda t: QMessageBox.question(win, "Recover unsaved work", t) == QMessageBox.StandardButton.Yes  # noqa: E731
    if not ask(rec.describe()):
        core_project.discard_recovery(where)
        return False
    win.document.autosave_dirs.add(rec.path.parent)   # saving or a clean exit removes it
    apply_state(win, rec.state, rec.project_folder, recovered=rec)
    return True
