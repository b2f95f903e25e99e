"""Spectral indices: values against hand computation, the restricted parser, nodata on division by zero."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.analysis.indices import (BUILTIN_INDICES, IndexedSource, SpectralIndex, compute_indices,
                                               parse_index_list)
from desktop_app.core.errors import SatSegError
from desktop_app.core.raster import Raster

BANDS = ["B3", "B4", "B5", "B8", "B11"]
# one pixel per column: green, red, red-edge, NIR, SWIR1 reflectance
PIX = np.array([[0.10, 0.05, 0.30],    # B3
                [0.05, 0.05, 0.20],    # B4
                [0.12, 0.05, 0.25],    # B5
                [0.40, 0.05, 0.20],    # B8
                [0.20, 0.05, 0.10]],   # B11
               dtype=np.float32)[:, None, :]


def test_builtin_indices_match_hand_computation():
    idx = parse_index_list("ndvi,NDWI,MNDWI,NDBI,SAVI,NDRE")
    v = compute_indices(PIX, BANDS, idx)[:, 0, :]
    # pixel 0 by hand: NDVI (0.40-0.05)/(0.45) ; NDWI (0.10-0.40)/0.50 ; MNDWI (0.10-0.20)/0.30
    #                  NDBI (0.20-0.40)/0.60 ; SAVI 1.5*0.35/0.95 ; NDRE (0.40-0.12)/0.52
    hand0 = [0.35 / 0.45, -0.30 / 0.50, -0.10 / 0.30, -0.20 / 0.60, 1.5 * 0.35 / 0.95, 0.28 / 0.52]
    np.testing.assert_allclose(v[:, 0], hand0, rtol=1e-5)
    # pixel 1: every band equal -> all normalized differences 0, SAVI 0
    np.testing.assert_allclose(v[:, 1], 0, atol=1e-7)
    # pixel 2: NDVI (0.2-0.2)/0.4 = 0, MNDWI (0.3-0.1)/0.4 = 0.5
    assert v[0, 2] == pytest.approx(0.0, abs=1e-7) and v[2, 2] == pytest.approx(0.5)
    assert list(BUILTIN_INDICES) == ["NDVI", "NDWI", "MNDWI", "NDBI", "SAVI", "NDRE"]


def test_custom_formula_with_powers_unary_minus_and_division_by_zero_gives_nan():
    (idx,) = parse_index_list("X=-(B8 - B4) ** 2 / (B3 - B4)")
    v = idx.compute({"B8": np.array([0.4, 0.3], np.float32), "B4": np.array([0.1, 0.2], np.float32),
                     "B3": np.array([0.2, 0.2], np.float32)})
    assert v[0] == pytest.approx(-(0.3 ** 2) / 0.1, rel=1e-5)
    assert np.isnan(v[1])                   # B3 - B4 == 0: nodata, never inf
    assert sorted(idx.bands()) == ["B3", "B4", "B8"]


@pytest.mark.parametrize("formula", ["__import__('os').system('x')", "B8.real", "B8[0]", "abs(B8)",
                                     "B8 if B4 else B3", "lambda: 1", "B8 < B4", "'text'", "B8 // B4", ""])
def test_parser_rejects_everything_but_arithmetic_on_band_names(formula):
    with pytest.raises(SatSegError, match="index BAD"):
        parse_index_list(f"BAD={formula}")


def test_unknown_builtin_and_missing_band_are_clear_messages():
    with pytest.raises(SatSegError, match="unknown index 'NDXI'"):
        parse_index_list("NDXI")
    with pytest.raises(SatSegError, match="index MNDWI needs band B11"):
        compute_indices(PIX[:4], BANDS[:4], parse_index_list("MNDWI"))


class _MemSource(IndexedSource.__mro__[1]):       # a tiny ImageSource over an in-memory Raster
    def __init__(self, raster):
        super().__init__()
        self.r = raster
        self.width, self.height, self.transform, self.crs = raster.width, raster.height, raster.transform, raster.crs
        self.band_names, self.path = list(raster.band_names), "mem"

    def _read(self, window, indexes, out_shape):
        w = self.r.window(window)
        return w.data[indexes].copy(), w.nodata_mask.copy()


def test_indexed_source_appends_bands_and_marks_zero_denominators_nodata():
    data = np.repeat(PIX, 2, axis=1).copy()           # 2 rows x 3 cols
    data[:, 1, 1] = 0.0                               # a pixel with B8 + B4 == 0
    src = IndexedSource(_MemSource(Raster(data, Affine(10, 0, 0, 0, -10, 0), CRS.from_epsg(32643), BANDS)),
                        parse_index_list("NDVI"))
    assert src.band_names == BANDS + ["NDVI"]
    r = src.read(bands=["B4", "NDVI"])
    np.testing.assert_allclose(r.data[1, 0, 0], 0.35 / 0.45, rtol=1e-5)
    np.testing.assert_allclose(r.data[0], data[1])
    assert r.nodata_mask.tolist() == [[False, False, False], [False, True, False]]
    assert not src.read(bands=["B4"]).nodata_mask.any()   # raw bands alone: no index, no extra nodata
