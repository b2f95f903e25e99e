"""Imagery panel: open a file / Sentinel-2 folder / the demo scene, ROI, online fetch, basemap."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

IMAGE_FILTER = "Images (*.tif *.tiff *.jp2 *.vrt *.img);;All files (*)"


class ImageryPanel(QWidget):
    open_path_requested = Signal(str)
    demo_requested = Signal()
    fetch_requested = Signal()
    draw_roi_requested = Signal(str)   # "Rectangle" | "Polygon"
    clear_roi_requested = Signal()
    basemap_toggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        src = QGroupBox("Open imagery")
        s = QVBoxLayout(src)
        self.open_file = QPushButton("Open image file…")
        self.open_file.setToolTip("A GeoTIFF / COG (any CRS); integer data is read as Sentinel-2 DN / 10000")
        self.open_folder = QPushButton("Open Sentinel-2 folder…")
        self.open_folder.setToolTip("A folder of Sentinel-2 band files (B02.tif …) or a .SAFE product")
        self.open_demo = QPushButton("Open demo scene")
        self.open_demo.setToolTip("Synthetic 12-band Sentinel-2 scene (10 km × 10 km) with sample polygons")
        for b in (self.open_file, self.open_folder, self.open_demo):
            s.addWidget(b)
        lay.addWidget(src)

        roi = QGroupBox("Region of interest")
        r = QVBoxLayout(roi)
        row = QHBoxLayout()
        self.roi_rect = QPushButton("Rectangle")
        self.roi_poly = QPushButton("Polygon")
        self.roi_clear = QPushButton("Clear")
        for b in (self.roi_rect, self.roi_poly, self.roi_clear):
            row.addWidget(b)
        r.addLayout(row)
        self.fetch = QPushButton("Fetch imagery for ROI…")
        self.fetch.setToolTip("Download a Sentinel-2 composite for the ROI (Earth Engine or STAC); "
                              "needs the internet and the online-imagery module")
        self.fetch.setEnabled(False)
        r.addWidget(self.fetch)
        self.roi_label = QLabel("No ROI drawn")
        self.roi_label.setWordWrap(True)
        r.addWidget(self.roi_label)
        lay.addWidget(roi)

        self.basemap = QCheckBox("Online basemap (OpenStreetMap)")
        self.basemap.setToolTip("Off by default: the map then makes no network request at all")
        lay.addWidget(self.basemap)

        self.info = QLabel("No image open")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.PlainText)   # the file name is user text
        lay.addWidget(self.info)
        lay.addStretch(1)

        self.open_file.clicked.connect(self._pick_file)
        self.open_folder.clicked.connect(self._pick_folder)
        self.open_demo.clicked.connect(self.demo_requested)
        self.roi_rect.clicked.connect(lambda: self.draw_roi_requested.emit("Rectangle"))
        self.roi_poly.clicked.connect(lambda: self.draw_roi_requested.emit("Polygon"))
        self.roi_clear.clicked.connect(self.clear_roi_requested)
        self.fetch.clicked.connect(self.fetch_requested)
        self.basemap.toggled.connect(self.basemap_toggled)
        self._has_roi = False

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.open_path_requested.emit(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open Sentinel-2 folder")
        if path:
            self.open_path_requested.emit(path)

    def set_image_info(self, text: str) -> None:
        self.info.setText(text)

    def set_roi(self, description: str | None) -> None:
        self._has_roi = description is not None
        self.roi_label.setText(description or "No ROI drawn")
        self.fetch.setEnabled(self._has_roi)
