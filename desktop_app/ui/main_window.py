"""SatSeg main window: the map in the middle, dock panels around it, jobs in the status bar.

The window owns the state that ties the pieces together (the open image, the
last classification, the ROI) and routes events: map drawings into the
sample model, model changes back onto the map, panel settings into jobs that
run on worker threads, job results onto the map and into the tables.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QMainWindow, QMessageBox, QScrollArea, QTabWidget,
                               QWidget)

from ..core.display import UNCLASSIFIED_COLOR
from ..core import document as document_events
from ..core.document import Document
from ..core.errors import SatSegError
from . import basemap, pipeline
from .about_dialog import show_about
from .bands_panel import BandsPanel
from .classes_panel import ClassesPanel
from .exports import ExportsMixin
from .imagery_panel import ImageryPanel
from .layers_panel import IMAGE, LayersPanel, mask_layer_id
from .map_sync import MapSyncMixin
from .map_view import MapView
from .model_panel import ModelPanel
from .sample_model import SampleModel
from .settings import user_settings
from .status_bar import SatSegStatusBar
from .workers import TaskRunner

log = logging.getLogger(__name__)
SIGNATURE_DELAY_MS = 400
AUTOSAVE_MS = 60_000
# A threshold change shows the new masks first; the area and accuracy tables follow this much later
# (the page fetches the masks through the UI thread, docs/performance.md).
TABLES_DELAY_MS = 120
LAYOUT_VERSION = 3   # bump when docks change, so an old saved layout is not forced onto new docks
PANEL_WIDTH = 450    # side panels: legible tables; the map keeps about two thirds of a 1366 px screen
MAX_PANEL_WIDTH = 560
SPECTRA_HEIGHT = 220
DEFAULT_SIZE = (1400, 900)


def open_error_text(path: str, message: str) -> str:
    """'Cannot open X: why', naming X once (core messages often name the file already)."""
    name = Path(path).name
    if str(path) in message or (name and name in message):
        return f"Cannot open the image: {message}"
    return f"Cannot open {path}: {message}"


def default_window_size(screen) -> tuple[int, int]:
    """DEFAULT_SIZE, shrunk to the screen's free area (a 1366 × 768 laptop gets the whole screen)."""
    if screen is None:
        return DEFAULT_SIZE
    free = screen.availableGeometry()
    return min(DEFAULT_SIZE[0], free.width()), min(DEFAULT_SIZE[1], free.height())


class MainWindow(MapSyncMixin, ExportsMixin, QMainWindow):
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

    # ================================================================ building
    def add_panel(self, name: str, title: str, widget: QWidget, tip: str = "") -> QDockWidget:
        """Add a panel as one more tab of the side panel group (the way new features add theirs).

        Every panel sits in a scroll area, so a short window scrolls it instead of
        squeezing its controls; the user can still drag a tab out to dock or float it.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState needs stable names
        scroll = QScrollArea(dock)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(widget)
        # No sideways scrolling, so the panel is never narrower than its content.
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(min(widget.minimumSizeHint().width() + bar + 4, MAX_PANEL_WIDTH))
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        if tip:
            dock.setToolTip(tip)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        if self._panel_group:
            self.tabifyDockWidget(self._panel_group[-1], dock)
        self._panel_group.append(dock)
        self.docks[name] = dock
        return dock

    def show_panel(self, name: str) -> None:
        """Bring a side panel to the front (and back on screen if the user closed it)."""
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    def _build_panels(self) -> None:
        # The map gets the room: one group of tabbed panels on the right (about a third of a
        # 1366 px screen), the spectral plot a toggle below the map, hidden until asked for.
        # The tabs run down the window's right edge: eight and more names stay legible there,
        # where a row of tabs above a 450 px panel elides them to "Ima…", "Ba…".
        self.docks: dict[str, QDockWidget] = {}
        self._panel_group: list[QDockWidget] = []
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.East)
        # The side panels keep the full height; the spectral plot goes under the map only.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.imagery_panel = ImageryPanel()
        self.bands_panel = BandsPanel()
        self.classes_panel = ClassesPanel(self.model)
        self.model_panel = ModelPanel()
        self.layers_panel = LayersPanel()
        from .results_panel import ResultsPanel
        from .spectral_plot import SpectralPlot

        self.results_panel = ResultsPanel()
        self.add_panel("dock_imagery", "Image", self.imagery_panel, "Open imagery, region of interest, basemap")
        self.add_panel("dock_bands", "Bands", self.bands_panel, "Display bands and classifier bands")
        self.add_panel("dock_classes", "Samples", self.classes_panel, "Classes and their sample polygons")
        self.add_panel("dock_model", "Model", self.model_panel, "Classifier, options, thresholds, Run")
        self.add_panel("dock_results", "Results", self.results_panel, "Class areas, accuracy, export")
        self.add_panel("dock_layers", "Layers", self.layers_panel, "Visibility and opacity of map layers")
        self.docks["dock_imagery"].raise_()
        self.spectral_plot = SpectralPlot()
        spectra = QDockWidget("Spectral signatures", self)
        spectra.setObjectName("dock_spectra")
        spectra.setWidget(self.spectral_plot)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, spectra)
        self.docks["dock_spectra"] = spectra
        spectra.hide()
        self._pending_signatures = None
        spectra.visibilityChanged.connect(self._draw_signatures)
        self.resizeDocks([self.docks["dock_imagery"]], [PANEL_WIDTH], Qt.Orientation.Horizontal)
        self.resizeDocks([spectra], [SPECTRA_HEIGHT], Qt.Orientation.Vertical)
        act = spectra.toggleViewAction()
        act.setText("&Spectral signatures")
        act.setShortcut(QKeySequence("F9"))
        act.setToolTip("Show or hide the plot of class spectra (mean ± std per band) below the map (F9)")
        self.classes_panel.add_spectra_toggle(act)
        from .analysis_tools import install_analysis_tools

        self.analysis_tools = install_analysis_tools(self)   # docs/analysis.md: grow, clean, points, change
        from .sam_tools import install_sam_tools

        self.sam_tools = install_sam_tools(self)             # docs/sam.md: refine, fine-tune, segment

    def _action(self, menu, text: str, slot, shortcut: Optional[str] = None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "Open &image…", self.imagery_panel._pick_file, "Ctrl+O", "Open a GeoTIFF / COG")
        self._action(f, "Open &Sentinel-2 folder…", self.imagery_panel._pick_folder, "Ctrl+Shift+O")
        self._action(f, "Open &demo scene", lambda: self.open_demo(), "Ctrl+D")
        self._action(f, "Earth Engine &account…", self.open_ee_account,
                     tip="Sign in to Google Earth Engine, set the Cloud project, test the connection")
        f.addSeparator()
        self.act_open_project = self._action(f, "Open &project…", self.open_project_dialog, "Ctrl+Shift+P")
        self.act_save_project = self._action(f, "&Save project", self.save_project_action, "Ctrl+S")
        self.act_save_as = self._action(f, "Save project &as…", self.save_project_as_dialog, "Ctrl+Shift+S")
        f.addSeparator()
        self._action(f, "&Import samples…", self.classes_panel.import_dialog, "Ctrl+I")
        self._action(f, "&Export samples…", self.classes_panel.export_dialog, "Ctrl+E")
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q")

        e = bar.addMenu("&Edit")
        e.addAction(self.classes_panel.undo_action)
        e.addAction(self.classes_panel.redo_action)
        e.addSeparator()
        self._action(e, "Draw sample &polygon", lambda: self.start_draw("Polygon", "sample"), "Ctrl+P")
        self._action(e, "Draw sample &rectangle", lambda: self.start_draw("Rectangle", "sample"), "Ctrl+R")
        self._action(e, "Draw ROI rectangle", lambda: self.start_draw("Rectangle", "roi"), "Ctrl+Shift+R")
        self._action(e, "Stop drawing", lambda: self.map.bridge.send("stop_draw"))

        c = bar.addMenu("&Classify")
        self.act_run = self._action(c, "&Run classification", self.run_classification, "F5",
                                    "Train the classifier on the training polygons and classify the image")
        self.act_cancel = self._action(c, "&Cancel running job", self.cancel_jobs, "Esc")
        self.act_cancel.setEnabled(False)

        v = bar.addMenu("&View")
        self._action(v, "&Zoom to image", self.zoom_to_image, "Ctrl+0")
        self.act_basemap = self._action(v, "Online &basemap (OpenStreetMap)",
                                        lambda on: self.imagery_panel.basemap.setChecked(on), "Ctrl+B")
        self.act_basemap.setCheckable(True)
        self._action(v, "&Offline basemap file…", lambda: basemap.choose_offline_basemap(self),
                     tip="Show an MBTiles or GeoPackage tile file (roads, villages) under the imagery; no network")
        v.addSeparator()
        v.addAction(self.docks["dock_spectra"].toggleViewAction())
        panels = v.addMenu("&Panels")
        for dock in self._panel_group:
            act = panels.addAction(dock.windowTitle())
            act.triggered.connect(lambda _=False, n=dock.objectName(): self.show_panel(n))
        self._action(v, "&Reset layout", self.reset_layout, tip="Put every panel back in its place")

        h = bar.addMenu("&Help")
        self._action(h, "&About SatSeg", self._about)

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

    # ================================================================ imagery
    def open_path(self, path: str, then=None, baseline: Optional[str] = None) -> None:
        """Open an image on a worker; ``then(doc)`` replaces the default (show it) when given.

        ``baseline``: the Sentinel-2 processing baseline the user stated for a band folder.
        """
        self.runner.start("open", lambda job: pipeline.open_image_doc(path, job, baseline),
                          label=f"Opening {Path(path).name}",
                          on_done=then or self.set_document,
                          on_error=lambda msg: self.notify(open_error_text(path, msg), "error"))

    def open_demo(self, size: int = 1000, then=None) -> None:
        self.runner.start("open", lambda job: pipeline.open_demo_doc(job, size), label="Creating demo scene",
                          on_done=then or self.set_document,
                          on_error=lambda msg: self.notify(f"Cannot create the demo scene: {msg}", "error"))

    def set_document(self, doc: pipeline.ImageDoc, load_samples: bool = True) -> None:
        """Make ``doc`` the open image: bands, map picture, and its own samples (demo)."""
        self.runner.cancel("classify")
        self.runner.cancel("predict")
        if self.doc is not None and self.doc is not doc:
            self.doc.close()
        self.document.set_image(doc)   # drops the old result; a project's new image is unsaved work
        self._footprint = None
        self._image_shown_once = False
        self.clear_result()
        self.bands_panel.set_band_names(doc.band_names)
        self.model_panel.set_band_count(len(self.bands_panel.classifier_bands()))
        self.imagery_panel.set_image_info(doc.describe())
        if load_samples and doc.samples is not None:
            self.model.from_geojson(doc.samples)
        self.status.showMessage(f"Opened {doc.title}. Draw sample polygons for each class, then Run (F5).", 15000)
        self.image_loaded.emit()
        self.render_image()
        self._schedule_signatures()
        if doc.baseline_unknown:
            self.ask_baseline(doc.title, lambda answer, d=doc: self._baseline_answered(d, answer))
        if doc.is_demo and getattr(self, "offline_basemap", None) is None:
            basemap.show_demo_basemap(self)   # the demo shows the offline basemap out of the box

    # A band folder that does not say its processing baseline may read 0.1 too bright
    # (docs/sentinel2.md): ask; ``reply`` gets "04.00", "03.00" or None (not answered).
    def ask_baseline(self, title: str, reply) -> None:
        if self.quiet:
            reply(None)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "SatSeg — processing baseline",
                          f"The folder “{title}” has no metadata saying its Sentinel-2 processing baseline.\n\n"
                          "Products of baseline 04.00 and later (from 25 January 2022) store every "
                          "band 1000 DN higher; read without correction, all reflectances are 0.1 "
                          "too high.", QMessageBox.StandardButton.NoButton, self)
        box.setTextFormat(Qt.TextFormat.PlainText)   # the title is a folder name: text, not HTML
        new = box.addButton("04.00 or later (remove the offset)", QMessageBox.ButtonRole.AcceptRole)
        old = box.addButton("Before 04.00 (no offset)", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("I don't know", QMessageBox.ButtonRole.RejectRole)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: reply("04.00" if box.clickedButton() is new
                                              else "03.00" if box.clickedButton() is old else None))
        box.open()

    def _baseline_answered(self, doc, answer: Optional[str]) -> None:
        if doc is not self.doc:
            return
        if answer is None:
            self.notify(doc.warnings[0] if doc.warnings else "unknown processing baseline", "warning")
        elif answer == "04.00":
            self.open_path(doc.path, baseline=answer)   # read again without the offset
        else:
            try:
                pipeline.state_baseline(doc, answer)   # what is open is already right
            except SatSegError as exc:
                self.notify(str(exc), "error")
                return
            self._mark_dirty()   # the answer is saved with the project

    def render_image(self) -> None:
        if self.doc is None:
            return
        doc, bands = self.doc, self.bands_panel.display_bands()
        if pipeline.uses_tiles(doc):
            # Big images: full-resolution tiles drawn on demand (docs/performance.md, "Map tiles").
            self.runner.start("display", lambda job: pipeline.tiled_image(doc, bands, job), label="Drawing image",
                              on_done=lambda t, d=doc: self._show_tiles(d, t),
                              on_error=lambda msg: self.notify(f"Cannot draw the image: {msg}", "error"))
            return
        self.runner.start("display", lambda job: pipeline.render_image(doc, bands, job), label="Drawing image",
                          on_done=self._show_image,
                          on_error=lambda msg: self.notify(f"Cannot draw the image: {msg}", "error"))

    def _write_overlay(self, name: str, png: bytes) -> str:
        # Served to the page from memory (web_scheme.py): nothing is written to disk.
        return self.map.publish_overlay(name, png)

    def _show_tiles(self, doc, tiled) -> None:
        if self._closed or doc is not self.doc:
            return
        self._image_tiles = tiled.renderer   # the old renderer goes once its last tile is drawn
        url = self.map.publish_tiles("image", tiled.renderer)
        self._last_image_bounds = tiled.bounds
        self.map.bridge.send("set_image", url=url, bounds=tiled.bounds, tiles=True,
                             max_native_zoom=tiled.max_native_zoom, opacity=self.layers_panel.opacity(IMAGE),
                             visible=self.layers_panel.visible(IMAGE), fit=not self._image_shown_once)
        self._image_shown_once = True
        self.image_displayed.emit()
        if tiled.needs_overviews and not self.runner.busy("overviews"):
            # Zoomed-out tiles of a file without overviews would read everything: build
            # reduced levels into the user cache in the background, then redraw.
            self.runner.start("overviews", lambda job: pipeline.build_overviews(doc, job),
                              label="Building map overviews",
                              on_done=lambda _levels, d=doc: self.render_image() if d is self.doc else None,
                              on_error=lambda msg: self.notify(f"Map overviews: {msg}", "warning"))

    def _show_image(self, overlay) -> None:
        if self._closed:
            return
        if getattr(self, "_image_tiles", None) is not None:   # the previous image was tiled
            self._image_tiles = None
            self.map.scheme_handler.drop_tiles("image")
        url = self._write_overlay("image", overlay.png)
        bounds = [list(overlay.bounds[0]), list(overlay.bounds[1])]
        self._last_image_bounds = bounds
        self.map.bridge.send("set_image", url=url, bounds=bounds, opacity=self.layers_panel.opacity(IMAGE),
                             visible=self.layers_panel.visible(IMAGE), fit=not self._image_shown_once)
        self._image_shown_once = True
        self.image_displayed.emit()

    def fetch_for_roi(self) -> None:
        if not self.roi:
            self.notify("Draw a region of interest first (Image panel ▸ Region of interest).", "warning")
            return
        from .fetch_dialog import run_fetch_dialog  # present only with the online-imagery module

        run_fetch_dialog(self, self.roi)

    def locate_missing_image(self, missing: str) -> Optional[str]:
        """A project's image is not where it was saved: offer to find it (None: go on without it)."""
        if self.quiet:
            return None
        box = QMessageBox(QMessageBox.Icon.Warning, "SatSeg",
                          f"The project's image was not found at {missing}. Has it moved?", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        locate = box.addButton("Locate…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Continue without the image", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is not locate:
            return None
        start = str(Path(missing).parent) if Path(missing).parent.exists() else ""
        if Path(missing).suffix:
            from .imagery_panel import IMAGE_FILTER

            path, _ = QFileDialog.getOpenFileName(self, f"Locate {Path(missing).name}", start, IMAGE_FILTER)
        else:   # a Sentinel-2 band folder
            path = QFileDialog.getExistingDirectory(self, f"Locate {Path(missing).name}", start)
        return path or None

    def open_ee_account(self) -> None:
        from .ee_account import open_ee_account

        open_ee_account(self)

    # ================================================================ samples
    def _on_classes_changed(self) -> None:
        classes = self.model.classes()
        self.model_panel.set_classes(classes)
        self._send_draw_style()
        self._send_legend()
        if self.result is not None:
            self._recolor_masks()

    def _on_samples_changed(self) -> None:
        # Sample edits are tracked by the model's undo stack (see is_dirty); loads are not edits.
        self._schedule_signatures()

    def _schedule_signatures(self) -> None:
        self._signature_timer.start()

    def update_signatures(self) -> None:
        """Class mean ± std per band and training pixel counts, off the UI thread."""
        if self.doc is None or len([c for c in self.model.classes()
                                    if self.model.polygon_count(c.id, "training")]) < 1:
            return
        doc, samples = self.doc, self.model.to_sample_set()
        mode = self.model_panel.options().get("signatures", "per-class")   # every signature when several
        index_names = [i.name for i in getattr(doc, "indices", [])]        # drawn on their own axis

        def done(res) -> None:
            sigs, counts = res
            self.model.set_pixel_counts(counts)
            self._pending_signatures = (sigs, index_names)
            self._draw_signatures()

        self.runner.start("signatures", lambda job: pipeline.signatures(doc, samples, None, job, mode),
                          label="Reading sample spectra", on_done=done,
                          on_error=lambda msg: self.status.showMessage(f"Spectra: {msg}", 8000))

    def _draw_signatures(self, *_args) -> None:
        # Redrawing the plot costs up to a few hundred ms of UI time: only while it is shown.
        if self._pending_signatures is not None and self.docks["dock_spectra"].isVisible():
            (sigs, index_names), self._pending_signatures = self._pending_signatures, None
            self.spectral_plot.set_signatures(sigs, index_names)

    def _on_classifier_bands(self, bands: list) -> None:
        self.model_panel.set_band_count(len(bands))   # threshold starting values depend on it
        if self.result is not None:
            self.model_panel.hint.setText("Classifier bands changed: press Run to train again.")

    # ================================================================ classify
    def _run_problem(self) -> Optional[str]:
        if self.doc is None:
            return "Open an image first (File ▸ Open image or the demo scene)."
        trained = [c for c in self.model.classes() if self.model.polygon_count(c.id, "training")]
        if len(trained) < 2:
            have = f" (only '{trained[0].name}' has polygons)" if trained else ""
            return ("Classification needs training polygons for at least two classes" + have +
                    ". Add a class and draw its polygons.")
        if not self.bands_panel.classifier_bands():
            return "Check at least one band for the classifier in the Bands panel."
        return None

    def _request(self) -> pipeline.RunRequest:
        return pipeline.RunRequest(self.doc, self.model.to_sample_set(), self.bands_panel.classifier_bands(),
                                   self.model_panel.method(), self.model_panel.options(),
                                   self.model_panel.thresholds())

    def run_classification(self) -> None:
        if self.ee_choice.isChecked():
            from .ee_classify_box import run_on_earth_engine

            run_on_earth_engine(self)
            return
        problem = self._run_problem()
        if problem:
            self.notify(problem, "warning")
            self.classification_finished.emit("failed")
            return
        req = self._request()
        self._rethreshold_pending = False
        self.runner.cancel("predict")
        self.model_panel.set_running(True)
        self.runner.start("classify", lambda job: pipeline.run(req, job), label="Classifying",
                          on_done=self._show_result, on_error=self._run_failed)

    def rethreshold(self) -> None:
        """Thresholds changed: predict again with the fitted classifier (no refit)."""
        res = self.result
        if res is None or res.request.method != self.model_panel.method():
            return
        if res.classifier is None:
            # A result reopened from a project has no fitted classifier: train once on the
            # samples, so a threshold change re-decides the map as it does before a save.
            if self.model_panel.thresholds() != res.request.thresholds and not self.runner.busy("classify"):
                self.run_classification()
            return
        if self.runner.busy("classify"):
            self._rethreshold_pending = True  # the running fit picks them up when it ends
            return
        req = replace(res.request, thresholds=self.model_panel.thresholds())
        fitted, cache, shown = (res.training, res.classifier), res.score_cache, res.overlays
        self.runner.start("predict", lambda job: pipeline.run(req, job, fitted=fitted, cache=cache, previous=shown),
                          label="Applying thresholds",
                          on_done=self._show_result, on_error=self._run_failed)

    def _run_failed(self, msg: str) -> None:
        self.notify(f"Classification failed: {msg}", "error")

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

    def clear_result(self) -> None:
        self.document.set_result(None)   # the panels follow through the document (_on_document_changed)
        self.map.bridge.send("clear_masks")
        self.map.scheme_handler.drop_tiles(prefix="mask-")   # a big image's mask tiles (and its class array)

    def _show_result(self, res: pipeline.RunResult) -> None:
        if self._closed or self.doc is None or res.request.doc is not self.doc:
            return  # the image changed (or the window closed) while this ran
        before = self.result
        shown = None if res.refit or before is None else before.overlays
        if shown is not None and not pipeline.uses_tiles(res.request.doc):
            # A threshold change: the map first (only the masks that changed), then the
            # panels and tables; a layer row the result adds (Unclassified) gets its mask after.
            had = set(self.layers_panel.rows)
            self._send_masks(res.overlays, shown)
            self.document.set_result(res)
            self._send_masks({c: o for c, o in res.overlays.items() if mask_layer_id(c) not in had})
        else:
            self.document.set_result(res)    # unsaved work; the panels follow through the document
            self._send_masks(res.overlays)   # after the observer made the layer rows the masks are drawn into
        if res.refit:
            self.model.set_pixel_counts(res.pixels_per_class)
            suggest = getattr(res.classifier, "default_threshold", None)
            if suggest is not None:
                values = {c.name: suggest(c.id) for c in res.classes}
                self.model_panel.set_suggested_thresholds({k: v for k, v in values.items() if v is not None})
        for w in res.warnings:
            self.notify(w, "info")
        unclassified = res.areas.unclassified.pixels
        if res.classifier is not None:
            # A saved model applied is not refitted either, but for the user it is a classification.
            rethresholded = not res.refit and before is not None and before.classifier is res.classifier
            self.status.showMessage(
                f"{'Thresholds applied' if rethresholded else 'Classified'} in {res.seconds:.1f} s "
                f"({res.classifier.label}); unclassified pixels: {unclassified:,}", 15000)

    def legend_items(self) -> list[dict]:
        """The map legend: every class colour, and 'Unclassified' when the result has such pixels."""
        items = [{"name": c.name, "color": c.color} for c in self.model.classes()]
        if self.result is not None and self.result.areas.unclassified.pixels > 0:
            items.append({"name": "Unclassified", "color": UNCLASSIFIED_COLOR})
        return items

    def _send_legend(self) -> None:
        self._legend_shown = self.legend_items()
        self.map.bridge.send("set_legend", items=self._legend_shown)

    def _send_masks(self, overlays: dict, shown: Optional[dict] = None) -> None:
        res = self.result
        if res is not None and pipeline.uses_tiles(res.request.doc):
            self._send_mask_tiles(res)
            return
        for cid, ov in overlays.items():
            lid = mask_layer_id(cid)
            if lid not in self.layers_panel.rows:
                continue   # e.g. 'Unclassified' when no pixel is: no layer, nothing to draw
            if shown is not None and getattr(shown.get(cid), "png", None) is ov.png:
                continue   # a threshold change left this class's mask as it was: the map keeps it
            url = self._write_overlay(lid, ov.png)
            self.map.bridge.send("set_mask", id=lid, url=url, bounds=[list(ov.bounds[0]), list(ov.bounds[1])],
                                 opacity=self.layers_panel.opacity(lid), visible=self.layers_panel.visible(lid))

    def _send_mask_tiles(self, res) -> None:
        """Big images: each class mask as full-resolution tiles drawn on demand (docs/performance.md)."""
        from ..core.scale.tiles import ClassTiles, native_zoom

        doc = res.request.doc
        tiles = ClassTiles(res.class_array, doc.transform, doc.crs)
        zoom = native_zoom(doc.transform, doc.crs, doc.width, doc.height)
        items = [(c.id, c.color) for c in res.classes] + [(0, UNCLASSIFIED_COLOR)]
        for cid, color in items:
            lid = mask_layer_id(cid)
            if lid not in self.layers_panel.rows:
                continue
            url = self.map.publish_tiles(lid, tiles.layer(cid, color))
            self.map.bridge.send("set_mask", id=lid, url=url, bounds=self._last_image_bounds, tiles=True,
                                 max_native_zoom=zoom, opacity=self.layers_panel.opacity(lid),
                                 visible=self.layers_panel.visible(lid))

    def _recolor_masks(self) -> None:
        """A class got a new colour: redraw the masks from the stored class array (no re-run)."""
        res = self.result
        by_id = {c.id: c for c in self.model.classes()}
        classes = [by_id.get(c.id, c) for c in res.classes]
        if [c.color for c in classes] == [c.color for c in res.classes] and \
                [c.name for c in classes] == [c.name for c in res.classes]:
            return
        res.classes = classes

        def done(overlays) -> None:
            if self.result is res:
                self.layers_panel.set_masks(classes, unclassified=res.areas.unclassified.pixels > 0)
                self._send_masks(overlays)

        self.runner.start("recolor", lambda job: pipeline.recolor_overlays(res, classes), label="Redrawing masks",
                          on_done=done)

    # ================================================================ projects
    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project folder", _projects_start())
        if folder:
            self.open_project(folder)

    def save_project_action(self) -> bool:
        if self.project_folder is None:
            return self.save_project_as_dialog()
        return self.save_project(self.project_folder)

    def save_project_as_dialog(self) -> bool:
        folder = QFileDialog.getExistingDirectory(self, "Save project into folder", _projects_start())
        return self.save_project(folder) if folder else False

    def open_project(self, folder, ask=None) -> bool:
        from . import project_io

        return project_io.open_project(self, folder, ask)

    def save_project(self, folder) -> bool:
        from . import project_io

        return project_io.save_project(self, folder)

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

    def _show_result_panels(self) -> None:
        """Layers, legend and Results panel describe the document's result (none: cleared)."""
        res = self.result
        if res is None:
            self.layers_panel.clear_masks()
        else:
            self.layers_panel.set_masks(res.classes, unclassified=res.areas.unclassified.pixels > 0)
        if self.legend_items() != self._legend_shown:
            self._send_legend()
        if self.results_panel is None:
            return
        self.results_panel.set_export_enabled(res is not None)
        if res is not None and not res.refit:
            # A threshold change: the tables follow a moment later, so the page's requests
            # for the new masks are not kept waiting on the UI thread (docs/performance.md).
            self._tables_timer.start()
        else:
            self._fill_result_tables()

    def _fill_result_tables(self) -> None:
        self._tables_timer.stop()
        res = self.result
        self.results_panel.show_areas(None if res is None else res.areas)
        self.results_panel.show_accuracy(None if res is None else res.accuracy)

    def sync_settings(self) -> None:
        """Copy the panels' current settings into the document (before a save or an autosave)."""
        s = self.document.settings
        s.display_bands = self.bands_panel.display_bands()
        s.classifier_bands = self.bands_panel.classifier_bands()
        s.method, s.options = self.model_panel.method(), self.model_panel.options()
        s.thresholds, s.layers = self.model_panel.thresholds(), self.layers_panel.state()

    def _mark_dirty(self) -> None:
        self.document.mark_dirty()

    def is_dirty(self) -> bool:
        """Unsaved work: sample edits since the last save/load, a new result, ROI or project image."""
        return self.document.is_dirty()

    def autosave(self) -> None:
        """Periodic safety copy of unsaved work (samples + settings), written atomically."""
        if self.is_dirty() and not self._closed and not self.model.is_empty():
            from . import project_io

            project_io.autosave_now(self)

    # ================================================================ layout & close
    def restore_layout(self) -> None:
        geo = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        self.docks["dock_imagery"].raise_()   # a first start begins at opening an image, whatever was added last
        self._default_state = self.saveState(LAYOUT_VERSION)
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(*default_window_size(self.screen()))
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        self.show_panel("dock_imagery")

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

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


def _projects_start() -> str:
    """The folder project dialogs open in: ``projects`` in the user's SatSeg data folder."""
    from ..core.paths import projects_dir

    folder = projects_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return ""   # the dialog then starts where Qt would anyway
    return str(folder)
