"""SpectralPlot: one mean curve ± std band per class, band names with wavelengths on the axis."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from desktop_app.core.signatures import Signature
from desktop_app.ui.spectral_plot import EMPTY_TEXT, SpectralPlot, band_tick

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
