"""rasterio opens in-memory arrays as MEM datasets before setting their transform and hides the
NotGeoreferencedWarning with warnings.catch_warnings(), which another thread can undo half-way;
desktop_app.core's filter keeps that one warning hidden for good (docs/performance.md)."""
import subprocess
import sys
import warnings

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize, shapes
from rasterio.warp import reproject
from shapely.geometry import box

import desktop_app.core as core

T = Affine(10, 0, 500000, 0, -10, 3300000)
CRS = "EPSG:32643"


def in_memory_calls():
    mask = rasterize([(box(500010, 3299930, 500050, 3299970), 1)], out_shape=(8, 8), transform=T, dtype="uint8")
    assert mask.sum() == 16                                   # 4 x 4 pixels: the transform was used
    src = np.arange(64, dtype=np.float32).reshape(8, 8)
    dst = np.zeros_like(src)
    reproject(src, dst, src_transform=T, src_crs=CRS, dst_transform=T, dst_crs=CRS)
    assert np.array_equal(dst, src)
    assert len(list(shapes(mask, transform=T))) == 2


def not_georeferenced(monkeypatch, *, our_filter: bool) -> list:
    """NotGeoreferencedWarnings of the in-memory calls when rasterio's own ``simplefilter("ignore")``
    is not in effect, as when another thread's catch_warnings() has just put the old filters back."""
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        if our_filter:
            core.quiet_rasterio_in_memory_datasets()
        monkeypatch.setattr(warnings, "simplefilter", lambda *args, **kwargs: None)
        try:
            in_memory_calls()
        finally:
            monkeypatch.undo()
    return [w for w in log if issubclass(w.category, NotGeoreferencedWarning)]


def test_the_race_lets_the_warning_out_without_the_filter(monkeypatch):
    leaked = not_georeferenced(monkeypatch, our_filter=False)
    assert {w.filename.replace("\\", "/").rsplit("/", 1)[-1] for w in leaked} == {"features.py", "warp.py"}


def test_the_filter_keeps_it_hidden(monkeypatch):
    assert not_georeferenced(monkeypatch, our_filter=True) == []


def test_a_dataset_we_write_without_a_transform_still_warns(tmp_path):
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        core.quiet_rasterio_in_memory_datasets()
        with rasterio.open(tmp_path / "x.tif", "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8"):
            pass
    assert any(issubclass(w.category, NotGeoreferencedWarning) for w in log)


def test_importing_the_core_installs_it():
    code = ("import warnings, desktop_app.core as c; f = c.RASTERIO_MEM_WARNING; "
            "print(any(x[0] == 'ignore' and x[3] is not None and x[3].pattern == f['module'] for x in warnings.filters))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_pytest_has_the_same_filter():
    # pytest puts back its own filters for every test, so pyproject.toml carries the core's filter too.
    import tomllib
    from pathlib import Path

    ini = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    f = core.RASTERIO_MEM_WARNING
    assert f"{f['action']}:{f['message']}::{f['module']}" in ini["filterwarnings"]
    assert any(x[0] == "ignore" and getattr(x[3], "pattern", None) == f["module"] for x in warnings.filters)
