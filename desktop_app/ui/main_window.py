"""Main window. For now it shows the image and what the full UI will bring."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from ..core.errors import SatSegError
from ..core.raster import Raster
from ..core.sources import open_image


def stretch_rgb(raster: Raster, low: float = 2, high: float = 98) -> np.ndarray:
    """Percentile stretch of a 3-band raster to uint8 RGB (rows, cols, 3)."""
    valid = raster.valid_mask
    out = np.zeros((raster.height, raster.width, 3), np.uint8)
    for i in range(3):
        band = raster.data[i]
        lo, hi = np.percentile(band[valid], [low, high]) if valid.any() else (0, 1)
        out[..., i] = (np.clip((band - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    out[~valid] = 0
    return out


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("SatSeg")
        central = QWidget()
        layout = QVBoxLayout(central)
        self.image_label = QLabel("Open an image or the demo scene")
        self.image_label.setAlignment(Qt.AlignCenter)
        self.image_label.setMinimumSize(400, 400)
        self.info = QLabel(
            "SatSeg preview window. Coming next: the Leaflet map with sample drawing, "
            "classifiers with per-class thresholds, masks, area reports and SAM-2 refinement."
        )
        self.info.setWordWrap(True)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(self.info)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready")

    def open_demo(self) -> None:
        from ..core.demo_scene import make_demo_scene

        scene = make_demo_scene()
        self.show_raster(scene.image, "Demo scene (synthetic Sentinel-2, Muzaffarnagar, UTM 43N)")

    def open_image_path(self, path: str) -> None:
        try:
            with open_image(path) as src:
                bands = ["B4", "B3", "B2"] if {"B4", "B3", "B2"} <= set(src.band_names) else src.band_names[:3]
                if len(bands) < 3:
                    bands = [bands[0]] * 3
                self.show_raster(src.preview(1200, bands), path)
        except SatSegError as exc:
            QMessageBox.warning(self, "Cannot open image", str(exc))

    def show_raster(self, raster: Raster, title: str) -> None:
        rgb = stretch_rgb(raster.select(["B4", "B3", "B2"]) if "B4" in raster.band_names else raster)
        rgb = np.ascontiguousarray(rgb)
        img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format_RGB888).copy()
        self.image_label.setPixmap(QPixmap.fromImage(img).scaled(
            760, 760, Qt.KeepAspectRatio, Qt.SmoothTransformation))
        self.statusBar().showMessage(f"{title} — {raster.width} x {raster.height} px, {raster.crs}")
