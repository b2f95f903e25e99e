"""Stratified sample design: allocation rule, points inside their stratum, reproducibility."""
import numpy as np
import pytest
from pyproj import Transformer
from rasterio.transform import rowcol

from desktop_app.core.analysis.sample_design import DESIGN_KEY, allocate, design_sample
from desktop_app.core.classes import read_class_raster
from desktop_app.core.errors import SatSegError


def test_allocation_minimum_then_proportional_to_area():
    n = allocate(pixels=[100, 1000, 10_000], areas=[1.0, 10.0, 100.0], total=200, min_per_class=50)
    # 150 as minimum; the remaining 50 shared 1:10:100 -> quotas 0.450, 4.505, 45.045; floors 0, 4, 45
    # leave 1 point, which goes to the largest remainder (0.505)
    assert n.tolist() == [50, 55, 95] and n.sum() == 200
    # a stratum smaller than the minimum gets all its pixels, never more
    n = allocate([3, 1000], [3.0, 1000.0], 60, 50)
    assert n.tolist() == [3, 57]
    with pytest.raises(SatSegError, match="less than 100"):
        allocate([100, 100], [1.0, 1.0], 99, 50)


def test_points_lie_in_their_stratum_and_the_design_is_in_the_file(demo_dir):
    fc = design_sample(demo_dir / "truth.tif", total=120, min_per_class=20, seed=7)
    design = fc[DESIGN_KEY]
    assert sum(a["points"] for a in design["allocation"]) == 120 == len(fc["features"])
    assert all(a["points"] >= 20 for a in design["allocation"])
    assert "min(20, its pixels)" in design["allocation_rule"]
    array, transform, crs, classes = read_class_raster(demo_dir / "truth.tif")
    names = {c.id: c.name for c in classes}
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    for f in fc["features"]:
        assert f["properties"]["reference"] is None
        x, y = to_map.transform(*f["geometry"]["coordinates"])
        row, col = rowcol(transform, x, y)
        assert names[int(array[row, col])] == f["properties"]["stratum"]
    again = design_sample(demo_dir / "truth.tif", total=120, min_per_class=20, seed=7)
    assert [f["geometry"] for f in again["features"]] == [f["geometry"] for f in fc["features"]]
    other = design_sample(demo_dir / "truth.tif", total=120, min_per_class=20, seed=8)
    assert [f["geometry"] for f in other["features"]] != [f["geometry"] for f in fc["features"]]
    ids = [f["properties"]["id"] for f in fc["features"]]
    assert ids == list(range(1, 121)) and len({tuple(f["geometry"]["coordinates"]) for f in fc["features"]}) == 120
