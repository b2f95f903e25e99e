"""Region-growing map tool: click a pixel, watch the region grow, accept it as a sample polygon.

The preview is recomputed on the UI thread (it reads only the window around the seed; a few
milliseconds on the demo scene, see README) whenever the click, the distance limit or the radius
changes; the time it took is shown. Accepting adds the polygon to the sample model for the
current class, as training or validation, as one undoable step. Rule: docs/analysis.md.
"""
from __future__ import annotations

import time
from typing import Optional

import shapely
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QSpinBox)

from ..core.errors import SatSegError

PREVIEW_ID = "grow_preview"


class RegionGrowTool(QGroupBox):
    """Controls of the tool; ``window`` gives the document, the map bridge and the sample model."""

    accepted = Signal(str)      # role of the polygon just added

    def __init__(self, window, parent=None) -> None:
        super().__init__("Grow a sample from a pixel", parent)
        self.window = window
        self.seed: Optional[tuple[int, int]] = None
        self.region = None
        self.geometry: Optional[dict] = None
        self.timings_ms: list[float] = []

        self.pick = QPushButton("Click on the map…")
        self.pick.setCheckable(True)
        self.pick.setToolTip("Then click a pixel: connected pixels within the distance limit and radius join it")
        self.dist = QDoubleSpinBox()
        self.dist.setRange(0.001, 1.0)
        self.dist.setDecimals(3)
        self.dist.setSingleStep(0.005)
        self.dist.setValue(0.05)
        self.dist.setToolTip("Spectral distance limit: Euclidean distance to the clicked pixel in reflectance "
                             "(0..1) over the classifier bands")
        self.dist_slider = QSlider(Qt.Orientation.Horizontal)
        self.dist_slider.setRange(1, 300)          # thousandths of reflectance
        self.dist_slider.setValue(50)
        self.radius = QSpinBox()
        self.radius.setRange(1, 500)
        self.radius.setValue(60)
        self.radius.setSuffix(" px")
        self.radius.setToolTip("Maximum radius around the clicked pixel, in pixels")
        self.radius_slider = QSlider(Qt.Orientation.Horizontal)
        self.radius_slider.setRange(1, 500)
        self.radius_slider.setValue(60)
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.accept_training = QPushButton("Add as training")
        self.accept_validation = QPushButton("Add as validation")
        self.clear_btn = QPushButton("Clear")
        for b in (self.accept_training, self.accept_validation, self.clear_btn):
            b.setEnabled(False)

        grid = QGridLayout(self)
        grid.addWidget(self.pick, 0, 0, 1, 3)
        grid.addWidget(QLabel("Distance"), 1, 0)
        grid.addWidget(self.dist_slider, 1, 1)
        grid.addWidget(self.dist, 1, 2)
        grid.addWidget(QLabel("Radius"), 2, 0)
        grid.addWidget(self.radius_slider, 2, 1)
        grid.addWidget(self.radius, 2, 2)
        grid.addWidget(self.info, 3, 0, 1, 3)
        row = QHBoxLayout()
        row.addWidget(self.accept_training)
        row.addWidget(self.accept_validation)
        row.addWidget(self.clear_btn)
        grid.addLayout(row, 4, 0, 1, 3)

        # Slider drags coalesce into one recompute per event-loop turn.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.update_preview)
        self.dist_slider.valueChanged.connect(lambda v: self.dist.setValue(v / 1000))
        self.dist.valueChanged.connect(self._dist_changed)
        self.radius_slider.valueChanged.connect(self.radius.setValue)
        self.radius.valueChanged.connect(self._radius_changed)
        self.pick.toggled.connect(self._pick_toggled)
        self.accept_training.clicked.connect(lambda: self.accept("training"))
        self.accept_validation.clicked.connect(lambda: self.accept("validation"))
        self.clear_btn.clicked.connect(self.clear)
        window.map.bridge.map_clicked.connect(self.on_map_click)

    # ---------------------------------------------------------------- controls
    def _dist_changed(self, v: float) -> None:
        self.dist_slider.blockSignals(True)
        self.dist_slider.setValue(int(round(v * 1000)))
        self.dist_slider.blockSignals(False)
        self._timer.start()

    def _radius_changed(self, v: int) -> None:
        self.radius_slider.blockSignals(True)
        self.radius_slider.setValue(v)
        self.radius_slider.blockSignals(False)
        self._timer.start()

    def _pick_toggled(self, on: bool) -> None:
        self.window.map.bridge.send("set_pick_mode", on=on,
                                    hint="Click a pixel to grow a region; press Picking again to stop")
        self.pick.setText("Picking: click on the map" if on else "Click on the map…")

    def set_active(self, on: bool) -> None:
        self.pick.setChecked(on)

    # ---------------------------------------------------------------- work
    def on_map_click(self, lonlat) -> None:
        if not self.pick.isChecked() or self.window.doc is None:
            return
        from ..core.display import pixel_at

        doc = self.window.doc
        rc = pixel_at(doc.transform, doc.crs, doc.width, doc.height, *lonlat)
        if rc is None:
            self.info.setText("That point is outside the image.")
            return
        self.seed = rc
        self.update_preview()

    def update_preview(self) -> None:
        """Grow from the current seed with the current settings and draw the result."""
        doc = self.window.doc
        if self.seed is None or doc is None:
            return
        from ..core.analysis.region_growing import grow_region
        from ..core.geo import WGS84, transform_geometry

        t0 = time.perf_counter()
        # Reflectance bands the classifier uses; index bands are left out (not reflectance, other scale).
        index_names = {i.name for i in getattr(doc, "indices", [])}
        bands = [b for b in self.window.bands_panel.classifier_bands() if b not in index_names] or None
        try:
            region = grow_region(doc.image, self.seed[0], self.seed[1], self.dist.value(), self.radius.value(),
                                 bands=bands)
        except SatSegError as exc:
            self.info.setText(str(exc))
            self._clear_preview()
            return
        geom = transform_geometry(region.polygon(), doc.crs, WGS84)
        self.region, self.geometry = region, shapely.geometry.mapping(geom)
        cls = self.window.model.class_info(self.window.model.current_class())
        color = cls.color if cls else "#ffffff"
        self.window.map.bridge.send("set_overlay", id=PREVIEW_ID, geojson=self.geometry, color=color,
                                    dash="4 3", weight=2, fill=0.35)
        ms = (time.perf_counter() - t0) * 1000
        self.timings_ms.append(ms)
        del self.timings_ms[:-100]
        name = cls.name if cls else "no class"
        self.info.setText(f"{region.pixels} px for {name} · preview {ms:.0f} ms")
        for b in (self.accept_training, self.accept_validation, self.clear_btn):
            b.setEnabled(cls is not None)

    def accept(self, role: str) -> None:
        if self.geometry is None:
            return
        pid = self.window.model.add_polygon(self.geometry, role=role)
        if pid:
            self.accepted.emit(role)
            self._clear_preview()
            self.info.setText(f"Added as {role} polygon (Ctrl+Z undoes). Click another pixel.")

    def clear(self) -> None:
        self._clear_preview()
        self.info.setText("")

    def _clear_preview(self) -> None:
        self.seed, self.region, self.geometry = None, None, None
        self.window.map.bridge.send("remove_overlay", id=PREVIEW_ID)
        for b in (self.accept_training, self.accept_validation, self.clear_btn):
            b.setEnabled(False)
