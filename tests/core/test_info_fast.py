"""`satseg info` on a big file without overviews reads a few blocks, not every pixel (issue 12)."""
import json

import numpy as np
import pytest
import rasterio
from affine import Affine

from desktop_app.cli import main
from desktop_app.core.sources.geotiff_source import GeoTiffSource


def _scene(path, side=2048):
    """uint16 DN, 256 px tiles, deflate, no overviews; the left quarter is nodata (0)."""
    rng = np.random.default_rng(0)
    data = rng.integers(500, 3000, (2, side, side), dtype=np.uint16)
    data[:, :, : side // 4] = 0
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=2, dtype="uint16",
                       crs="EPSG:32643", transform=Affine(10, 0, 500000, 0, -10, 3300000), nodata=0,
                       tiled=True, blockxsize=256, blockysize=256, compress="deflate") as ds:
        ds.write(data)
    return data


def test_info_reads_a_few_blocks_and_estimates_nodata(tmp_path, monkeypatch, capsys):
    path = tmp_path / "big.tif"
    data = _scene(path)
    read_px = []
    raw = GeoTiffSource._raw

    def counting(self, window, indexes, out_shape):
        read_px.append(int(window.width) * int(window.height) * len(indexes))
        return raw(self, window, indexes, out_shape)

    monkeypatch.setattr(GeoTiffSource, "_raw", counting)
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert sum(read_px) <= data.size / 4          # a handful of blocks, not a pass over the image
    assert info["sampled_from"].endswith("blocks")
    assert info["nodata_share"] == pytest.approx(0.25, abs=0.1)
    valid = data[0][data[0] > 0]
    first_band = info["bands"][0]
    assert info["mean_reflectance"][first_band] == pytest.approx(valid.mean() / 1e4, rel=0.05)


def test_info_uses_overviews_when_the_file_has_them(tmp_path, capsys):
    path = tmp_path / "ov.tif"
    _scene(path, 1024)
    with rasterio.open(path, "r+") as ds:
        ds.build_overviews([2, 4, 8])
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sampled_from"] == "overview"
    assert info["nodata_share"] == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize("overviews", [False, True])
def test_sample_of_some_bands_reads_only_those_and_matches_rasterio(tmp_path, overviews):
    """The map's stretch samples its three display bands only: the same pixels as a read of every band."""
    path = tmp_path / "s.tif"
    _scene(path, 1024)
    if overviews:
        with rasterio.open(path, "r+") as ds:
            ds.build_overviews([2, 4, 8])
    with GeoTiffSource(str(path)) as src:
        every, nodata, how = src.sample()
        some, some_nodata, how_some = src.sample(indexes=[1])
        window = src.sample_windows(1_048_576)[0]
    assert how == how_some and some.shape == (1, every.shape[1])
    assert np.array_equal(some[0], every[1]) and np.array_equal(some_nodata, nodata)
    if not overviews:   # against rasterio itself: the first sampled block of band 2, in reflectance
        with rasterio.open(path) as ds:
            ref = ds.read(2, window=window).ravel()
        n = ref.size
        assert np.allclose(some[0, :n][ref > 0], ref[ref > 0] / 1e4)
