"""Spectral signatures plot: per-class mean reflectance ± one standard deviation per band.

Reflectance bands are drawn in wavelength order, placed evenly (not at their
wavelengths) so the closely spaced red-edge bands stay readable; each tick
names the band and its centre wavelength. Index bands (NDVI …, docs/analysis.md
"Indices") are not reflectance: they range over −1..1 and are separate
quantities, so they get a narrow plot of their own on the right, with their own
axis, as points ± one standard deviation and no line joining them.
Classes whose curves overlap a lot will be hard to separate.
"""
from __future__ import annotations

import os
from typing import Iterable, Optional, Sequence

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..core.analysis.indices import BUILTIN_INDICES
from ..core.raster import S2_WAVELENGTHS_NM, normalize_band_name

# Legend: dark text on a near-opaque white box, beside the plots rather than over the curves.
LEGEND_TEXT_COLOR = "#1a1a1a"
LEGEND_BRUSH = (255, 255, 255, 230)
LEGEND_PEN = (170, 170, 170)
LEGEND_ROWS_PER_COLUMN = 8
AXIS_HEIGHT = 44            # both bottom axes alike, so the two plots' data areas line up
INDEX_MIN_SLOT_PX = 30      # the index plot: at least its axis and this much per index
INDEX_AXIS_PX = 64
UNLIMITED_PX = 16_777_215   # Qt's QWIDGETSIZE_MAX
EMPTY_TEXT = "No spectra yet: draw training polygons on the image (spectra appear once their pixels are read)."


def band_tick(name: str) -> str:
    """'B8A\\n865' (centre wavelength in nm) for Sentinel-2 bands, the plain name otherwise."""
    nm = S2_WAVELENGTHS_NM.get(normalize_band_name(str(name)))
    return f"{name}\n{nm}" if nm else str(name)


def split_bands(bands: Sequence[str], index_names: Iterable[str] = ()) -> tuple[list[int], list[int]]:
    """(reflectance band positions in wavelength order, index band positions in given order).

    A band is an index when it is named in ``index_names`` (the image's index
    bands) or is a built-in index name such as NDVI. Bands without a known
    wavelength keep their order, after the Sentinel-2 bands.
    """
    names = {str(n).upper() for n in index_names} | set(BUILTIN_INDICES)
    index = [i for i, b in enumerate(bands) if str(b).upper() in names]
    refl = [i for i in range(len(bands)) if i not in index]
    nm = [S2_WAVELENGTHS_NM.get(normalize_band_name(str(bands[i]))) for i in refl]
    order = sorted(range(len(refl)), key=lambda k: (nm[k] is None, nm[k] or 0, k))
    return [refl[k] for k in order], index


class SideLegend(pg.LegendItem):
    """A legend that lives in the layout (a column right of the plots), not over the data.

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


def _setup(plot: pg.PlotItem, left: str, bottom: str) -> None:
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)   # reflectance is 0–1, never "×0.001"
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMouseEnabled(x=False, y=True)
    plot.setMenuEnabled(False)
    plot.getAxis("bottom").setHeight(AXIS_HEIGHT)


class SpectralPlot(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground("w")
        self.plot: pg.PlotItem = self.view.addPlot(row=0, col=0)
        _setup(self.plot, "Surface reflectance (0–1)", "Band / centre wavelength (nm)")
        self.index_plot: pg.PlotItem = self.view.addPlot(row=0, col=1)
        _setup(self.index_plot, "Index value", "Spectral index")
        self.index_zero = pg.InfiniteLine(0, angle=0, pen=pg.mkPen((120, 120, 120), width=1, style=Qt.DashLine))
        self.legend = SideLegend()
        self.plot.legend = self.index_plot.legend = self.legend    # plot(name=...) adds its entry here
        layout = self.view.ci.layout
        layout.addItem(self.legend, 0, 2, alignment=Qt.AlignTop | Qt.AlignLeft)
        layout.setColumnStretchFactor(2, 0)
        layout.setHorizontalSpacing(8)                       # a gap between the last point and the box
        layout.setContentsMargins(1, 1, 6, 1)                # and room for its right-hand border
        self.view.setToolTip("Mean reflectance of each class's training pixels; the shaded band is ± one "
                             "standard deviation. Index bands (NDVI …) are on the right, on their own axis, "
                             "as mean ± one standard deviation. Classes whose bands overlap are hard to tell apart.")
        self.empty_label = QLabel(EMPTY_TEXT, self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignCenter)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.empty_label)
        box.addWidget(self.view, 1)
        self.signatures: list = []
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.fills: dict[int, pg.FillBetweenItem] = {}
        self.index_points: dict[int, pg.PlotDataItem] = {}
        self.index_bars: dict[int, pg.ErrorBarItem] = {}
        self.set_signatures([])

    def clear(self) -> None:
        self.set_signatures([])

    def set_signatures(self, signatures: Sequence, index_names: Iterable[str] = ()) -> None:
        """Show ``core.signatures.Signature`` objects (class_id, name, color, band_names, mean, std, pixels).

        ``index_names``: which bands are spectral indices (the image's index
        bands); built-in index names (NDVI …) count as indices anyway.
        """
        self.signatures = list(signatures)
        for p in (self.plot, self.index_plot):
            p.clear()
        self.legend.clear()
        self.curves, self.fills, self.index_points, self.index_bars = {}, {}, {}, {}
        self.empty_label.setVisible(not self.signatures)
        bands = list(self.signatures[0].band_names) if self.signatures else []
        refl, index = split_bands(bands, index_names)
        self.reflectance_bands = [bands[i] for i in refl]
        self.index_bands = [bands[i] for i in index]
        self.plot.getAxis("bottom").setTicks([[(float(k), band_tick(bands[i])) for k, i in enumerate(refl)]])
        # Index names are wider than a band's slot: from four on, every other one goes a line lower.
        stagger = len(index) >= 4
        self.index_plot.getAxis("bottom").setTicks([[(float(k), ("\n" if stagger and k % 2 else "") + str(bands[i]))
                                                     for k, i in enumerate(index)]])
        self._show_index_plot(len(refl), len(index))
        if not self.signatures:
            return
        per_class: dict[int, int] = {}
        for sig in self.signatures:
            per_class[sig.class_id] = per_class.get(sig.class_id, 0) + 1
        # Each class's index points sit a little apart so their error bars do not hide each other.
        dodge = {cid: k for k, cid in enumerate(per_class)}
        step = min(0.5 / max(len(per_class), 1), 0.12)
        x = np.arange(len(refl), dtype=float)
        self.all_curves = []
        for sig in self.signatures:
            mean = np.asarray(sig.mean, float)
            std = np.asarray(sig.std, float)
            color = QColor(sig.color)
            several = per_class[sig.class_id] > 1
            first = sig.class_id not in self.curves and sig.class_id not in self.index_points
            if several:
                # Several signatures per class (per polygon / auto): every one in the class colour,
                # thin and without a ± std band; one legend entry per class.
                total = sum(int(s.pixels) for s in self.signatures if s.class_id == sig.class_id)
                name = (f"{sig.name.rsplit('/', 1)[0]}: {per_class[sig.class_id]} signatures "
                        f"({total:,} px)") if first else None
                pen, size = pg.mkPen(color, width=1.2), 3
            else:
                name, pen, size = f"{sig.name} ({int(sig.pixels):,} px)", pg.mkPen(color, width=2), 6
            if refl and not several:
                fill = QColor(color)
                fill.setAlpha(55)
                upper = pg.PlotCurveItem(x, mean[refl] + std[refl], pen=pg.mkPen(None))
                lower = pg.PlotCurveItem(x, mean[refl] - std[refl], pen=pg.mkPen(None))
                band = pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(fill))
                for item in (upper, lower, band):
                    self.plot.addItem(item)
                self.fills[sig.class_id] = band
            if refl:
                curve = self.plot.plot(x, mean[refl], pen=pen, symbol="o", symbolSize=size, symbolBrush=color,
                                       symbolPen=color, name=name)
                self.curves.setdefault(sig.class_id, curve)
                self.all_curves.append(curve)
            if index:
                xi = np.arange(len(index), dtype=float) + (dodge[sig.class_id] - (len(per_class) - 1) / 2) * step
                points = self.index_plot.plot(xi, mean[index], pen=None, symbol="o", symbolSize=size + 1,
                                              symbolBrush=color, symbolPen=color, name=None if refl else name)
                self.index_points.setdefault(sig.class_id, points)
                if not several:
                    bars = pg.ErrorBarItem(x=xi, y=mean[index], height=2 * std[index], beam=0.08,
                                           pen=pg.mkPen(color, width=1.5))
                    self.index_plot.addItem(bars)
                    self.index_bars[sig.class_id] = bars
        self.legend.setColumnCount(1 + (len(per_class) - 1) // LEGEND_ROWS_PER_COLUMN)
        self.plot.setXRange(-0.5, len(refl) - 0.5, padding=0)
        self.plot.enableAutoRange(axis="y")
        if index:
            self.index_plot.addItem(self.index_zero)
            self.index_plot.setXRange(-0.5, len(index) - 0.5, padding=0)
            self.index_plot.enableAutoRange(axis="y")

    def _show_index_plot(self, n_bands: int, n: int) -> None:
        """The index plot only when there are index bands. The two plots share the width in
        proportion to their bands and indices, so an index gets about as much room as a band."""
        self.index_plot.setVisible(n > 0)
        # Both start from their axis plus a minimal slot each; the rest is shared by the stretch factors.
        self.plot.setPreferredWidth(INDEX_AXIS_PX + INDEX_MIN_SLOT_PX * n_bands)
        self.index_plot.setMinimumWidth(INDEX_AXIS_PX + INDEX_MIN_SLOT_PX * n if n else 0)
        self.index_plot.setPreferredWidth(INDEX_AXIS_PX + INDEX_MIN_SLOT_PX * n if n else 0)
        self.index_plot.setMaximumWidth(UNLIMITED_PX if n else 0)         # hidden: no room
        layout = self.view.ci.layout
        layout.setColumnStretchFactor(0, max(n_bands, 1))
        layout.setColumnStretchFactor(1, n)
