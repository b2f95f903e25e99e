"""Tools panel box: change between two dates — a from–to matrix and a change layer on the map.

The current result is compared with a class raster file (a result saved earlier, or a map of
another year): the file is resampled by nearest neighbour onto the result's grid and classes are
matched by name (docs/analysis.md, "Change"). The change layer has one colour per from–to pair.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

LAYER_ID = "change"


def change_with_file(res, other_path: str, current_is_before: bool, job=None):
    """(ChangeResult, Overlay of the change raster) for the window's result and a class raster file."""
    from ..core.classes import write_class_raster

    doc = res.request.doc
    with tempfile.TemporaryDirectory(prefix="satseg-change-") as tmp:
        current = Path(tmp) / "current.tif"
        write_class_raster(current, res.class_array, doc.transform, doc.crs, res.classes)
        before, after = (current, other_path) if current_is_before else (other_path, current)
        return change_of_files(before, after, job)


def change_of_files(before, after, job=None):
    """(ChangeResult, Overlay of the change raster) for two class raster files."""
    from ..core.analysis.change import change_maps
    from ..core.classes import hex_to_rgb
    from ..core.display import classes_to_mercator, encode_png, latlon_bounds
    from .pipeline import DISPLAY_MAX

    result, array, transform, crs = change_maps(before, after, job)
    merc, t = classes_to_mercator(array, transform, crs, DISPLAY_MAX)
    lut = np.zeros((256, 4), np.uint8)
    K = len(result.names)
    for c, p in zip(result.pairs, np.flatnonzero(result.pixels.ravel())):
        same = p // K == p % K
        # Unchanged pixels are a faint wash so the changes stand out.
        lut[c.id] = (*hex_to_rgb(c.color), 70 if same else 255)
    from ..core.display import Overlay

    overlay = Overlay(encode_png(lut[merc]), latlon_bounds(t, merc.shape[1], merc.shape[0]), merc.shape[1],
                      merc.shape[0], int((merc != 255).sum()))
    return result, overlay


class ChangeBox(QGroupBox):
    def __init__(self, window, parent=None) -> None:
        super().__init__("Change between two dates", parent)
        self.window = window
        self.change = None
        self.order = QComboBox()
        self.order.addItems(["current result is the later date", "current result is the earlier date"])
        self.compare_btn = QPushButton("Compare with a class map…")
        self.compare_btn.setToolTip("A class GeoTIFF of the other date (e.g. a result exported or saved before)")
        self.files_btn = QPushButton("Compare two class maps…")
        self.files_btn.setToolTip("Pick the earlier, then the later class GeoTIFF (two saved results)")
        self.show_layer = QCheckBox("Show change layer")
        self.show_layer.setChecked(True)
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setToolTip("Hectares: rows = earlier date (from), columns = later date (to)")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(120)
        row = QHBoxLayout()
        row.addWidget(self.compare_btn)
        row.addWidget(self.show_layer)
        lay = QVBoxLayout(self)
        lay.addWidget(self.order)
        lay.addLayout(row)
        lay.addWidget(self.files_btn)
        lay.addWidget(self.info)
        lay.addWidget(self.table)
        self.compare_btn.clicked.connect(self.compare_dialog)
        self.files_btn.clicked.connect(self.files_dialog)
        self.show_layer.toggled.connect(
            lambda on: self.window.map.bridge.send("set_layer_visible", id=LAYER_ID, visible=on))

    def compare_dialog(self) -> None:
        if self.window.result is None:
            self.window.notify("Run (or open) a classification first: it is one of the two dates.", "warning")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Class map of the other date", "", "GeoTIFF (*.tif *.tiff)")
        if path:
            self.compare(path)

    def files_dialog(self) -> None:
        before, _ = QFileDialog.getOpenFileName(self, "Class map of the EARLIER date", "", "GeoTIFF (*.tif *.tiff)")
        if not before:
            return
        after, _ = QFileDialog.getOpenFileName(self, "Class map of the LATER date", "", "GeoTIFF (*.tif *.tiff)")
        if after:
            self.compare_files(before, after)

    def compare_files(self, before: str, after: str) -> None:
        self._start(lambda job: change_of_files(before, after, job))

    def compare(self, path: str) -> None:
        res = self.window.result
        if res is None:
            return
        current_is_before = self.order.currentIndex() == 1
        self._start(lambda job: change_with_file(res, path, current_is_before, job))

    def _start(self, work) -> None:
        w = self.window

        def done(out) -> None:
            result, overlay = out
            self.change = result
            url = w._write_overlay(LAYER_ID, overlay.png)
            w.map.bridge.send("set_mask", id=LAYER_ID, url=url, bounds=[list(overlay.bounds[0]),
                                                                        list(overlay.bounds[1])],
                              opacity=0.85, visible=self.show_layer.isChecked())
            self.show_matrix(result)

        w.runner.start("change", work, label="Comparing dates", on_done=done,
                       on_error=lambda msg: w.notify(f"Cannot compare: {msg}", "error"))

    def show_matrix(self, result) -> None:
        d = result.to_dict()
        names = d["classes"]
        self.info.setText(f"{d['changed_pixels']:,} of {d['compared_pixels']:,} pixels changed "
                          f"({sum(sum(r) for r in d['area_ha']) - sum(d['area_ha'][i][i] for i in range(len(names))):,.1f}"
                          " ha)." + ("\n" + "\n".join(d["warnings"]) if d["warnings"] else ""))
        t = self.table
        t.setRowCount(len(names))
        t.setColumnCount(len(names))
        t.setHorizontalHeaderLabels([f"→ {n}" for n in names])
        t.setVerticalHeaderLabels(names)
        for i, row in enumerate(d["area_ha"]):
            for j, v in enumerate(row):
                item = QTableWidgetItem(f"{v:,.2f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()
