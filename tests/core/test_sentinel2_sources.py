"""Sentinel-2 band folders and .SAFE products: stacking, resampling, SCL masking."""
import json
import shutil

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.errors import SatSegError
from desktop_app.core.geotiff import GeoTiffWriter
from desktop_app.core.sources import Sentinel2Source, find_band_files, open_image


def _write(path, array, res, driver="GTiff", nodata=0):
    h, w = array.shape
    profile = dict(driver=driver, width=w, height=h, count=1, dtype="uint16",
                   transform=Affine(res, 0, 600000, 0, -res, 3300000), crs=CRS.from_epsg(32643), nodata=nodata)
    if driver == "JP2OpenJPEG":
        profile.update(QUALITY=100, REVERSIBLE=True)  # lossless, like ESA's products
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(array, 1)


@pytest.fixture
def synthetic_folder(tmp_path):
    """B02/B04 at 10 m (40 px), B11 + SCL at 20 m (20 px); SCL marks a cloud and a shadow."""
    folder = tmp_path / "S2_folder"
    folder.mkdir()
    _write(folder / "B02.tif", np.full((40, 40), 500, np.uint16), 10)
    b4 = np.full((40, 40), 800, np.uint16)
    b4[0, 0] = 0
    _write(folder / "B04.tif", b4, 10)
    _write(folder / "B11.tif", np.full((20, 20), 2000, np.uint16), 20)
    scl = np.full((20, 20), 4, np.uint8).astype(np.uint16)
    scl[5, 5] = 9   # high-probability cloud
    scl[10, 10] = 3  # cloud shadow
    _write(folder / "SCL.tif", scl, 20, nodata=None)
    return folder


def test_folder_is_stacked_on_the_finest_grid(synthetic_folder):
    with open_image(synthetic_folder) as src:
        assert src.band_names == ["B2", "B4", "B11"]
        assert (src.width, src.height) == (40, 40) and src.res == (10, 10)
        r = src.read()
    assert np.allclose(r.data[0, 1:, 1:], 0.05)
    assert np.allclose(r.data[2, 5:35, 5:35], 0.2)  # 20 m band resampled inside the footprint
    assert r.nodata_mask[0, 0] and r.nodata_mask.sum() == 1


def test_scl_masks_clouds_and_shadows_only_when_asked(synthetic_folder):
    with open_image(synthetic_folder) as src:
        assert src.read().nodata_mask.sum() == 1
    with open_image(synthetic_folder, mask_clouds=True) as src:
        m = src.read().nodata_mask
    # a 20 m SCL pixel covers 2 x 2 pixels of the 10 m grid
    assert m[10:12, 10:12].all() and m[20:22, 20:22].all()
    assert m.sum() == 1 + 4 + 4


def test_processing_baseline_4_offset_is_removed(synthetic_folder):
    (synthetic_folder / "item.json").write_text(
        '{"type": "Feature", "id": "x", "properties": {"s2:processing_baseline": "05.09", '
        '"earthsearch:boa_offset_applied": false}}')
    with open_image(synthetic_folder) as src:
        r = src.read(bands=["B2"])
    assert np.allclose(r.data[0, 5, 5], (500 - 1000) / 10000)


def test_folder_without_metadata_warns_about_the_baseline_and_takes_it_from_the_user(synthetic_folder):
    # Nothing tells the baseline: the pixels are read as they are, with a warning.
    with open_image(synthetic_folder) as src:
        assert any("processing baseline" in w and "0.1 too" in w for w in src.warnings), src.warnings
        assert src.read(bands=["B2"]).data[0, 5, 5] == pytest.approx(0.05)
    # Stated 04.00 or later: the 1000 DN offset (0.1 reflectance) is removed, no warning.
    for stated in ("04.00", "4", "N0509"):
        with open_image(synthetic_folder, baseline=stated) as src:
            assert src.warnings == []
            assert src.read(bands=["B2"]).data[0, 5, 5] == pytest.approx(0.05 - 0.1)
            assert src.metadata["baseline_from"] == "user"
    # Stated older: no offset, no warning.
    with open_image(synthetic_folder, baseline="02.14") as src:
        assert src.warnings == [] and src.read(bands=["B2"]).data[0, 5, 5] == pytest.approx(0.05)
    with pytest.raises(SatSegError, match="not a Sentinel-2 processing baseline"):
        open_image(synthetic_folder, baseline="new")


def test_baseline_in_the_product_name_is_used(tmp_path, synthetic_folder):
    named = tmp_path / "S2A_MSIL2A_20240105T052221_N0510_R062_T43RGP_20240105T083512"
    shutil.copytree(synthetic_folder, named)
    with open_image(named) as src:
        assert src.warnings == [] and src.metadata["baseline_from"] == "product name"
        assert src.read(bands=["B2"]).data[0, 5, 5] == pytest.approx(0.05 - 0.1)


def test_cli_warns_and_accepts_baseline(synthetic_folder, capsys):
    from desktop_app.cli import main

    assert main(["info", str(synthetic_folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("--baseline 04.00" in w for w in out["warnings"])
    assert out["mean_reflectance"]["B2"] == pytest.approx(0.05)
    assert main(["info", str(synthetic_folder), "--baseline", "04.00", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["warnings"] == [] and out["mean_reflectance"]["B2"] == pytest.approx(-0.05)
    assert main(["info", str(synthetic_folder)]) == 0
    assert "warning:" in capsys.readouterr().err
    assert main(["info", str(synthetic_folder), "--baseline", "soon"]) == 2
    assert "not a Sentinel-2 processing baseline" in capsys.readouterr().err


def test_safe_product_with_jp2_bands(tmp_path):
    granule = tmp_path / "S2B_MSIL2A_TEST.SAFE" / "GRANULE" / "L2A_T43RGP" / "IMG_DATA"
    for sub in ("R10m", "R20m", "R60m"):
        (granule / sub).mkdir(parents=True)
    _write(granule / "R10m" / "T43RGP_20240101T000000_B02_10m.jp2", np.full((32, 32), 700, np.uint16), 10, "JP2OpenJPEG")
    _write(granule / "R20m" / "T43RGP_20240101T000000_B02_20m.jp2", np.full((16, 16), 1, np.uint16), 20, "JP2OpenJPEG")
    _write(granule / "R20m" / "T43RGP_20240101T000000_B8A_20m.jp2", np.full((16, 16), 3000, np.uint16), 20, "JP2OpenJPEG")
    files = find_band_files(tmp_path / "S2B_MSIL2A_TEST.SAFE")
    assert files["B2"].name.endswith("_B02_10m.jp2")
    with open_image(tmp_path / "S2B_MSIL2A_TEST.SAFE") as src:
        assert src.band_names == ["B2", "B8A"] and src.res == (10, 10)
        r = src.read()
    assert np.allclose(r.data[0, 4:28, 4:28], 0.07)
    assert np.allclose(r.data[1, 4:28, 4:28], 0.3)


def test_folder_without_bands_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SatSegError, match="no Sentinel-2 band files"):
        open_image(tmp_path)


def test_real_scene_reads_all_bands(shared_scene):
    with open_image(shared_scene) as src:
        assert src.band_names == ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]
        assert src.crs == CRS.from_epsg(32629) and src.res == (100, 100)
        assert src.metadata["stac_id"] == "S2A_29RKH_20200219_0_L2A"
        r = src.read(bands=["B4", "B8", "B11"])
    valid = r.data[:, ~r.nodata_mask]
    assert 0.0 < valid.mean() < 1.0


def test_real_scene_scl_cloud_mask_matches_reported_cloud_cover(shared_scene):
    with open_image(shared_scene, mask_clouds=True) as src:
        masked = src.read(bands=["B2"]).nodata_mask.mean()
    with rasterio.open(find_band_files(shared_scene)["SCL"]) as ds:   # the SCL file itself, on its 20 m grid
        scl = ds.read(1)
    # The STAC item reports 4.05 % cloud (medium + high + cirrus); SCL masking must match it closely.
    assert 0.035 < masked < 0.05
    assert np.isin(scl, [8, 9, 10, 3]).mean() == pytest.approx(masked, abs=0.002)
