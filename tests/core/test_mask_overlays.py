"""Class masks after a threshold change: unchanged masks are not encoded again (issue 12)."""
import io

import numpy as np
from affine import Affine
from PIL import Image
from rasterio.crs import CRS

from desktop_app.core.classes import ClassInfo
from desktop_app.core.display import classes_to_mercator, mask_overlays

CLASSES = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "urban", "#ff0000"), ClassInfo(3, "water", "#0000ff")]
T, CRS_ = Affine(10, 0, 500000, 0, -10, 3300000), CRS.from_epsg(32643)


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[..., 3] > 0


def test_only_changed_masks_are_encoded_again():
    rng = np.random.default_rng(0)
    first = rng.integers(1, 4, (120, 90)).astype(np.uint8)
    second = first.copy()
    second[first == 2] = 0                    # class 2's pixels become unclassified
    before = mask_overlays(first, T, CRS_, CLASSES)
    after = mask_overlays(second, T, CRS_, CLASSES, previous=before)
    assert after[1].png is before[1].png and after[3].png is before[3].png
    assert after[2].png is not before[2].png and after[0].png is not before[0].png
    merc, _ = classes_to_mercator(second, T, CRS_)
    for cid, ov in after.items():             # every mask shows the new class array
        assert np.array_equal(decoded(ov.png), merc == cid), cid
    recoloured = [ClassInfo(1, "crop", "#123456")] + CLASSES[1:]
    again = mask_overlays(second, T, CRS_, recoloured, previous=after)
    assert again[1].png is not after[1].png and again[3].png is after[3].png


def test_mask_png_is_a_valid_one_bit_palette_png():
    """Decoded by Pillow (an independent PNG reader): the colour where the mask is, transparent elsewhere."""
    from desktop_app.core.display import encode_mask_png

    rng = np.random.default_rng(1)
    for shape in [(1, 1), (7, 9), (64, 64), (33, 1021)]:
        mask = rng.random(shape) > 0.5
        img = Image.open(io.BytesIO(encode_mask_png(mask, "#1f78b4")))
        assert img.format == "PNG" and img.mode == "P" and img.size == (shape[1], shape[0])
        rgba = np.asarray(img.convert("RGBA"))
        assert np.array_equal(rgba[..., 3] == 255, mask) and not rgba[..., 3][~mask].any()
        assert (rgba[mask][:, :3] == [0x1F, 0x78, 0xB4]).all()


def test_map_grid_matches_gdal_nearest_warp_and_outside_is_nodata():
    """The kept display pick gives GDAL's own nearest-neighbour warp; map pixels off the image are NODATA."""
    from rasterio.warp import Resampling, reproject

    from desktop_app.core.classes import NODATA
    from desktop_app.core.geo import WEB_MERCATOR

    west = Affine(100, 0, 200000, 0, -100, 3300000)     # 300 km west of the central meridian: turned grid
    arr = np.random.default_rng(2).integers(0, 4, (200, 180)).astype(np.uint8)
    merc, t = classes_to_mercator(arr, west, CRS_)
    ref = np.full(merc.shape, NODATA, np.uint8)
    reproject(arr, ref, src_transform=west, src_crs=CRS_, src_nodata=NODATA, dst_transform=t, dst_crs=WEB_MERCATOR,
              dst_nodata=NODATA, resampling=Resampling.nearest)
    assert np.array_equal(merc, ref)
    assert (merc == NODATA).any()            # the UTM image is not a rectangle in Web Mercator
    ovs = mask_overlays(arr, west, CRS_, CLASSES)
    drawn = sum(decoded(o.png) for o in ovs.values())
    assert drawn.max() == 1 and np.array_equal(drawn == 0, merc == NODATA)
