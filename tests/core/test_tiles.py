"""A map tile's pixels match rasterio's own warp of the same area (issue 12), for imagery and class maps."""
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from desktop_app.core.scale import tiles
from desktop_app.core.sources import open_image

UTM = CRS.from_epsg(32643)
T = Affine(10, 0, 600000, 0, -10, 3300000)


@pytest.fixture
def scene(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(100, 5000, (3, 600, 700)).astype(np.uint16)
    data[:, 50:80, 100:130] = 0                       # nodata hole
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=700, height=600, count=3, dtype="uint16", crs=UTM,
                       transform=T, nodata=0, tiled=True, blockxsize=256, blockysize=256) as ds:
        ds.write(data)
    return path, data


def _tile_at(path, z, frac=(0.5, 0.5)):
    with rasterio.open(path) as ds:
        from rasterio.warp import transform as warp_points

        x, y = T @ (700 * frac[0], 600 * frac[1])
        mx, my = warp_points(UTM, "EPSG:3857", [x], [y])
    size = 2 * tiles.ORIGIN / 2 ** z
    return z, int((mx[0] + tiles.ORIGIN) // size), int((tiles.ORIGIN - my[0]) // size)


def _reference(path, z, x, y, resampling=Resampling.nearest):
    """rasterio's WarpedVRT read of the tile grid: the independent reference."""
    with rasterio.open(path) as ds, WarpedVRT(ds, crs="EPSG:3857", transform=tiles.tile_transform(z, x, y),
                                              width=256, height=256, resampling=resampling, nodata=0) as vrt:
        return vrt.read()


@pytest.mark.parametrize("z", [17, 18])      # 17: ~1 tile px per image px at 29° N; 18: zoomed in past it
def test_image_tile_matches_a_warped_read(scene, z):
    path, _ = scene
    z, x, y = _tile_at(path, z)
    src = open_image(str(path))
    try:
        got, valid = tiles.image_tile(src, ["1", "2", "3"], z, x, y)
    finally:
        src.close()
    ref = _reference(path, z, x, y)
    ref_valid = (ref != 0).all(axis=0)
    both = valid & ref_valid
    assert both.mean() > 0.5
    # Same pixels (DN / 10000 = reflectance) wherever both have data; the nodata edge agrees too.
    assert np.allclose(got[:, both], ref[:, both] / 10000.0, atol=1e-6)
    assert (valid == ref_valid).mean() > 0.995


def test_image_tile_outside_is_none_and_edges_are_transparent(scene):
    path, _ = scene
    src = open_image(str(path))
    try:
        assert tiles.image_tile(src, ["1", "2", "3"], 17, 0, 0) is None
        z, x, y = _tile_at(path, 15, (0.0, 0.0))       # over the image's north-west corner
        got, valid = tiles.image_tile(src, ["1", "2", "3"], z, x, y)
        assert 0 < valid.mean() < 1
    finally:
        src.close()


def test_class_tile_matches_a_warped_read(tmp_path):
    rng = np.random.default_rng(1)
    classes = rng.integers(0, 4, (600, 700)).astype(np.uint8)
    classes[:40] = 255
    path = tmp_path / "c.tif"
    with rasterio.open(path, "w", driver="GTiff", width=700, height=600, count=1, dtype="uint8", crs=UTM,
                       transform=T, nodata=255) as ds:
        ds.write(classes, 1)
    z, x, y = _tile_at(path, 18)
    got = tiles.class_tile(classes, T, UTM, z, x, y)
    with rasterio.open(path) as ds, WarpedVRT(ds, crs="EPSG:3857", transform=tiles.tile_transform(z, x, y),
                                              width=256, height=256, resampling=Resampling.nearest,
                                              nodata=255) as vrt:
        ref = vrt.read(1)
    assert (got == ref).mean() > 0.995
    rgba = tiles.class_rgba(got, {1: "#ff0000", 2: "#00ff00"}, {1: 0.5, 2: 1.0})
    assert (rgba[got == 1] == [255, 0, 0, 128]).all() and (rgba[got == 3][:, 3] == 0).all()


def test_overview_levels_go_to_the_cache_and_tiles_read_them(scene, tmp_path, monkeypatch):
    from desktop_app.core.scale import overviews

    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(overviews, "SMALLEST", 64)
    path, data = scene
    before = sorted([p.name for p in path.parent.iterdir()] + ["home"])
    src = open_image(str(path))
    try:
        levels = overviews.build_levels(src, block=256)
        assert [f for f, _ in levels] == [4, 16]
        assert sorted(p.name for p in path.parent.iterdir()) == before        # the user's folder untouched
        assert all(str(p).startswith(str(tmp_path / "home")) for _, p in levels)
        assert overviews.existing_levels(str(path), src.width, src.height) == levels
        with rasterio.open(levels[0][1]) as ds:
            x4 = ds.read(1)
        cell = data[0, 8:12, 8:12].astype(float) / 1e4                         # level 1:4, pixel (2, 2)
        assert x4[2, 2] == pytest.approx(cell.mean(), rel=1e-5)
        assert np.isnan(x4[50 // 4 + 1, 100 // 4 + 1])                         # inside the nodata hole
        # A zoomed-out tile drawn from the levels looks like one drawn from the full image.
        z, x, y = _tile_at(path, 13)
        lv = [(f, open_image(str(p))) for f, p in levels]
        a, va = tiles.image_tile(src, ["1", "2", "3"], z, x, y, lv)
        b, vb = tiles.image_tile(src, ["1", "2", "3"], z, x, y)
        both = va & vb
        assert both.sum() > 100 and abs(a[:, both].mean() - b[:, both].mean()) < 0.01
        for _, s in lv:
            s.close()
    finally:
        src.close()


def test_reduced_level_cells_are_gdal_averages_with_and_without_nodata():
    """Each reduced pixel is the mean of its 4 x 4 cell (GDAL's own average resampling is the
    reference); a cell's nodata pixels are left out, and a cell of nodata only stays NaN."""
    from rasterio.io import MemoryFile

    from desktop_app.core.scale.overviews import _reduce

    rng = np.random.default_rng(1)
    data = rng.random((3, 64, 96), dtype=np.float32)
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=96, height=64, count=3, dtype="float32", crs=UTM, transform=T) as ds:
            ds.write(data)
        with mem.open() as ds:
            ref = ds.read(out_shape=(3, 16, 24), resampling=Resampling.average)
    whole = _reduce(data, np.zeros((64, 96), bool), 4, 16, 24)          # every pixel valid
    assert whole.dtype == np.float32 and np.allclose(whole, ref, rtol=1e-6)
    nodata = np.zeros((64, 96), bool)
    nodata[0:4, 0:4] = True                                             # one cell of nodata only
    nodata[4, 4] = True                                                 # one pixel of the next cell
    part = _reduce(data, nodata, 4, 16, 24)
    assert np.isnan(part[:, 0, 0]).all()
    assert np.allclose(part[:, 1, 1], data[:, 4:8, 4:8].reshape(3, -1)[:, 1:].mean(axis=1), rtol=1e-6)
    assert np.allclose(part[:, 2:, 2:], ref[:, 2:, 2:], rtol=1e-6)
