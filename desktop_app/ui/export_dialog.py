"""The export dialog of the Results panel: file name, and the CLI's clean-up options.

It suggests a file name from the image and the method, adds the extension,
and offers what `satseg export` offers, with the same defaults (see
``commands/export_options.py``): minimum patch size (merge or drop), and for
polygons simplification, one feature per patch, and KML opacity.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
    QLineEdit, QPushButton, QSpinBox, QWidget,
)

EXTENSIONS = {"geojson": ".geojson", "kml": ".kml", "geotiff": ".tif", "csv": ".csv"}
TITLES = {"geojson": "GeoJSON polygons", "kml": "KML polygons", "geotiff": "class GeoTIFF", "csv": "area table (CSV)"}
FILTERS = {"geojson": "GeoJSON (*.geojson *.json)", "kml": "KML (*.kml)", "geotiff": "GeoTIFF (*.tif *.tiff)",
           "csv": "CSV (*.csv)"}
VECTOR_KINDS = ("geojson", "kml")


@dataclass
class ExportOptions:
    """Defaults are the CLI's (--min-area 0, --small merge, --simplify 0, no --per-patch, --kml-opacity 0.6)."""
    path: str
    min_area: int = 0
    small: str = "merge"
    simplify_m: float = 0.0
    per_patch: bool = False
    kml_opacity: float = 0.6


def suggested_name(kind: str, image_title: str, method: str) -> str:
    """'scene-mahalanobis.geojson': the image's name and the method, safe for any file system."""
    stem = Path(image_title).stem if "." in image_title else image_title
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:60] or "satseg"
    return f"{stem}-{method}{EXTENSIONS[kind]}"


def with_extension(path: str, kind: str) -> str:
    """Add the format's extension when the name has none of its own."""
    p = Path(path)
    if p.suffix.lower() in {EXTENSIONS[kind], ".json", ".tiff"}:
        return path
    return str(p.with_name(p.name + EXTENSIONS[kind]))


class ExportDialog(QDialog):
    def __init__(self, kind: str, suggested_path: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setWindowTitle(f"Export {TITLES[kind]}")
        self.path_edit = QLineEdit(suggested_path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("File", row)

        self.min_area = QSpinBox()
        self.min_area.setRange(0, 10_000_000)
        self.min_area.setSuffix(" px")
        self.min_area.setSpecialValueText("keep all")
        self.min_area.setToolTip("Patches smaller than this many pixels are merged into their largest neighbour "
                                 "(or made unclassified); a speckled result gives far smaller files")
        self.small = QComboBox()
        self.small.addItem("merge into the largest neighbour", "merge")
        self.small.addItem("make unclassified", "drop")
        form.addRow("Minimum patch size", self.min_area)
        form.addRow("Smaller patches", self.small)

        self.simplify = QDoubleSpinBox()
        self.simplify.setRange(0, 10_000)
        self.simplify.setDecimals(1)
        self.simplify.setSuffix(" m")
        self.simplify.setSpecialValueText("exact pixel edges")
        self.simplify.setToolTip("Simplification tolerance in ground metres; shared boundaries stay shared")
        self.per_patch = QCheckBox("One feature per patch (with its own area)")
        self.per_patch.setToolTip("Off: one MultiPolygon feature per class. On: one polygon feature per patch")
        self.opacity = QDoubleSpinBox()
        self.opacity.setRange(0, 1)
        self.opacity.setSingleStep(0.1)
        self.opacity.setValue(0.6)
        self.opacity.setToolTip("Fill opacity of the KML polygons in Google Earth")
        if kind in VECTOR_KINDS:
            form.addRow("Simplify", self.simplify)
            form.addRow("", self.per_patch)
        if kind == "kml":
            form.addRow("Fill opacity", self.opacity)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), self.path_edit.text(), FILTERS[self.kind])
        if path:
            self.path_edit.setText(with_extension(path, self.kind))

    def options(self) -> Optional[ExportOptions]:
        text = self.path_edit.text().strip()
        if not text:
            return None
        return ExportOptions(with_extension(text, self.kind), self.min_area.value(), self.small.currentData(),
                             self.simplify.value(), self.per_patch.isChecked(), self.opacity.value())
