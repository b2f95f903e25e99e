"""Stratified area estimate against the worked example of Olofsson et al. (2014), section 5.

Source: P. Olofsson, G. M. Foody, M. Herold, S. V. Stehman, C. E. Woodcock, M. A. Wulder (2014),
"Good practices for estimating area and assessing accuracy of land change", Remote Sensing of
Environment 148, 42–57, doi:10.1016/j.rse.2014.02.015, section 5 (Table 8: mapped areas in
30 m pixels and the sample counts; Table 9: area proportions; p. 54: estimates and 95 % CIs).

Every number below is printed in the paper to the digits asserted. The paper prints producer's
accuracy CIs of ±0.23 (forest gain) and ±0.01 (stable non-forest); its own eq. 7, and the
independent implementations `mapaccuracy` (R, H. Costa) and `PyMapAccuracy` both give 0.254 and
0.018 from the same table, so those two are checked against eq. 7's value instead.
"""
import json

import numpy as np
import pytest

from desktop_app.core.analysis.area_estimate import estimate_from_points, stratified_estimate
from desktop_app.core.errors import SatSegError

NAMES = ["deforestation", "forest gain", "stable forest", "stable non-forest"]
PIXELS = np.array([200_000, 150_000, 3_200_000, 6_450_000])       # Table 8, mapped area in pixels
COUNTS = [[66, 0, 5, 4],                                         # rows = map, columns = reference
          [0, 55, 8, 12],
          [1, 0, 153, 11],
          [2, 1, 9, 313]]


@pytest.fixture(scope="module")
def est():
    return stratified_estimate(NAMES, PIXELS * 900.0, COUNTS)     # 30 m pixels -> m²


def test_areas_and_confidence_intervals_in_hectares(est):
    ha = est.area_m2 / 1e4
    ci = 1.96 * est.area_se_m2 / 1e4
    assert [round(v) for v in ha] == [21_158, 11_686, 285_770, 581_386]
    assert [round(v) for v in ci] == [6_158, 3_756, 15_510, 16_282]
    d = est.to_dict()["area_estimate"]
    assert round(d["deforestation"]["area_m2"] / 1e4) == 21_158
    assert round(d["deforestation"]["ci95_m2"] / 1e4) == 6_158


def test_users_producers_and_overall_accuracy(est):
    assert [round(v, 2) for v in est.users] == [0.88, 0.73, 0.93, 0.96]
    assert [round(1.96 * v, 2) for v in est.users_se] == [0.07, 0.10, 0.04, 0.02]
    assert [round(v, 2) for v in est.producers] == [0.75, 0.85, 0.93, 0.96]
    pa_ci = [round(1.96 * v, 3) for v in est.producers_se]
    assert round(pa_ci[0], 2) == 0.21 and round(pa_ci[2], 2) == 0.03       # as printed
    assert pa_ci[1] == pytest.approx(0.254, abs=1e-3) and pa_ci[3] == pytest.approx(0.018, abs=1e-3)  # eq. 7
    assert round(est.overall, 2) == 0.95 and round(1.96 * est.overall_se, 2) == 0.02


def test_area_weighted_error_matrix_table_9(est):
    table9 = [[0.0176, 0.0000, 0.0013, 0.0011],
              [0.0000, 0.0110, 0.0016, 0.0024],
              [0.0019, 0.0000, 0.2967, 0.0213],
              [0.0040, 0.0020, 0.0179, 0.6212]]
    assert np.round(est.proportions, 4).tolist() == table9
    assert est.proportions.sum() == pytest.approx(1.0)


def test_a_mapped_stratum_without_points_is_refused():
    counts = np.array(COUNTS)
    counts[1] = 0
    with pytest.raises(SatSegError, match="forest gain has no labelled sample point"):
        stratified_estimate(NAMES, PIXELS * 900.0, counts)


def _points(path, lonlat, refs, strata=None):
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)},
              "properties": {"id": i + 1, "stratum": (strata or [None] * len(refs))[i], "reference": r}}
             for i, (p, r) in enumerate(zip(lonlat, refs))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_points_without_reference_labels_are_a_clear_error(demo_dir, tmp_path):
    p = _points(tmp_path / "p.geojson", [(77.7, 29.45)] * 3, [None, "", None])
    with pytest.raises(SatSegError, match="no reference labels"):
        estimate_from_points(demo_dir / "truth.tif", p)
