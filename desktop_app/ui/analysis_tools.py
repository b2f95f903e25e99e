"""The analyst's toolbox in the window: region growing, clean map, validation points, change, clusters.

Each tool is its own small widget; this module only places them (a "Tools" and a "Points" panel,
the clean-map box in the Results panel) and keeps them in step with the window's result.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from ..core.document import IMAGE, RESULT
from ..core.errors import SatSegError
from .change_box import ChangeBox
from .clean_map_box import CleanMapBox
from .clusters_box import ClustersBox
from .indices_box import IndicesBox
from .points_panel import PointsPanel, estimate_table, fill_estimate
from .region_grow_tool import RegionGrowTool


class AnalysisTools:
    def __init__(self, window) -> None:
        self.window = window
        tools = QWidget()
        lay = QVBoxLayout(tools)
        self.grow = RegionGrowTool(window)
        self.points = PointsPanel(window)
        self.change = ChangeBox(window)
        self.clusters = ClustersBox(window)
        # One "Tools" tab (it scrolls), in workflow order: sample, start unsupervised, assess, compare.
        for w in (self.grow, self.clusters, self.points, self.change):
            lay.addWidget(w)
        lay.addStretch(1)
        self.tools = tools
        window.add_panel("dock_tools", "Tools", tools,
                         "Region growing, clusters, validation points and area estimates, change between dates")
        self.clean = CleanMapBox(window)
        window.results_panel.layout().insertWidget(1, self.clean)
        window.document.observe(lambda what: what in (RESULT, IMAGE) and self.result_changed())
        self._results_tabs(window.results_panel)
        # Indices live in the Bands panel, above its closing stretch.
        self.indices = IndicesBox()
        body = window.bands_panel.findChild(QScrollArea).widget().layout()
        body.insertWidget(body.count() - 1, self.indices)
        self.indices.indices_changed.connect(self.apply_indices)
        window.image_loaded.connect(self._new_image)

    def _results_tabs(self, panel) -> None:
        """Results panel: the points' area estimate as a tab; a note on polygon-based accuracy."""
        page = QWidget()
        lay = QVBoxLayout(page)
        self.estimate_info = QLabel("No estimate yet: draw and label validation points (Tools ▸ Stratified "
                                    "sample of points), then Estimate areas.")
        self.estimate_info.setTextFormat(Qt.TextFormat.PlainText)
        self.estimate_info.setWordWrap(True)
        self.estimate_table = estimate_table()
        lay.addWidget(self.estimate_info)
        lay.addWidget(self.estimate_table, 1)
        panel.tabs.addTab(page, "Area estimate")
        self.points.estimated.connect(lambda d: fill_estimate(self.estimate_info, self.estimate_table, d))
        note = QLabel("Validation polygons are not a probability sample: these figures describe the polygons, "
                      "not the whole map, and give no area estimate. For areas with confidence intervals use "
                      "validation points (Tools panel).")
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        note.setStyleSheet("color: #555")
        acc = panel.tabs.widget(1)
        if acc is not None and acc.layout() is not None:
            acc.layout().insertWidget(1, note)
        self.polygon_note = note

    def _new_image(self) -> None:
        doc = self.window.doc
        self.indices.set_indices(getattr(doc, "indices", []) if doc is not None else [])
        from .doc_indices import base_band_names

        self.indices.set_base_bands(base_band_names(doc) if doc is not None else [])

    def apply_indices(self, indices) -> None:
        """Append (or drop) index bands on the open image; new indices are checked for the classifier."""
        from .doc_indices import set_indices

        w = self.window
        doc = w.doc
        if doc is None:
            return
        old = {i.name for i in doc.indices}
        clf = w.bands_panel.classifier_bands()
        display = w.bands_panel.display_bands()
        try:
            set_indices(doc, indices)
        except SatSegError as exc:
            self.indices.error.setText(str(exc))
            return
        self.indices.error.setText("")
        names = [i.name for i in indices]
        keep = [b for b in clf if b not in old or b in names]
        clf = keep + [n for n in names if n not in old]
        display = [b for b in display if b in doc.band_names] or None
        w.bands_panel.set_band_names(doc.band_names, display=display, classifier=clf)
        w.model_panel.set_band_count(len(w.bands_panel.classifier_bands()))
        w._mark_dirty()
        w._schedule_signatures()

    def result_changed(self) -> None:
        self.clean.update_state()
        self.points.refresh()
        self.clusters._update()


def install_analysis_tools(window) -> AnalysisTools:
    return AnalysisTools(window)
