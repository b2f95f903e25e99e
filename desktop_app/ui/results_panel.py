"""Dock panel: class areas, accuracy against validation polygons, and export buttons.

Areas are ground areas on the ellipsoid (``core.areas``), so they hold for any
CRS. Percentages are shares of the *classified* area; unclassified and
nodata pixels are listed apart and never counted in a class.
"""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
    QTabWidget, QVBoxLayout, QWidget,
)

from .classes_panel import swatch

NO_RESULT_TEXT = "No classification yet: run the classifier to see class areas."
NO_VALIDATION_TEXT = ("No validation polygons — mark some polygons as validation (Classes panel: "
                      "New polygons are: Validation) and run again to measure accuracy.")
EXPORTS = (
    ("geojson", "GeoJSON…", "Save the class polygons as GeoJSON (WGS84): one MultiPolygon feature per class, or "
                            "one feature per patch (a choice in the dialog, with minimum patch size and simplification)"),
    ("kml", "KML…", "Save the class polygons as KML for Google Earth, coloured by class (per class or per patch)"),
    ("geotiff", "GeoTIFF…", "Save the class raster (0 = unclassified, 255 = nodata) with its colour table"),
    ("csv", "CSV…", "Save the area table (m², ha, km², %) as CSV for a spreadsheet"),
)


def fmt_int(v) -> str:
    return f"{int(v):,}"


def fmt_float(v, decimals: int) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:,.{decimals}f}"


def fmt_percent(v, decimals: int = 1) -> str:
    """A 0..1 fraction as '93.2 %'."""
    return "–" if v is None or not math.isfinite(v) else f"{100 * v:.{decimals}f} %"


def _cell(text: str, align_right: bool = True, color: Optional[str] = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
    item.setTextAlignment((Qt.AlignRight if align_right else Qt.AlignLeft) | Qt.AlignVCenter)
    if color:
        item.setIcon(swatch(color))
    return item


def _table(columns: list[str], tips: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    for col, tip in enumerate(tips):
        if tip:
            t.horizontalHeaderItem(col).setToolTip(tip)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectRows)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


AREA_COLUMNS = ["Class", "Pixels", "Area (m²)", "Area (ha)", "Area (km²)", "Share (%)"]   # copied text
# On screen the units people read first come first, so km² and % fit a narrow panel.
SHOWN_COLUMNS = ["Class", "km²", "%", "ha", "Pixels", "m²"]
SHOWN_ORDER = [0, 4, 5, 3, 1, 2]   # index into AREA_COLUMNS for each shown column
AREA_TIPS = ["", "Square kilometres (1 km² = 100 ha)",
             "Share of the classified area (unclassified and nodata pixels not counted)",
             "Hectares (1 ha = 10,000 m²)", "Number of pixels",
             "Ground area in square metres (on the ellipsoid, not the map plane)"]


class ResultsPanel(QWidget):
    export_requested = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget(self)

        # -- areas
        areas_page = QWidget()
        self.areas_note = QLabel(NO_RESULT_TEXT, areas_page)
        self.areas_note.setWordWrap(True)
        self.areas_table = _table(SHOWN_COLUMNS, AREA_TIPS)
        self.copy_button = QPushButton("Copy table", areas_page)
        self.copy_button.setToolTip("Copy the area table to the clipboard (tab-separated, pastes into a spreadsheet)")
        self.copy_button.clicked.connect(self.copy_areas)
        note_row = QHBoxLayout()
        note_row.addWidget(self.areas_note, 1)
        note_row.addWidget(self.copy_button, 0, Qt.AlignTop)
        lay = QVBoxLayout(areas_page)
        lay.addWidget(self.areas_table, 1)
        lay.addLayout(note_row)
        self.tabs.addTab(areas_page, "Areas")

        # -- accuracy
        acc_page = QWidget()
        self.accuracy_summary = QLabel(NO_VALIDATION_TEXT, acc_page)
        self.accuracy_summary.setWordWrap(True)
        self.accuracy_summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.per_class_table = _table(
            ["Class", "Producer's accuracy", "User's accuracy", "F1", "Validation pixels"],
            ["", "Of the validation pixels of this class, the share classified as this class (omission errors)",
             "Of the pixels classified as this class, the share that truly are (commission errors)",
             "Harmonic mean of producer's and user's accuracy (0–1)", "Validation pixels of this class"])
        self.confusion_table = QTableWidget(0, 0)
        self.confusion_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.confusion_table.setToolTip("Pixels: rows = reference class (validation polygons), "
                                        "columns = class assigned by the classifier")
        self.confusion_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.confusion_label = QLabel("Confusion matrix (pixels; rows = reference, columns = classified)", acc_page)
        lay = QVBoxLayout(acc_page)
        lay.addWidget(self.accuracy_summary)
        lay.addWidget(self.per_class_table, 1)
        lay.addWidget(self.confusion_label)
        lay.addWidget(self.confusion_table, 1)
        self.tabs.addTab(acc_page, "Accuracy")

        # -- exports
        box = QGroupBox("Export result", self)
        row = QHBoxLayout(box)
        self.export_buttons: dict[str, QPushButton] = {}
        for kind, text, tip in EXPORTS:
            b = QPushButton(text, box)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, k=kind: self.export_requested.emit(k))
            row.addWidget(b)
            self.export_buttons[kind] = b

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(box)
        self.area_table = None
        self.report = None
        self.show_areas(None)
        self.show_accuracy(None)

    # ---------------------------------------------------------------- areas
    def set_export_enabled(self, enabled: bool) -> None:
        for b in self.export_buttons.values():
            b.setEnabled(enabled)

    def show_areas(self, table) -> None:
        """Fill the area table from a ``core.areas.AreaTable``; None clears it (no result yet)."""
        self.area_table = table
        t = self.areas_table
        t.setRowCount(0)
        self.set_export_enabled(table is not None)
        self.copy_button.setEnabled(table is not None)
        if table is None:
            self.areas_note.setText(NO_RESULT_TEXT)
            return
        rows = list(table.rows)
        t.setRowCount(len(rows) + 4)
        for i, r in enumerate(rows):
            self._area_row(i, r.class_name, r.color, r.pixels, r.area_m2, r.percent)
        total_px = sum(r.pixels for r in rows)
        self._area_row(len(rows), "Total classified", None, total_px, table.classified_m2,
                       100.0 if table.classified_m2 > 0 else None, bold=True)
        self._separator(len(rows) + 1)
        valid = table.valid_m2
        unc = table.unclassified
        self._area_row(len(rows) + 2, "Unclassified", None, unc.pixels, unc.area_m2, None, grey=True,
                       tip="Pixels rejected by every class's threshold; not part of any class")
        nod = table.nodata
        self._area_row(len(rows) + 3, "No data", None, nod.pixels, nod.area_m2, None, grey=True,
                       tip="Pixels without image data (outside the scene, clouds when masked); never classified")
        note = f"Areas on the {table.ellipsoid} ellipsoid; raster CRS {table.crs}."
        if valid > 0 and unc.area_m2 > 0:
            note += f" Unclassified: {100 * unc.area_m2 / valid:.2f} % of the image area with data."
        if getattr(table, "warnings", None):
            note += "\n" + "\n".join(table.warnings)
        self.areas_note.setText(note)

    def areas_text(self) -> str:
        """The area table as tab-separated text with plain numbers (no thousands separators)."""
        table = self.area_table
        if table is None:
            return ""
        lines = ["\t".join(AREA_COLUMNS)]

        def line(name, pixels, m2, percent):
            pct = "" if percent is None else f"{percent:.4f}"
            lines.append(f"{name}\t{pixels}\t{m2:.2f}\t{m2 / 1e4:.4f}\t{m2 / 1e6:.6f}\t{pct}")

        for r in table.rows:
            line(r.class_name, r.pixels, r.area_m2, r.percent)
        line("Unclassified", table.unclassified.pixels, table.unclassified.area_m2, None)
        line("No data", table.nodata.pixels, table.nodata.area_m2, None)
        return "\n".join(lines) + "\n"

    def copy_areas(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.clipboard().setText(self.areas_text())

    def _separator(self, row: int) -> None:
        for col in range(self.areas_table.columnCount()):
            self.areas_table.setItem(row, col, _cell(""))
        self.areas_table.setRowHeight(row, 6)

    def _area_row(self, row: int, name: str, color, pixels, m2, percent, bold=False, grey=False, tip="") -> None:
        values = [fmt_int(pixels), fmt_float(m2, 0), fmt_float(m2 / 1e4, 2), fmt_float(m2 / 1e6, 4),
                  fmt_float(percent, 2)]
        cells = [_cell(name, align_right=False, color=color)] + [_cell(v) for v in values]
        items = [cells[i] for i in SHOWN_ORDER]
        for col, item in enumerate(items):
            if bold:
                f = QFont(item.font())
                f.setBold(True)
                item.setFont(f)
            if grey:
                f = QFont(item.font())
                f.setItalic(True)
                item.setFont(f)
                item.setForeground(QBrush(QColor("#666666")))
            if tip:
                item.setToolTip(tip)
            self.areas_table.setItem(row, col, item)

    # ------------------------------------------------------------- accuracy
    def show_accuracy(self, report) -> None:
        """Show a ``core.accuracy.AccuracyReport`` (or its ``to_dict()``); None = no validation polygons."""
        self.report = report
        self.per_class_table.setRowCount(0)
        self.confusion_table.setRowCount(0)
        self.confusion_table.setColumnCount(0)
        has = report is not None
        self.per_class_table.setVisible(has)
        self.confusion_table.setVisible(has)
        self.confusion_label.setVisible(has)
        if not has:
            self.accuracy_summary.setText(NO_VALIDATION_TEXT)
            return
        d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
        oa, kappa = d.get("overall_accuracy"), d.get("kappa")
        lines = [f"Overall accuracy: {fmt_percent(oa)}",
                 f"Kappa: {fmt_float(kappa, 3)}",
                 f"Validation pixels: {fmt_int(d.get('reference_pixels', 0))}"]
        share = d.get("unclassified_share")
        if share:
            lines.append(f"Validation pixels left unclassified: {fmt_percent(share)}")
        text = "   ·   ".join(lines)
        if d.get("warnings"):
            text += "\n" + "\n".join(d["warnings"])
        self.accuracy_summary.setText(text)

        per_class = d.get("per_class", [])
        self.per_class_table.setRowCount(len(per_class))
        for i, c in enumerate(per_class):
            items = [_cell(c["name"], align_right=False, color=c.get("color")),
                     _cell(fmt_percent(c.get("producers_accuracy"))), _cell(fmt_percent(c.get("users_accuracy"))),
                     _cell(fmt_float(c.get("f1"), 3)), _cell(fmt_int(c.get("reference_pixels", 0)))]
            for col, item in enumerate(items):
                self.per_class_table.setItem(i, col, item)

        names = [c["name"] for c in d.get("classes", [])]
        matrix = d.get("confusion_matrix", [])
        unclassified = d.get("unclassified_per_class", [0] * len(names))
        ct = self.confusion_table
        ct.setRowCount(len(names))
        ct.setColumnCount(len(names) + 1)
        ct.setHorizontalHeaderLabels(names + ["Unclassified"])
        ct.setVerticalHeaderLabels(names)
        for i, row in enumerate(matrix):
            for j, v in enumerate(list(row) + [unclassified[i]]):
                item = _cell(fmt_int(v))
                if i == j:
                    item.setBackground(QBrush(QColor("#dff0d8")))   # correct pixels on the diagonal
                ct.setItem(i, j, item)
