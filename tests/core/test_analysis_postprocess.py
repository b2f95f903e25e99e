"""Majority filter and sieve on hand-made class rasters."""
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from scipy import ndimage

from desktop_app.core.analysis.postprocess import majority_filter, sieve, sieve_pixels_for_ha
from desktop_app.core.errors import SatSegError


def test_majority_3x3_by_hand():
    a = np.array([[1, 1, 1, 2],
                  [1, 2, 1, 2],
                  [1, 1, 2, 2],
                  [3, 3, 2, 2]], np.uint8)
    out = majority_filter(a, 3)
    # (1,1): window has six 1s, three 2s -> 1 ; (2,2): 1,2,1 / 1,2,2 / 3,2,2 -> 2 wins with 5
    assert out[1, 1] == 1 and out[2, 2] == 2
    # corner (3,0): window (2..3, 0..1) = 1,1,3,3: tie between the pixel's own 3 and 1 -> keeps 3
    assert out[3, 0] == 3
    # (0,3): window (0..1, 2..3) = 1,2,1,2 tie, own value 2 is among the most frequent -> 2
    assert out[0, 3] == 2


def test_majority_matches_a_brute_force_reference_blockwise_and_keeps_nodata():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, (70, 53)).astype(np.uint8)
    a[10:14, 20:30] = 255
    out = majority_filter(a, 5, block=16)          # many blocks: halos must be right
    # reference: scipy.ndimage.generic_filter with a mode that ignores nodata and out-of-map pixels
    pad = np.pad(a.astype(float), 2, constant_values=np.nan)
    pad[pad == 255] = np.nan

    def vote(w):
        c = w[len(w) // 2]
        vals = w[~np.isnan(w)].astype(int)
        counts = np.bincount(vals, minlength=4)
        if np.isnan(c):
            return np.nan
        return c if counts[int(c)] == counts.max() else int(np.argmax(counts))

    ref = ndimage.generic_filter(pad, vote, size=5, mode="constant", cval=np.nan)[2:-2, 2:-2]
    ref = np.where(np.isnan(ref), 255, ref).astype(np.uint8)
    assert (out == ref).all()
    assert (out[10:14, 20:30] == 255).all()


def test_sieve_merges_or_drops_small_patches_and_never_touches_nodata():
    a = np.ones((8, 8), np.uint8)
    a[2:4, 2:4] = 2           # 4 px island of class 2 inside class 1
    a[6:8, 6:8] = 255         # nodata corner
    a[5, 5] = 3               # 1 px speck next to nodata
    merged = sieve(a, 5)
    assert (merged[2:4, 2:4] == 1).all() and merged[5, 5] == 1
    assert (merged[6:8, 6:8] == 255).all()
    dropped = sieve(a, 5, small="drop")
    assert (dropped[2:4, 2:4] == 0).all() and dropped[5, 5] == 0 and (dropped[6:8, 6:8] == 255).all()
    kept = sieve(a, 4)        # a 4 px island is not smaller than 4; the 1 px speck is
    assert (kept[2:4, 2:4] == 2).all() and kept[5, 5] == 1


def test_hectares_to_pixels_uses_true_ground_area():
    # 10 m UTM pixels are 100 m² each on the grid, slightly different on the ground (scale factor)
    n = sieve_pixels_for_ha(0.5, Affine(10, 0, 500000, 0, -10, 3000000), CRS.from_epsg(32643), (100, 100))
    assert n in (50, 51)
    with pytest.raises(SatSegError):
        majority_filter(np.zeros((3, 3), np.uint8), 4)
