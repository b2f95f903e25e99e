"""Validation points: draw a stratified sample from the result, label each point, estimate areas.

Labelling mode: the map zooms onto the current point (a ring marks it; labelled points are
filled in their reference class colour); keys 1..K give the point the K-th class and move on,
Right/Left (or N/P) go to the next/previous point, and the progress reads "37 / 300". Areas and
accuracies follow Olofsson et al. (2014) — docs/analysis.md ("Sample design", "Area estimate").
"""
from __future__ import annotations

import json
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.errors import SatSegError

POINTS_ID = "validation_points"
CURRENT_ID = "validation_current"
ZOOM = 17


class PointsPanel(QWidget):
    labelled = Signal(int, str)     # point index, reference class name
    estimated = Signal(object)      # the estimate's to_dict(), for the Results panel

    def __init__(self, window, parent=None) -> None:
        super().__init__(parent)
        self.window = window
        self.fc: Optional[dict] = None
        self.index = 0
        self.path: Optional[str] = None

        design = QGroupBox("Stratified sample of points (strata = map classes)")
        self.total = QSpinBox()
        self.total.setRange(10, 100_000)
        self.total.setValue(300)
        self.total.setPrefix("total ")
        self.min_per = QSpinBox()
        self.min_per.setRange(0, 10_000)
        self.min_per.setValue(50)
        self.min_per.setPrefix("at least ")
        self.min_per.setSuffix(" per class")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setPrefix("seed ")
        self.draw_btn = QPushButton("Draw points from the result")
        self.open_btn = QPushButton("Open points…")
        self.save_btn = QPushButton("Save points…")
        g = QGridLayout(design)
        g.addWidget(self.total, 0, 0)
        g.addWidget(self.min_per, 0, 1)
        g.addWidget(self.seed, 1, 0)
        g.addWidget(self.draw_btn, 1, 1)
        g.addWidget(self.open_btn, 2, 0)
        g.addWidget(self.save_btn, 2, 1)

        label = QGroupBox("Label the points")
        self.label_btn = QPushButton("Start labelling")
        self.label_btn.setCheckable(True)
        self.label_btn.setToolTip("Keys 1..K label the current point with the K-th class and go to the next; "
                                  "Right/Left or N/P move without labelling")
        self.prev_btn = QPushButton("◀ Prev")
        self.next_btn = QPushButton("Next ▶")
        self.progress = QLabel("No points yet")
        self.progress.setTextFormat(Qt.TextFormat.PlainText)
        self.current = QLabel("")
        self.current.setTextFormat(Qt.TextFormat.PlainText)
        self.current.setWordWrap(True)
        self.keys = QLabel("")
        self.keys.setTextFormat(Qt.TextFormat.PlainText)
        self.keys.setWordWrap(True)
        lay = QVBoxLayout(label)
        row = QHBoxLayout()
        row.addWidget(self.label_btn)
        row.addWidget(self.prev_btn)
        row.addWidget(self.next_btn)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.current)
        lay.addWidget(self.keys)

        est = QGroupBox("Error-adjusted areas (Olofsson et al. 2014)")
        self.estimate_btn = QPushButton("Estimate areas and accuracy")
        self.estimate_info = QLabel("")
        self.estimate_info.setTextFormat(Qt.TextFormat.PlainText)
        self.estimate_info.setWordWrap(True)
        self.table = estimate_table()
        el = QVBoxLayout(est)
        el.addWidget(self.estimate_btn)
        el.addWidget(self.estimate_info)
        el.addWidget(self.table)

        top = QVBoxLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(design)
        top.addWidget(label)
        top.addWidget(est)
        top.addStretch(1)

        self.draw_btn.clicked.connect(self.draw_from_result)
        self.open_btn.clicked.connect(self.open_dialog)
        self.save_btn.clicked.connect(self.save_dialog)
        self.label_btn.toggled.connect(self.set_labelling)
        self.prev_btn.clicked.connect(lambda: self.go(self.index - 1))
        self.next_btn.clicked.connect(lambda: self.go(self.index + 1))
        self.estimate_btn.clicked.connect(self.estimate)
        # Keys work wherever the focus is (the map usually has it) but only while labelling.
        self.shortcuts: list[QShortcut] = []
        for k in range(1, 10):
            sc = QShortcut(QKeySequence(str(k)), window, context=Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda k=k: self.label_current(k))
            self.shortcuts.append(sc)
        for key, step in (("Right", 1), ("N", 1), ("Left", -1), ("P", -1)):
            sc = QShortcut(QKeySequence(key), window, context=Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda s=step: self.go(self.index + s))
            self.shortcuts.append(sc)
        self.set_labelling(False)
        self.refresh()

    # ------------------------------------------------------------ data
    @property
    def features(self) -> list[dict]:
        return self.fc["features"] if self.fc else []

    def class_names(self) -> list[str]:
        return [c.name for c in self.window.model.classes()]

    def set_points(self, fc: dict, path: Optional[str] = None) -> None:
        feats = fc.get("features") if isinstance(fc, dict) else None
        if not isinstance(feats, list) or not all((f.get("geometry") or {}).get("type") == "Point" for f in feats):
            raise SatSegError("a validation sample is a GeoJSON FeatureCollection of points")
        for f in feats:
            f.setdefault("properties", {}).setdefault("reference", None)
        self.fc, self.path, self.index = fc, path, 0
        self.refresh()
        self.draw_points()
        if self.label_btn.isChecked():
            self.go(0)

    def labelled_count(self) -> int:
        return sum(1 for f in self.features if f["properties"].get("reference"))

    def draw_from_result(self) -> None:
        res = self.window.result
        if res is None:
            self.window.notify("Run a classification first: the sample is drawn from the map.", "warning")
            return
        from ..core.analysis.sample_design import design_sample_array

        doc = res.request.doc
        total, m, seed = self.total.value(), self.min_per.value(), self.seed.value()
        self.window.runner.start(
            "sample", lambda job: design_sample_array(res.class_array, doc.transform, doc.crs, res.classes, total,
                                                      m, seed, job, map_name="current result"),
            label="Drawing sample points", on_done=self.set_points,
            on_error=lambda msg: self.window.notify(f"Cannot draw the sample: {msg}", "error"))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open validation points", "", "GeoJSON (*.geojson *.json)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        from ..core.analysis.area_estimate import read_points

        try:
            feats, extra = read_points(path)
            self.set_points({"type": "FeatureCollection", **extra, "features": feats}, path)
        except SatSegError as exc:
            self.window.notify(f"Cannot open {path}: {exc}", "error")

    def save_dialog(self) -> None:
        if not self.fc:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save validation points", self.path or "points.geojson",
                                              "GeoJSON (*.geojson)")
        if path:
            self.save(path)

    def save(self, path: str) -> None:
        from ..core.analysis.sample_design import write_sample

        try:
            write_sample(self.fc, path)
            self.path = path
            self.window.status.showMessage(f"Saved {len(self.features)} points to {path}", 8000)
        except SatSegError as exc:
            self.window.notify(f"Cannot save the points: {exc}", "error")

    # ------------------------------------------------------------ labelling
    def set_labelling(self, on: bool) -> None:
        for sc in self.shortcuts:
            sc.setEnabled(on)
        # Label from the imagery, not from the map being assessed: class masks are hidden meanwhile.
        lp = self.window.layers_panel
        for lid in [r for r in getattr(lp, "rows", {}) if str(r).startswith("mask")]:
            self.window.map.bridge.send("set_layer_visible", id=lid, visible=(not on) and lp.visible(lid))
        self.label_btn.setText("Stop labelling" if on else "Start labelling")
        if not on:
            self.window.map.bridge.send("remove_overlay", id=CURRENT_ID)
        if on and self.features:
            self.go(self.index)
        self.refresh()

    def go(self, index: int) -> None:
        if not self.features:
            return
        self.index = max(0, min(index, len(self.features) - 1))
        lon, lat = self.features[self.index]["geometry"]["coordinates"][:2]
        self.window.map.bridge.send("set_view", lat=lat, lon=lon, zoom=ZOOM)
        self.window.map.bridge.send("set_overlay", id=CURRENT_ID, geojson=self.features[self.index]["geometry"],
                                    color="#ffff00", weight=3, radius=12, fill=0.0)
        self.refresh()

    def label_current(self, k: int) -> None:
        names = self.class_names()
        if not self.features or not 1 <= k <= len(names):
            return
        name = names[k - 1]
        self.features[self.index]["properties"]["reference"] = name
        self.labelled.emit(self.index, name)
        self.draw_points()
        # Next unlabelled point after this one (or simply the next when all are labelled).
        n = len(self.features)
        nxt = next((i for i in list(range(self.index + 1, n)) + list(range(0, self.index))
                    if not self.features[i]["properties"].get("reference")), min(self.index + 1, n - 1))
        self.go(nxt)

    def draw_points(self) -> None:
        if not self.features:
            self.window.map.bridge.send("remove_overlay", id=POINTS_ID)
            self.window.map.bridge.send("remove_overlay", id=CURRENT_ID)
            return
        colors = {c.name: c.color for c in self.window.model.classes()}
        feats = []
        for f in self.features:
            ref = f["properties"].get("reference")
            feats.append({"type": "Feature", "geometry": f["geometry"],
                          "properties": {"color": "#000000", "fill": colors.get(ref, "#ffffff"),
                                         "fill_opacity": 0.95 if ref else 0.6, "radius": 5}})
        self.window.map.bridge.send("set_overlay", id=POINTS_ID, geojson={"type": "FeatureCollection",
                                                                         "features": feats}, weight=1)

    def refresh(self) -> None:
        n = len(self.features)
        has = n > 0
        for b in (self.save_btn, self.label_btn, self.prev_btn, self.next_btn, self.estimate_btn):
            b.setEnabled(has)
        self.draw_btn.setEnabled(self.window.result is not None)
        if not has:
            self.progress.setText("No points yet: draw them from the result or open a point file.")
            self.current.setText("")
            self.keys.setText("")
            return
        self.progress.setText(f"{self.labelled_count()} / {n} labelled")
        p = self.features[self.index]["properties"]
        self.current.setText(f"Point {self.index + 1} of {n} · map class (stratum): {p.get('stratum') or '–'} · "
                             f"reference: {p.get('reference') or 'not labelled'}")
        self.keys.setText("Keys: " + "   ".join(f"{i + 1} {name}" for i, name in enumerate(self.class_names()[:9])))

    # ------------------------------------------------------------ estimate
    def estimate(self) -> None:
        res = self.window.result
        if res is None:
            self.window.notify("The estimate needs the classified map: run the classification first.", "warning")
            return
        from ..core.analysis.area_estimate import estimate_from_features

        doc = res.request.doc
        feats = json.loads(json.dumps(self.features))

        def work(job):
            return estimate_from_features(res.class_array, doc.transform, doc.crs, res.areas, feats,
                                          where="these points")

        self.window.runner.start("estimate", work, label="Estimating areas", on_done=self.show_estimate,
                                 on_error=lambda msg: self.window.notify(msg, "warning"))

    def show_estimate(self, est) -> None:
        d = est.to_dict()
        self.last_estimate = d
        fill_estimate(self.estimate_info, self.table, d)
        self.estimated.emit(d)


def estimate_table() -> QTableWidget:
    table = QTableWidget(0, 5)
    table.setHorizontalHeaderLabels(["Class", "Area ha ± CI", "Mapped ha", "User's", "Producer's"])
    for col, tip in enumerate(["", "Error-adjusted area, ± half-width of the 95 % confidence interval",
                               "Area of the class on the map", "User's accuracy ± 95 % CI (commission)",
                               "Producer's accuracy ± 95 % CI (omission)"]):
        if tip:
            table.horizontalHeaderItem(col).setToolTip(tip)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setMinimumHeight(150)
    return table


def fill_estimate(info: QLabel, table: QTableWidget, d: dict) -> None:
    """Show an area estimate (``AreaEstimate.to_dict()``) in a label and a table."""
    oa, se = d["overall_accuracy"], d["overall_accuracy_se"] or 0.0
    text = f"{d['sample_points']} labelled points · overall accuracy {100 * oa:.1f} % ± {196 * se:.1f}"
    if d["warnings"]:
        text += "\n" + "\n".join(d["warnings"])
    info.setText(text)
    rows = list(d["area_estimate"].items())
    table.setRowCount(len(rows))

    def pm(v, s):
        return "–" if v is None else f"{100 * v:.1f} ± {196 * (s or 0):.1f} %"

    for i, (name, e) in enumerate(rows):
        cells = [name, f"{e['area_m2'] / 1e4:,.1f} ± {e['ci95_m2'] / 1e4:,.1f}",
                 f"{e['mapped_area_m2'] / 1e4:,.1f}", pm(e["users_accuracy"], e["users_accuracy_se"]),
                 pm(e["producers_accuracy"], e["producers_accuracy_se"])]
        for j, c in enumerate(cells):
            item = QTableWidgetItem(c)
            item.setTextAlignment((Qt.AlignmentFlag.AlignLeft if j == 0 else Qt.AlignmentFlag.AlignRight)
                                  | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(i, j, item)
    table.resizeColumnsToContents()
