"""Region growing on hand-made rasters: distance limit, radius, connectivity, nodata."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.analysis.region_growing import grow_region, grow_region_array
from desktop_app.core.errors import SatSegError
from desktop_app.core.raster import Raster


def _field():
    # 7 x 7, one band: a plus-shaped field of 0.30 in 0.10 background, a look-alike patch of 0.30
    # that touches the field only diagonally (not 4-connected), and a 0.33 pixel inside the field.
    a = np.full((7, 7), 0.10, np.float32)
    a[3, 1:6] = 0.30
    a[1:6, 3] = 0.30
    a[3, 4] = 0.33
    a[0, 0] = a[1, 1] = 0.30      # diagonal neighbour chain, far from the plus
    a[2, 2] = 0.30                # 4-adjacent to (2,3) of the plus: joins
    return a[None]


def test_distance_limit_and_four_connectivity():
    data = _field()
    m = grow_region_array(data, (3, 3), max_distance=0.02, max_radius=10)
    expected = np.zeros((7, 7), bool)
    expected[3, 1:6] = True
    expected[1:6, 3] = True
    expected[3, 4] = False        # 0.03 away from the seed: outside a 0.02 limit ...
    expected[3, 5] = False        # ... which cuts (3,5) off: similar, but no longer connected
    expected[2, 2] = True         # 4-adjacent to (2,3)
    assert (m == expected).all()
    # (1,1) touches (2,2) only diagonally, (0,0) is further: both stay out
    assert not m[1, 1] and not m[0, 0]
    loose = grow_region_array(data, (3, 3), max_distance=0.05, max_radius=10)
    assert loose[3, 4] and loose[3, 5] and loose.sum() == expected.sum() + 2


def test_radius_is_a_disc_around_the_seed():
    data = np.zeros((1, 9, 9), np.float32)
    m = grow_region_array(data, (4, 4), max_distance=0.0, max_radius=2)
    rows, cols = np.nonzero(m)
    assert ((rows - 4) ** 2 + (cols - 4) ** 2 <= 4).all()
    assert m.sum() == 13            # lattice points in a disc of radius 2


def test_euclidean_distance_over_several_bands_and_nodata():
    data = np.zeros((2, 3, 3), np.float32)
    data[:, 0, 1] = [0.03, 0.04]    # distance exactly 0.05
    data[:, 1, 0] = [0.04, 0.04]    # 0.0566
    nodata = np.zeros((3, 3), bool)
    nodata[1, 1] = True
    m = grow_region_array(data, (0, 0), 0.05, 5, nodata)
    assert m[0, 1] and not m[1, 0] and not m[1, 1]
    with pytest.raises(SatSegError, match="no data"):
        grow_region_array(data, (1, 1), 0.05, 5, nodata)


def test_grow_region_reads_only_a_window_and_returns_a_polygon_on_the_ground():
    data = np.zeros((1, 50, 60), np.float32)
    data[0, 10:20, 30:45] = 0.5    # a 10 x 15 px rectangle
    r = Raster(data, Affine(10, 0, 500000, 0, -10, 3000000), CRS.from_epsg(32643), ["B1"])
    g = grow_region(r, 15, 35, max_distance=0.1, max_radius=30)
    assert g.pixels == 150
    poly = g.polygon()
    assert poly.area == pytest.approx(150 * 100)
    assert poly.bounds == (500300.0, 2999800.0, 500450.0, 2999900.0)
    with pytest.raises(SatSegError, match="outside the image"):
        grow_region(r, 60, 1, 0.1, 5)
