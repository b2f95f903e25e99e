"""k-means clusters: reproducible with a seed, every pixel assigned to its nearest centre, K too large."""
import numpy as np
import pytest

from desktop_app.core.analysis.clusters import cluster_image, relabel
from desktop_app.core.classes import ClassInfo, read_class_raster
from desktop_app.core.errors import SatSegError, cli_text
from desktop_app.core.sources import open_image


def test_fixed_seed_is_reproducible_and_labels_are_nearest_centres(demo_dir, tmp_path):
    with open_image(demo_dir / "scene.tif") as src:
        s1 = cluster_image(src, 4, tmp_path / "a.tif", bands=["B3", "B4", "B8", "B11"], sample=5000, seed=5,
                           block=256)
        s2 = cluster_image(src, 4, tmp_path / "b.tif", bands=["B3", "B4", "B8", "B11"], sample=5000, seed=5)
        pixels = src.read(bands=["B3", "B4", "B8", "B11"]).data
    a = read_class_raster(tmp_path / "a.tif")[0]
    b = read_class_raster(tmp_path / "b.tif")[0]
    assert (a == b).all() and s1["centres"] == s2["centres"]
    # independent check: brute-force nearest centre on a sample of pixels
    c = np.array(s1["centres"])
    rows, cols = np.random.default_rng(0).integers(0, a.shape[0], (2, 500))
    x = pixels[:, rows, cols].T.astype(np.float64)
    nearest = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1) + 1
    assert (a[rows, cols] == nearest).mean() > 0.995        # float32 ties at boundaries only
    assert sorted(np.unique(a)) == [1, 2, 3, 4]


def test_k_larger_than_distinct_pixels_is_refused(tmp_path):
    import rasterio
    from affine import Affine

    data = np.zeros((2, 32, 32), np.uint16)
    data[:, :16] = 1000
    data[:, 16:] = 3000          # two distinct pixel values
    with rasterio.open(tmp_path / "two.tif", "w", driver="GTiff", width=32, height=32, count=2, dtype="uint16",
                       crs="EPSG:32643", transform=Affine(10, 0, 500000, 0, -10, 3000000)) as ds:
        ds.write(data)
    with open_image(tmp_path / "two.tif") as src, pytest.raises(SatSegError, match="K = 3 clusters is more than "
                                                                                 "the 2 distinct") as err:
        cluster_image(src, 3, tmp_path / "c.tif")
    assert "--" not in str(err.value) and cli_text(err.value).startswith("--k 3 is more than the 2 distinct")
    assert not (tmp_path / "c.tif").exists()


def test_relabel_renames_and_merges_clusters():
    classes = [ClassInfo(i, f"cluster {i}", "#000000") for i in (1, 2, 3)]
    out, new = relabel(np.array([[1, 2, 3, 255]], np.uint8), classes, {1: "water", 2: "crop", 3: "water"})
    assert out.tolist() == [[1, 2, 1, 255]] and [c.name for c in new] == ["water", "crop"]


def test_big_images_fit_on_random_tiles_and_agree_with_the_whole_image_fit(demo_dir, tmp_path, monkeypatch):
    from desktop_app.core.analysis import clusters

    bands = ["B3", "B4", "B8", "B11"]
    with open_image(demo_dir / "scene.tif") as src:
        whole = cluster_image(src, 4, tmp_path / "w.tif", bands=bands, sample=20000, seed=2)
        monkeypatch.setattr(clusters, "WHOLE_READ_PIXELS", 10_000)   # the demo scene now counts as big
        monkeypatch.setattr(clusters, "FIT_TILES", 8)                # 8 of its 16 tiles
        tiles = cluster_image(src, 4, tmp_path / "t.tif", bands=bands, sample=20000, seed=2)
        again = cluster_image(src, 4, tmp_path / "a.tif", bands=bands, sample=20000, seed=2)
    assert tiles["centres"] == again["centres"]                      # reproducible with a seed
    a, b = read_class_raster(tmp_path / "w.tif")[0], read_class_raster(tmp_path / "t.tif")[0]
    assert (a == b).mean() > 0.95      # tiles spread over the scene find the same clusters
