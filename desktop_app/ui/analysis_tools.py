"""The analyst's toolbox in the window: region growing, clean map, validation points, change, clusters.

Each tool is its own small widget; this module only places them (a "Tools" and a "Points" panel,
the clean-map box in the Results panel) and keeps them in step with the window's result.
"""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from .clean_map_box import CleanMapBox
from .points_panel import PointsPanel
from .region_grow_tool import RegionGrowTool


class AnalysisTools:
    def __init__(self, window) -> None:
        self.window = window
        tools = QWidget()
        lay = QVBoxLayout(tools)
        self.grow = RegionGrowTool(window)
        lay.addWidget(self.grow)
        self.tools_layout = lay
        self._extra_tools(lay)
        lay.addStretch(1)
        self.tools = tools
        window.add_panel("dock_tools", "Tools", tools, "Region growing, change between dates, clusters")
        self.points = PointsPanel(window)
        window.add_panel("dock_points", "Points", self.points,
                         "Validation points: stratified sample, labelling, error-adjusted areas")
        self.clean = CleanMapBox(window)
        window.results_panel.layout().insertWidget(1, self.clean)
        window.classification_finished.connect(lambda _outcome: self.result_changed())

    def _extra_tools(self, lay) -> None:
        try:
            from .change_box import ChangeBox
            from .clusters_box import ClustersBox
        except ImportError:
            return
        self.change = ChangeBox(self.window)
        self.clusters = ClustersBox(self.window)
        lay.addWidget(self.change)
        lay.addWidget(self.clusters)

    def result_changed(self) -> None:
        self.clean.update_state()
        self.points.refresh()


def install_analysis_tools(window) -> AnalysisTools:
    return AnalysisTools(window)
