"""Change between two class maps: matrix totals, name matching, nearest resampling, no overlap."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.analysis.change import change_file, change_maps
from desktop_app.core.classes import ClassInfo, read_class_raster, write_class_raster
from desktop_app.core.errors import SatSegError

UTM = CRS.from_epsg(32643)
T = Affine(10, 0, 500000, 0, -10, 3000000)


def _write(path, array, classes, transform=T):
    write_class_raster(path, np.asarray(array, np.uint8), transform, UTM, classes)
    return path


def test_matrix_totals_equal_pixel_counts_and_classes_match_by_name(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(1, 3, (40, 30)).astype(np.uint8)
    b = rng.integers(1, 4, (40, 30)).astype(np.uint8)
    a[0, :5] = 255
    b[1, :7] = 0                                   # unclassified on one date: not compared
    before = _write(tmp_path / "a.tif", a, [ClassInfo(1, "water", "#0000ff"), ClassInfo(2, "crop", "#00ff00")])
    # the second map lists classes in another order and adds one: matched by name, not id
    after = _write(tmp_path / "b.tif", b, [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "water", "#0000ff"),
                                           ClassInfo(3, "urban", "#ff0000")])
    res = change_file(before, after, tmp_path / "c.tif", tmp_path / "c.csv")
    assert res.names == ["water", "crop", "urban"]
    compared = (a != 255) & (b != 0)
    assert res.pixels.sum() == compared.sum() == res.compared_pixels
    # water (a==1) -> water (b==2)
    assert res.pixels[0, 0] == int(((a == 1) & (b == 2) & compared).sum())
    assert res.pixels[1, 2] == int(((a == 2) & (b == 3) & compared).sum())
    assert res.area_m2.sum() == pytest.approx(res.pixels.sum() * 100, rel=2e-3)   # ~100 m² a UTM pixel
    out, _, _, pairs = read_class_raster(tmp_path / "c.tif")
    assert np.bincount(out[out != 255], minlength=len(pairs) + 1)[1:].sum() == compared.sum()
    names = {p.id: p.name for p in pairs}
    assert names[int(out[5, 5])] == f"{['water', 'crop'][a[5, 5] - 1]} → {['crop', 'water', 'urban'][b[5, 5] - 1]}"
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "from,to,change_id,pixels,area_m2,area_ha"
    assert sum(int(l.split(",")[3]) for l in lines[1:]) == compared.sum()


def test_second_grid_is_resampled_by_nearest_neighbour(tmp_path):
    a = np.ones((20, 20), np.uint8)
    b = np.ones((10, 10), np.uint8)
    b[:, 5:] = 2                                   # 20 m pixels over the same ground
    cls = [ClassInfo(1, "x", "#111111"), ClassInfo(2, "y", "#222222")]
    res, out, _, _ = change_maps(_write(tmp_path / "a.tif", a, cls),
                                 _write(tmp_path / "b.tif", b, cls, Affine(20, 0, 500000, 0, -20, 3000000)))
    assert res.pixels.tolist() == [[200, 200], [0, 0]]
    assert any("nearest neighbour" in w for w in res.warnings)


def test_maps_that_do_not_overlap_are_refused(tmp_path):
    cls = [ClassInfo(1, "x", "#111111")]
    a = _write(tmp_path / "a.tif", np.ones((10, 10)), cls)
    b = _write(tmp_path / "b.tif", np.ones((10, 10)), cls, Affine(10, 0, 600000, 0, -10, 3000000))
    with pytest.raises(SatSegError, match="do not overlap"):
        change_file(a, b, tmp_path / "c.tif")
    assert not (tmp_path / "c.tif").exists()
