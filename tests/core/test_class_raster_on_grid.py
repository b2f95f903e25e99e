"""A class raster read onto another grid (nearest neighbour, by windows): what the app draws an EE result with."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.classes import ClassInfo, read_class_raster_on_grid, write_class_raster
from desktop_app.core.errors import SatSegError

UTM = CRS.from_epsg(32643)
T = Affine(10, 0, 500000, 0, -10, 3300000)
CLASSES = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "water", "#0000ff")]


def test_coarser_shifted_raster_lands_on_the_grid_by_nearest_neighbour_over_many_windows(tmp_path):
    # The target grid needs 3 x 2 windows of 1024 px; the raster has 20 m pixels from target pixel (col 6, row 4).
    h, w = 1300, 2500
    sh, sw = 600, 1200
    rows, cols = np.indices((sh, sw))
    src = ((rows // 13 + cols // 17) % 3).astype(np.uint8)
    src[:50, :50] = 255
    path = tmp_path / "ee.tif"
    write_class_raster(path, src, Affine(20, 0, T.c + 60, 0, -20, T.f - 40), UTM, CLASSES)
    before = path.read_bytes()
    steps = []
    from desktop_app.core.jobs import Job

    got, classes, resampled = read_class_raster_on_grid(path, h, w, T, UTM, Job(lambda f, m: steps.append(f)))
    # By hand: target pixel (r, c) has its centre in source pixel ((r + 0.5 - 4) / 2, (c + 0.5 - 6) / 2).
    r, c = np.indices((h, w))
    sr, sc = np.floor((r + 0.5 - 4) / 2).astype(int), np.floor((c + 0.5 - 6) / 2).astype(int)
    inside = (sr >= 0) & (sr < sh) & (sc >= 0) & (sc < sw)
    want = np.full((h, w), 255, np.uint8)
    want[inside] = src[sr[inside], sc[inside]]
    assert resampled and np.array_equal(got, want)
    assert [k.name for k in classes] == ["crop", "water"] and len(steps) == 6
    assert path.read_bytes() == before


def test_same_grid_is_read_as_is_and_a_disjoint_one_is_refused(tmp_path):
    arr = (np.arange(200 * 300).reshape(200, 300) % 3).astype(np.uint8)
    write_class_raster(tmp_path / "a.tif", arr, T, UTM, CLASSES)
    got, _, resampled = read_class_raster_on_grid(tmp_path / "a.tif", 200, 300, T, UTM)
    assert not resampled and np.array_equal(got, arr)
    with pytest.raises(SatSegError, match="a.tif does not overlap the open image"):
        read_class_raster_on_grid(tmp_path / "a.tif", 200, 300, T @ Affine.translation(5000, 0), UTM)
