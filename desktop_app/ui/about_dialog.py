"""Help ▸ About: versions of SatSeg, Qt, GDAL, torch, sam2 and the licences of the components.

The licence table is the installers' ``LICENSES/components.json`` (written at
build time, see docs/packaging.md) or, from a checkout, the installed packages.
Every value is plain text in table cells: nothing here is rendered as HTML.
"""
from __future__ import annotations

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from ..core import components


def _plain(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _table(headers: list[str], rows: list[list[str]]) -> QTableWidget:
    t = QTableWidget(len(rows), len(headers))
    t.setHorizontalHeaderLabels(headers)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            t.setItem(r, c, QTableWidgetItem(text))
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


class AboutDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About SatSeg")
        self.resize(640, 600)
        lay = QVBoxLayout(self)
        lay.addWidget(_plain("SatSeg — land-use / land-cover segmentation of Sentinel-2 imagery.\n"
                             "Map: Leaflet and Leaflet-Geoman, loaded from local files."))

        versions = components.versions()
        versions = {"SatSeg": versions.pop("SatSeg"), "Qt": qVersion(), "PySide6": pyside_version} | versions
        self.versions = versions
        form = QFormLayout()
        for name, version in versions.items():
            form.addRow(_plain(f"{name}:"), _plain(version))
        lay.addLayout(form)

        lay.addWidget(_plain("Bundled components and their licences:"))
        self.components = components.installed_components()
        self.licences = _table(["Component", "Version", "Licence"],
                               [[c["name"], c["version"], c["license"]] for c in self.components])
        lay.addWidget(self.licences, 1)

        folder = components.licenses_dir()
        where = QLineEdit(str(folder) if folder.is_dir() else "Licence texts: in each package's own files (checkout)")
        where.setReadOnly(True)
        lay.addWidget(where)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        if folder.is_dir():
            show = QPushButton("Open licence texts")
            show.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
            buttons.addButton(show, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


def show_about(parent) -> None:
    AboutDialog(parent).exec()
