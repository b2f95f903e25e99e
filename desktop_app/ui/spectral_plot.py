"""Spectral signatures plot: per-class mean reflectance ± one standard deviation per band.

Bands are placed evenly (not at their wavelengths) so the closely spaced
red-edge bands stay readable; each tick names the band and its centre
wavelength. Classes whose curves overlap a lot will be hard to separate.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..core.raster import S2_WAVELENGTHS_NM, normalize_band_name

# Legend: dark text on a near-opaque white box, beside the plot rather than over the curves.
LEGEND_TEXT_COLOR = "#1a1a1a"
LEGEND_BRUSH = (255, 255, 255, 230)
LEGEND_PEN = (170, 170, 170)
LEGEND_ROWS_PER_COLUMN = 8
EMPTY_TEXT = "No spectra yet: draw training polygons on the image (spectra appear once their pixels are read)."


def band_tick(name: str) -> str:
    """'B8A\\n865' (centre wavelength in nm) for Sentinel-2 bands, the plain name otherwise."""
    nm = S2_WAVELENGTHS_NM.get(normalize_band_name(str(name)))
    return f"{name}\n{nm}" if nm else str(name)


class SideLegend(pg.LegendItem):
    """A legend that lives in the plot's layout (a column right of the axes), not over the data.

    pyqtgraph's own legend floats on the view box and covers the curves it
    names; inside the layout it takes its own space, so the layout must be
    told when its entries change size.
    """

    def __init__(self) -> None:
        super().__init__(offset=None, brush=LEGEND_BRUSH, pen=LEGEND_PEN, labelTextColor=LEGEND_TEXT_COLOR,
                         labelTextSize="9pt", verSpacing=-2)
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.layout.setContentsMargins(6, 4, 8, 4)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)

    def updateSize(self) -> None:
        # Instead of setting its own geometry (which fights the layout), ask for a new size.
        self.layout.invalidate()
        self.updateGeometry()

    def boundingRect(self):
        return self.rect()

    def mouseDragEvent(self, ev) -> None:
        ev.ignore()   # it has a place in the layout; dragging it around would only hide curves again


class SpectralPlot(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(self, background="w")
        self.plot.setLabel("left", "Surface reflectance (0–1)")
        self.plot.setLabel("bottom", "Band / centre wavelength (nm)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)   # reflectance is 0–1, never "×0.001"
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMouseEnabled(x=False, y=True)
        self.plot.setMenuEnabled(False)
        self.plot.getAxis("bottom").setHeight(44)
        item = self.plot.getPlotItem()
        self.legend = SideLegend()
        # Row 2 is the view box's row; column 3 is right of the right-hand axis column.
        item.layout.addItem(self.legend, 2, 3, alignment=Qt.AlignTop | Qt.AlignLeft)
        item.layout.setColumnStretchFactor(3, 0)
        item.layout.setColumnSpacing(2, 8)                     # a gap between the last band and the box
        item.layout.setContentsMargins(1, 1, 6, 1)             # and room for its right-hand border
        item.legend = self.legend          # plot(name=...) adds its entry here
        self.plot.setToolTip("Mean reflectance of each class's training pixels; the shaded band is ± one "
                             "standard deviation. Classes whose bands overlap are hard to tell apart.")
        self.empty_label = QLabel(EMPTY_TEXT, self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.plot, 1)
        self.signatures: list = []
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.fills: dict[int, pg.FillBetweenItem] = {}
        self.set_signatures([])

    def clear(self) -> None:
        self.set_signatures([])

    def set_signatures(self, signatures: Sequence) -> None:
        """Show ``core.signatures.Signature`` objects (class_id, name, color, band_names, mean, std, pixels)."""
        self.signatures = list(signatures)
        self.plot.clear()
        self.legend.clear()
        self.curves, self.fills = {}, {}
        self.empty_label.setVisible(not self.signatures)
        if not self.signatures:
            self.plot.getAxis("bottom").setTicks([[]])
            return
        bands = list(self.signatures[0].band_names)
        x = np.arange(len(bands), dtype=float)
        self.plot.getAxis("bottom").setTicks([[(float(i), band_tick(b)) for i, b in enumerate(bands)]])
        per_class: dict[int, int] = {}
        for sig in self.signatures:
            per_class[sig.class_id] = per_class.get(sig.class_id, 0) + 1
        self.all_curves = []
        for sig in self.signatures:
            mean = np.asarray(sig.mean, float)
            std = np.asarray(sig.std, float)
            color = QColor(sig.color)
            if per_class[sig.class_id] > 1:
                # Several signatures per class (per polygon / auto): every one in the class colour,
                # thin and without a ± std band; one legend entry per class.
                first = sig.class_id not in self.curves
                total = sum(int(s.pixels) for s in self.signatures if s.class_id == sig.class_id)
                curve = self.plot.plot(x, mean, pen=pg.mkPen(color, width=1.2), symbol="o", symbolSize=3,
                                       symbolBrush=color, symbolPen=color,
                                       name=(f"{sig.name.rsplit('/', 1)[0]}: {per_class[sig.class_id]} signatures "
                                             f"({total:,} px)") if first else None)
                self.curves.setdefault(sig.class_id, curve)
                self.all_curves.append(curve)
                continue
            fill = QColor(color)
            fill.setAlpha(55)
            upper = pg.PlotCurveItem(x, mean + std, pen=pg.mkPen(None))
            lower = pg.PlotCurveItem(x, mean - std, pen=pg.mkPen(None))
            band = pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(fill))
            self.plot.addItem(upper)
            self.plot.addItem(lower)
            self.plot.addItem(band)
            curve = self.plot.plot(x, mean, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                                   symbolBrush=color, symbolPen=color,
                                   name=f"{sig.name} ({int(sig.pixels):,} px)")
            self.curves[sig.class_id] = curve
            self.fills[sig.class_id] = band
            self.all_curves.append(curve)
        self.legend.setColumnCount(1 + (len(self.curves) - 1) // LEGEND_ROWS_PER_COLUMN)
        self.plot.setXRange(-0.5, len(bands) - 0.5, padding=0)
        self.plot.enableAutoRange(axis="y")
