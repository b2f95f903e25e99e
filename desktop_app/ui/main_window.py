"""SatSeg main window: the map in the middle, dock panels around it, jobs in the status bar.

The window owns the state that ties the pieces together (the open image, the
last classification, the ROI) and routes events: map drawings into the
sample model, model changes back onto the map, panel settings into jobs that
run on worker threads, job results onto the map and into the tables.

Each of those jobs is a mixin module of its own, so this file is only the wiring:
window_layout (panels, menus, saved layout), image_loading (open and draw an image),
map_sync (drawings <-> samples, ROI), signatures (class spectra), classify_runs (run,
threshold re-decides), result_layers (masks, legend, tables), project_actions (save,
open, autosave), exports. Here: construction, signal wiring, messages, the document
observer, the job status and closing.
"""
from __future__ import annotations

import logging
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QMessageBox

from ..core import document as document_events
from ..core.document import Document
from ..core.errors import SatSegError
from . import pipeline
from .about_dialog import show_about
from .classify_runs import ClassifyRunsMixin
from .exports import ExportsMixin
from .image_loading import ImageLoadingMixin
from .map_sync import MapSyncMixin
from .map_view import MapView
from .project_actions import AUTOSAVE_MS, ProjectActionsMixin
from .result_layers import TABLES_DELAY_MS, ResultLayersMixin
from .sample_model import SampleModel
from .settings import user_settings
from .signatures import SIGNATURE_DELAY_MS, SignaturesMixin
from .status_bar import SatSegStatusBar
from .window_layout import WindowLayoutMixin
from .workers import TaskRunner

log = logging.getLogger(__name__)


class MainWindow(WindowLayoutMixin, ImageLoadingMixin, MapSyncMixin, SignaturesMixin, ClassifyRunsMixin,
                 ResultLayersMixin, ProjectActionsMixin, ExportsMixin, QMainWindow):
    image_loaded = Signal()                 # a new image is open (pixels ready)
    image_displayed = Signal()              # its picture was sent to the map
    classification_finished = Signal(str)   # "done" | "failed" | "cancelled" | "superseded"
    message_shown = Signal(str, str)        # level, text
    project_loaded = Signal()               # a project (and its saved result) is on screen

    def __init__(self, settings: Optional[QSettings] = None, quiet: bool = False) -> None:
        super().__init__()
        self.setWindowTitle("SatSeg")
        self.setObjectName("SatSegMainWindow")
        self.settings = settings if settings is not None else user_settings()
        # quiet: automation and tests; messages go to the status bar and the log, never a dialog.
        self.quiet = quiet
        self.messages: list[tuple[str, str]] = []
        self._dialogs: list[QMessageBox] = []
        # The session's state (image, result, ROI, samples, run settings, saved or not) lives in the
        # Qt-free document; the window shows it and reacts to its changes.
        self.document = Document()
        self.document.observe(self._on_document_changed)
        self._footprint = None
        self._image_shown_once = False
        self._rethreshold_pending = False
        self._closed = False
        self._legend_shown = None
        # After a threshold change the result tables are filled this much later (see _show_result_panels).
        self._tables_timer = QTimer(self)
        self._tables_timer.setSingleShot(True)
        self._tables_timer.setInterval(TABLES_DELAY_MS)
        self._tables_timer.timeout.connect(self._fill_result_tables)

        self.model = SampleModel(self)
        self.document.samples = self.model
        # Sample edits are unsaved work: the title follows. (The stack also says so while Qt destroys it.)
        self.model.undo_stack.cleanChanged.connect(lambda _clean: self._closed or self.document.samples_edited())
        self.runner = TaskRunner(self)
        pipeline.warm_imports_in_background()   # while the user picks a file (a big image opens faster)
        self.map = MapView(self)
        self.setCentralWidget(self.map)
        self._build_panels()
        self.status = SatSegStatusBar(self)
        self.setStatusBar(self.status)
        self._build_menus()
        from .model_tools import install_model_tools

        self.model_tools = install_model_tools(self)   # cross-validation, score histogram, saved models (menu)
        self._connect()
        self._signature_timer = QTimer(self)
        self._signature_timer.setSingleShot(True)
        self._signature_timer.setInterval(SIGNATURE_DELAY_MS)
        self._signature_timer.timeout.connect(self.update_signatures)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()
        self.restore_layout()
        try:
            self.map.load_map()
        except SatSegError as exc:
            # No map libraries (set-up not run): say so in the map area, keep the rest usable.
            why = str(exc)
            self.map.setHtml(f"<body style='font-family:sans-serif;padding:2em'><h3>The map cannot be shown</h3>"
                             f"<p>{why}</p></body>")
            QTimer.singleShot(0, lambda: self.notify(f"The map cannot be shown: {why}", "error"))
        self.status.showMessage("Open an image (File ▸ Open) or the demo scene to start.")

    def _connect(self) -> None:
        b = self.map.bridge
        b.draw_created.connect(self._on_draw_created)
        b.draw_edited.connect(self._on_draw_edited)
        b.draw_removed.connect(self._on_draw_removed)
        b.role_requested.connect(self._on_role_requested)
        b.cursor_moved.connect(self._on_cursor)
        b.js_error.connect(lambda text: self.notify(f"Map page error: {text}", "warning"))
        b.ready.connect(self._on_map_ready)

        m = self.model
        m.polygon_added.connect(self._send_polygon)
        m.polygon_changed.connect(self._send_polygon)
        m.polygon_removed.connect(lambda pid: self.map.bridge.send("remove_polygon", id=pid))
        m.classes_changed.connect(self._on_classes_changed)
        m.current_class_changed.connect(lambda _cid: self._send_draw_style())
        m.changed.connect(self._on_samples_changed)
        m.message.connect(lambda text: self.notify(text, "info"))

        ip = self.imagery_panel
        ip.open_path_requested.connect(self.open_path)
        ip.demo_requested.connect(lambda: self.open_demo())
        ip.draw_roi_requested.connect(lambda shape: self.start_draw(shape, "roi"))
        ip.clear_roi_requested.connect(lambda: self.set_roi(None))
        ip.basemap_toggled.connect(self._on_basemap)
        ip.fetch_requested.connect(self.fetch_for_roi)

        self.bands_panel.display_bands_changed.connect(lambda _b: self.render_image())
        self.bands_panel.classifier_bands_changed.connect(self._on_classifier_bands)
        self.classes_panel.outside_image = self.polygons_outside_image
        # the status bar names the class and role new polygons get when the user picks them, not when
        # the app loads a class list (then nobody is drawing)
        self.classes_panel.drawing_role_changed.connect(lambda _r: self._send_draw_style(announce=True))
        self.classes_panel.class_chosen.connect(lambda _c: self._send_draw_style(announce=True))

        self.model_panel.run_requested.connect(self.run_classification)
        from .ee_classify_box import install as install_ee_choice

        self.ee_choice = install_ee_choice(self)
        self.model_panel.thresholds_changed.connect(self.rethreshold)

        self.layers_panel.visibility_changed.connect(
            lambda lid, on: self.map.bridge.send("set_layer_visible", id=lid, visible=on))
        self.layers_panel.opacity_changed.connect(
            lambda lid, op: self.map.bridge.send("set_layer_opacity", id=lid, opacity=op))
        self.results_panel.export_requested.connect(self.export_dialog)

        r = self.runner
        r.task_progress.connect(lambda t: self.status.set_job(t.label, t.fraction, t.message))
        r.task_started.connect(lambda t: self.status.set_job(t.label, 0.0, "starting"))
        r.task_finished.connect(self._on_task_finished)
        r.busy_changed.connect(self._on_busy)
        self.status.cancel_requested.connect(self.cancel_jobs)

    # ================================================================ messages
    def notify(self, text: str, level: str = "info") -> None:
        """Tell the user something: status bar always; a non-blocking dialog for problems."""
        self.messages.append((level, text))
        self.message_shown.emit(level, text)
        getattr(log, "warning" if level in ("warning", "error") else "info")(text)
        self.status.showMessage(text, 15000)
        if level in ("warning", "error") and not self.quiet:
            box = QMessageBox(QMessageBox.Icon.Warning if level == "warning" else QMessageBox.Icon.Critical,
                              "SatSeg", text, QMessageBox.StandardButton.Ok, self)
            box.setTextFormat(Qt.TextFormat.PlainText)   # messages quote class and file names: text, not HTML
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.finished.connect(lambda _r, bx=box: self._dialogs.remove(bx) if bx in self._dialogs else None)
            self._dialogs.append(box)
            box.open()  # window-modal but never blocks the event loop (jobs keep reporting)

    def _about(self) -> None:
        show_about(self)

    # ================================================================ jobs
    def _on_task_finished(self, task, outcome: str) -> None:
        current = self.runner.current()
        if current is not None:   # another job is still running: show that one, not a finished bar
            self.status.set_job(current.label, current.fraction, current.message)
        if task.kind in ("classify", "predict"):
            if not self.runner.busy("classify"):
                self.model_panel.set_running(False)
            if outcome == "cancelled":
                kept = " The previous result is kept." if self.result is not None else ""
                self.status.showMessage(f"{task.label}: cancelled.{kept}", 8000)
            self.classification_finished.emit(outcome)
            if task.kind == "classify" and self._rethreshold_pending and outcome != "superseded":
                self._rethreshold_pending = False
                if self.result is not None and self.model_panel.thresholds() != self.result.request.thresholds:
                    self.rethreshold()
        elif task.kind == "open" and outcome == "cancelled":
            self.status.showMessage("Opening cancelled.", 5000)
        elif task.kind == "export" and outcome == "cancelled":
            self.status.showMessage(f"{task.label}: cancelled; nothing was written.", 8000)

    def _on_busy(self, busy: bool) -> None:
        self.act_cancel.setEnabled(busy)
        if not busy:
            self.status.set_idle()

    def cancel_jobs(self) -> None:
        if self.runner.busy():
            self.runner.cancel()
            self.status.showMessage("Cancelling…", 3000)

    # ================================================================ document
    # The names the panels, project_io and tests use; the state itself is in self.document.
    doc = property(lambda self: self.document.image)
    result = property(lambda self: self.document.result)
    roi = property(lambda self: self.document.roi)
    project_folder = property(lambda self: self.document.project_folder,
                              lambda self, folder: self.document.set_project_folder(folder))
    dirty = property(lambda self: self.document.is_dirty(),
                     lambda self, value: self.document.mark_dirty() if value else self.document.mark_saved())

    def _on_document_changed(self, what: str) -> None:
        """The one place the window follows its document: title, result panels, ROI, settings."""
        self.setWindowTitle(self.document.caption())   # names the project or image; '*' = unsaved work
        if what in (document_events.IMAGE, document_events.RESULT):
            self._show_result_panels()
        elif what == document_events.ROI:
            self._show_roi()
        elif what == document_events.SETTINGS:
            s = self.document.settings
            if self.doc is not None:
                if s.display_bands:
                    self.bands_panel.set_display_bands(s.display_bands)
                if s.classifier_bands:
                    self.bands_panel.set_classifier_bands(s.classifier_bands, emit=False)
            self.model_panel.set_state({"method": s.method, "options": s.options, "thresholds": s.thresholds})
            self.layers_panel.apply_state(s.layers)

    # ================================================================ close
    def closeEvent(self, event) -> None:
        if self.runner.busy() and not self.quiet:
            ans = QMessageBox.question(self, "SatSeg", "A job is still running. Cancel it and close?",
                                       QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if ans != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        keep_autosave = False
        if self.is_dirty() and not self.model.is_empty():
            if self.quiet:
                keep_autosave = True  # automation never discards work silently: leave the autosave
                self.autosave()
            else:
                ans = QMessageBox.question(
                    self, "SatSeg", "Save the changes to this project before closing?" if self.project_folder
                    else "Save this session as a project before closing?",
                    QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                    | QMessageBox.StandardButton.Cancel)
                if ans == QMessageBox.StandardButton.Cancel or (
                        ans == QMessageBox.StandardButton.Save and not self.save_project_action()):
                    event.ignore()
                    return
        if not keep_autosave:
            self.document.discard_autosaves()   # a clean exit leaves no recovery offer behind
        self._closed = True
        self._signature_timer.stop()
        self._autosave_timer.stop()
        self.runner.cancel()
        self.runner.wait(15000)
        self.runner.shutdown()
        self.save_layout()
        if self.doc is not None:
            self.doc.close()
        self.map.shutdown()
        event.accept()
