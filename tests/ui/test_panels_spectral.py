"""SpectralPlot: one mean curve ± std band per class, band names with wavelengths on the axis;
index bands (NDVI …) on a plot and axis of their own."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from desktop_app.core.signatures import Signature
from desktop_app.ui.spectral_plot import EMPTY_TEXT, SpectralPlot, band_tick, pg, split_bands

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
    view = plot.plot.vb.sceneBoundingRect()
    box = legend.sceneBoundingRect()
    assert box.width() > 50 and box.height() > 5 * 10
    assert box.left() >= view.right() - 0.5
    assert box.right() <= plot.view.width() + 0.5
    assert not plot.index_plot.isVisible()                # no index bands: no index plot, no room for it
    assert box.left() - view.right() < 70
    # Many classes wrap into more columns instead of running off the bottom.
    plot.set_signatures([sig(i, f"class {i}", "#1f78b4", 0.01 * i) for i in range(1, 13)])
    assert legend.columnCount == 2
    qtbot.waitUntil(lambda: legend.sceneBoundingRect().width() > 1.5 * box.width(), timeout=3000)
    assert legend.sceneBoundingRect().left() >= plot.plot.vb.sceneBoundingRect().right() - 0.5


def test_split_bands_puts_reflectance_in_wavelength_order_and_indices_apart():
    bands = ["B8", "B02", "NDVI", "B11", "B4", "WET", "B8A"]
    refl, index = split_bands(bands, ["WET"])
    assert [bands[i] for i in refl] == ["B02", "B4", "B8", "B8A", "B11"]     # 490, 665, 842, 865, 1610 nm
    assert [bands[i] for i in index] == ["NDVI", "WET"]
    # Bands of unknown wavelength keep their order, after the Sentinel-2 ones; ndvi in any case is an index.
    assert split_bands(["red", "B3", "nir", "ndvi"]) == ([1, 0, 2], [3])


def test_indices_get_their_own_plot_and_axis(plot, qtbot):
    bands = ["B8", "B2", "B4", "B11", "NDVI", "WET"]           # reflectance out of wavelength order, two indices
    water = Signature(1, "water", "#1f78b4", bands, np.array([0.02, 0.06, 0.04, 0.01, -0.45, 0.8]),
                      np.array([0.01, 0.01, 0.01, 0.005, 0.05, 0.1]), np.zeros(6), np.ones(6), 300)
    crop = Signature(3, "crop", "#33a02c", bands, np.array([0.42, 0.03, 0.04, 0.22, 0.83, -0.3]),
                     np.array([0.03, 0.01, 0.01, 0.02, 0.04, 0.06]), np.zeros(6), np.ones(6), 500)
    plot.resize(900, 260)
    plot.show()
    plot.set_signatures([water, crop], index_names=["WET"])
    # Reflectance: B2, B4, B8, B11 (wavelength order), nothing else on that axis.
    assert [t for _, t in plot.plot.getAxis("bottom")._tickLevels[0]] == ["B2\n490", "B4\n665", "B8\n842",
                                                                           "B11\n1610"]
    x, y = plot.curves[3].getData()
    assert np.allclose(x, [0, 1, 2, 3]) and np.allclose(y, [0.03, 0.04, 0.42, 0.22])
    assert np.allclose(plot.fills[3].curves[1].getData()[1], [0.02, 0.03, 0.39, 0.20])     # mean - std
    assert plot.plot.getAxis("left").labelText.startswith("Surface reflectance")
    # Indices: their own plot with a labelled axis, points ± std, no line joining them.
    assert plot.index_plot.isVisible()
    assert [t for _, t in plot.index_plot.getAxis("bottom")._tickLevels[0]] == ["NDVI", "WET"]
    assert plot.index_plot.getAxis("left").labelText == "Index value"
    xi, yi = plot.index_points[1].getData()
    assert np.allclose(yi, [-0.45, 0.8]) and np.allclose(np.round(xi), [0, 1])
    assert plot.index_points[1].opts["pen"] is None
    assert np.allclose(plot.index_bars[3].opts["height"], [0.08, 0.12])
    # The reflectance axis no longer stretches to hold index values; the index axis holds them all.
    qtbot.waitUntil(lambda: plot.plot.vb.viewRange()[1][1] < 0.6, timeout=3000)
    low, high = plot.plot.vb.viewRange()[1]
    assert low > -0.1 and high > 0.42
    ilow, ihigh = plot.index_plot.vb.viewRange()[1]
    assert ilow < -0.45 and ihigh > 0.83
    # Side by side: reflectance, then indices, then the legend; none covers another.
    qtbot.waitUntil(lambda: plot.legend.sceneBoundingRect().height() > 2 * 10
                    and plot.index_plot.vb.sceneBoundingRect().width() > 40, timeout=3000)    # the layout settles
    qtbot.wait(50)
    refl_box = plot.plot.vb.sceneBoundingRect()
    index_box = plot.index_plot.vb.sceneBoundingRect()
    legend = plot.legend.sceneBoundingRect()
    assert refl_box.right() <= index_box.left() and index_box.right() <= legend.left() + 0.5
    # An index gets about the room of a band (the plots share the width by their counts).
    assert 0.6 < (index_box.width() / 2) / (refl_box.width() / 4) < 1.7
    assert not plot.index_plot.getAxis("bottom").autoSIPrefix       # no "(x0.001)" under two ticks
    assert abs(refl_box.bottom() - index_box.bottom()) < 1                 # the two data areas line up
    assert [label.text for _, label in plot.legend.items] == ["water (300 px)", "crop (500 px)"]
    # Index bands gone again: the index plot goes with them.
    plot.set_signatures([Signature(1, "water", "#1f78b4", bands[:4], water.mean[:4], water.std[:4],
                                   np.zeros(4), np.ones(4), 300)])
    assert not plot.index_plot.isVisible() and plot.index_points == {}


def test_many_index_names_take_two_lines(plot):
    bands = ["B3", "B4", "B8", "NDVI", "NDWI", "MNDWI", "NDBI"]
    plot.set_signatures([Signature(1, "water", "#1f78b4", bands, np.linspace(0, 0.6, 7), np.full(7, 0.01),
                                   np.zeros(7), np.ones(7), 10)])
    labels = [t for _, t in plot.index_plot.getAxis("bottom")._tickLevels[0]]
    assert labels == ["NDVI", "\nNDWI", "MNDWI", "\nNDBI"]
