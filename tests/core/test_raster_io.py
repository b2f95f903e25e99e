"""Raster model, GeoTIFF round trips, band selection, windowed reads."""
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from desktop_app.core.errors import SatSegError
from desktop_app.core.geotiff import GeoTiffWriter, write_raster
from desktop_app.core.raster import Raster, normalize_band_name, resolve_bands
from desktop_app.core.sources import open_image


def _raster(bands=4, rows=300, cols=280, crs="EPSG:32643"):
    rng = np.random.default_rng(0)
    data = rng.uniform(0.01, 0.6, (bands, rows, cols)).astype(np.float32)
    nodata = np.zeros((rows, cols), bool)
    nodata[:10, :20] = True
    names = ["B2", "B3", "B4", "B8", "B11", "B12"][:bands]
    return Raster(data, Affine(10, 0, 500000, 0, -10, 3260000), CRS.from_user_input(crs), names, nodata)


def test_float_round_trip_keeps_transform_crs_nodata_and_values(tmp_path):
    r = _raster()
    path = write_raster(tmp_path / "r.tif", r)
    with open_image(path) as src:
        back = src.read()
    assert back.transform == r.transform
    assert back.crs == r.crs
    assert back.band_names == r.band_names
    assert np.array_equal(back.nodata_mask, r.nodata_mask)
    assert np.array_equal(back.data[:, ~r.nodata_mask], r.data[:, ~r.nodata_mask])


def test_uint16_digital_numbers_are_scaled_and_nodata_honoured(tmp_path):
    dn = np.full((2, 64, 64), 1234, np.uint16)
    dn[:, 0, 0] = 0
    with GeoTiffWriter(tmp_path / "dn.tif", width=64, height=64, count=2, dtype="uint16",
                       transform=Affine(20, 0, 0, 0, -20, 0), crs=CRS.from_epsg(32629), nodata=0,
                       band_names=["B05", "b8a"]) as w:
        w.write(dn)
    with open_image(tmp_path / "dn.tif") as src:
        assert src.band_names == ["B5", "B8A"]
        r = src.read()
    assert r.nodata_mask[0, 0] and r.nodata_mask.sum() == 1
    assert np.allclose(r.data[:, 5, 5], 0.1234)


def test_float_digital_numbers_are_detected(tmp_path):
    r = _raster(bands=2)
    r.data *= 10000
    write_raster(tmp_path / "fdn.tif", r)
    with open_image(tmp_path / "fdn.tif") as src:
        back = src.read()
    assert back.data[:, ~back.nodata_mask].max() <= 0.61


def test_windowed_read_matches_whole_read_and_transform(tmp_path):
    r = _raster()
    write_raster(tmp_path / "r.tif", r)
    with open_image(tmp_path / "r.tif") as src:
        w = Window(40, 70, 100, 50)
        part = src.read(w, bands=["B8", 2])
    assert part.band_names == ["B8", "B3"]
    assert np.array_equal(part.data[0], r.data[3, 70:120, 40:140])
    assert part.transform == r.transform @ Affine.translation(40, 70)


def test_band_selection_by_name_and_index():
    names = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]
    assert resolve_bands(names, ["B02", "b8a", 12, "3"]) == [1, 8, 11, 2]
    assert normalize_band_name("B08") == "B8"
    with pytest.raises(SatSegError, match="band 'B13' does not exist"):
        resolve_bands(names, ["B13"])
    with pytest.raises(SatSegError, match="out of range"):
        resolve_bands(names, [13])


def test_writer_leaves_no_partial_file_on_error(tmp_path):
    target = tmp_path / "out.tif"
    with pytest.raises(RuntimeError):
        with GeoTiffWriter(target, width=8, height=8, count=1, dtype="uint8",
                           transform=Affine.identity(), crs=CRS.from_epsg(4326)) as w:
            w.write(np.zeros((8, 8), np.uint8))
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SatSegError, match="does not exist"):
        write_raster(tmp_path / "missing" / "x.tif", _raster(bands=1))


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(SatSegError, match="does not exist"):
        open_image(tmp_path / "nope.tif")
    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    with pytest.raises(SatSegError, match="not a raster"):
        open_image(junk)
    good = write_raster(tmp_path / "good.tif", _raster(rows=600, cols=600))
    data = good.read_bytes()
    trunc = tmp_path / "trunc.tif"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(SatSegError, match="corrupt or truncated"):
        open_image(trunc).read()


def test_image_with_no_valid_pixels_is_refused(tmp_path):
    r = _raster(bands=1)
    r.nodata_mask[:] = True
    write_raster(tmp_path / "empty.tif", r)
    with pytest.raises(SatSegError, match="no valid pixels"):
        open_image(tmp_path / "empty.tif")


def test_preview_is_decimated_with_matching_transform(tmp_path):
    r = _raster(rows=400, cols=400)
    write_raster(tmp_path / "r.tif", r)
    with open_image(tmp_path / "r.tif") as src:
        p = src.preview(100)
    assert p.shape == (100, 100)
    assert p.bounds == pytest.approx(r.bounds)
