"""`satseg classify` reads each pixel of the input once (issue 12): no extra passes for the
scaling rule or a valid-pixel check; counted through a wrapper around the source's reads."""
import numpy as np
import rasterio

from desktop_app.cli import main
from desktop_app.core import samples as core_samples
from desktop_app.core.sources.geotiff_source import GeoTiffSource


def _float_scene(demo_dir, tmp_path):
    """A small demo scene as float32 reflectance (the case whose scaling used to need a full read)."""
    with rasterio.open(demo_dir / "scene.tif") as src:
        profile = src.profile
        data = src.read().astype(np.float32) / 10000
        names = src.descriptions
    profile.update(dtype="float32", nodata=None, tiled=False, compress=None)
    path = tmp_path / "scene_f32.tif"
    with rasterio.open(path, "w", **{k: v for k, v in profile.items() if k not in ("blockxsize", "blockysize")}) as ds:
        ds.write(data)
        ds.descriptions = names
    return path


def test_classify_reads_every_pixel_once(tmp_path, monkeypatch):
    from desktop_app.core.demo_scene import write_demo_scene

    demo_dir = tmp_path / "demo"
    write_demo_scene(demo_dir, size=300)
    scene = _float_scene(demo_dir, tmp_path)
    with rasterio.open(scene) as ds:
        height, width = ds.height, ds.width
    counts = {"open": np.zeros((height, width), np.int32), "training": np.zeros((height, width), np.int32),
              "classify": np.zeros((height, width), np.int32)}
    phase = {"now": "open"}
    real_raw, real_collect = GeoTiffSource._raw, core_samples.collect_training

    def counting_raw(self, window, indexes, out_shape):
        r0, c0 = int(window.row_off), int(window.col_off)
        # A decimated read (out_shape) still makes GDAL read every pixel of the window (no overviews).
        counts[phase["now"]][r0:r0 + int(window.height), c0:c0 + int(window.width)] += 1
        return real_raw(self, window, indexes, out_shape)

    def training_phase(*a, **kw):
        phase["now"] = "training"
        try:
            return real_collect(*a, **kw)
        finally:
            phase["now"] = "classify"

    monkeypatch.setattr(GeoTiffSource, "_raw", counting_raw)
    monkeypatch.setattr(core_samples, "collect_training", training_phase)
    out = tmp_path / "classes.tif"
    assert main(["classify", str(scene), str(demo_dir / "samples.geojson"), "--out", str(out), "--json"]) == 0
    # The classification proper covers every pixel exactly once.
    assert (counts["classify"] == 1).all()
    # Opening reads only a small sample of blocks to tell reflectance from digital numbers.
    assert counts["open"].max() <= 1 and counts["open"].mean() < 0.1, counts["open"].mean()
    # Training reads only the windows of its polygons, not the image.
    assert counts["training"].mean() < 0.5, counts["training"].mean()
    with rasterio.open(out) as ds:
        labels = ds.read(1)
    assert labels.shape == (height, width) and (labels > 0).mean() > 0.95
