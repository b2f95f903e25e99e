"""SpectralPlot: one mean curve ± std band per class, band names with wavelengths on the axis."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from desktop_app.core.signatures import Signature
from desktop_app.ui.spectral_plot import EMPTY_TEXT, SpectralPlot, band_tick, pg

BANDS = ["B2", "B3", "B4", "B8", "B8A", "B11"]


def sig(cid, name, color, level):
    mean = np.linspace(level, level + 0.1, len(BANDS))
    std = np.full(len(BANDS), 0.02)
    return Signature(cid, name, color, BANDS, mean, std, mean - 0.05, mean + 0.05, 1234)


@pytest.fixture
def plot(qtbot):
    p = SpectralPlot()
    qtbot.addWidget(p)
    p.resize(500, 320)
    return p


def test_band_ticks_show_wavelengths():
    assert band_tick("B8A") == "B8A\n865"
    assert band_tick("B02") == "B02\n490"
    assert band_tick("ndvi") == "ndvi"


def test_curves_and_std_bands_per_class(plot, tmp_path):
    plot.set_signatures([sig(1, "water", "#1f78b4", 0.05), sig(3, "forest", "#1b7837", 0.2)])
    assert set(plot.curves) == {1, 3}
    x, y = plot.curves[3].getData()
    assert np.allclose(x, np.arange(len(BANDS)))
    assert np.allclose(y, np.linspace(0.2, 0.3, len(BANDS)))
    upper = plot.fills[3].curves[0].getData()[1]
    assert np.allclose(upper, y + 0.02)
    assert plot.curves[1].opts["pen"].color().name() == "#1f78b4"
    labels = [label.text for _, label in plot.legend.items]
    assert labels == ["water (1,234 px)", "forest (1,234 px)"]
    ticks = plot.plot.getAxis("bottom")._tickLevels[0]
    assert ticks[4] == (4.0, "B8A\n865")
    assert not plot.empty_label.isVisibleTo(plot)
    plot.show()
    assert not plot.grab().isNull()


def test_update_and_clear(plot):
    plot.set_signatures([sig(1, "water", "#1f78b4", 0.05)])
    plot.set_signatures([sig(2, "urban", "#e31a1c", 0.15)])
    assert set(plot.curves) == {2} and len(plot.legend.items) == 1
    plot.clear()
    assert plot.curves == {} and plot.empty_label.text() == EMPTY_TEXT
    assert plot.empty_label.isVisibleTo(plot)


def test_legend_is_legible_and_beside_the_curves(plot, qtbot):
    plot.resize(900, 260)
    plot.show()
    plot.set_signatures([sig(i, f"class {i}", "#1f78b4", 0.05 * i) for i in range(1, 6)])
    legend = plot.legend
    qtbot.waitUntil(lambda: legend.sceneBoundingRect().height() > 5 * 10, timeout=3000)   # the layout settles
    assert [label.text for _, label in legend.items][0] == "class 1 (1,234 px)"
    # Dark text on a (nearly) opaque white box.
    text = pg.mkColor(legend.items[0][1].opts["color"])
    assert max(text.red(), text.green(), text.blue()) < 64
    brush = legend.opts["brush"].color()
    assert (brush.red(), brush.green(), brush.blue()) == (255, 255, 255) and brush.alpha() >= 200
    # Its own column of the layout, right of the data: it covers no part of the view box.
    view = plot.plot.getPlotItem().vb.sceneBoundingRect()
    box = legend.sceneBoundingRect()
    assert box.width() > 50 and box.height() > 5 * 10
    assert box.left() >= view.right() - 0.5
    assert box.right() <= plot.plot.width() + 0.5
    # Many classes wrap into more columns instead of running off the bottom.
    plot.set_signatures([sig(i, f"class {i}", "#1f78b4", 0.01 * i) for i in range(1, 13)])
    assert legend.columnCount == 2
    qtbot.waitUntil(lambda: legend.sceneBoundingRect().width() > 1.5 * box.width(), timeout=3000)
    assert legend.sceneBoundingRect().left() >= plot.plot.getPlotItem().vb.sceneBoundingRect().right() - 0.5
