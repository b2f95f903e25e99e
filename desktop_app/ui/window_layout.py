"""The window's frame: the tabbed side panels, the menus, and the layout saved between sessions.

Mixed into MainWindow (like map_sync and exports): panels and menus are built once in
``__init__``, and other modules add their own tabs through ``add_panel``.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QTabWidget, QWidget

from . import basemap
from .bands_panel import BandsPanel
from .classes_panel import ClassesPanel
from .imagery_panel import ImageryPanel
from .layers_panel import LayersPanel
from .model_panel import ModelPanel

LAYOUT_VERSION = 3   # bump when docks change, so an old saved layout is not forced onto new docks
PANEL_WIDTH = 450    # side panels: legible tables; the map keeps about two thirds of a 1366 px screen
MAX_PANEL_WIDTH = 560
SPECTRA_HEIGHT = 220
DEFAULT_SIZE = (1400, 900)


def default_window_size(screen) -> tuple[int, int]:
    """DEFAULT_SIZE, shrunk to the screen's free area (a 1366 × 768 laptop gets the whole screen)."""
    if screen is None:
        return DEFAULT_SIZE
    free = screen.availableGeometry()
    return min(DEFAULT_SIZE[0], free.width()), min(DEFAULT_SIZE[1], free.height())


class WindowLayoutMixin:
    """Mixed into MainWindow; builds its docks and menus and saves/restores their arrangement."""

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
