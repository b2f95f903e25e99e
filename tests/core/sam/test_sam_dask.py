"""`satseg sam segment --dask`: the SAM windows computed on a real 2-worker cluster on 127.0.0.1.

The reference is the single-process segmentation of the same scene with the
same saved model: the stitched dask output must be the same pixels and tags.
"""
import json

import numpy as np
import pytest
import rasterio

from desktop_app.cli import main
from desktop_app.core.jobs import Cancelled, Job
from desktop_app.core.sam.segment import segment_file

import distributed  # noqa: E402,F401  (a hard dependency: missing, the tests must fail, not skip)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.tags(), ds.transform, ds.crs, ds.colormap(1)


def test_dask_windows_stitch_to_the_single_process_output(cluster, tuned, small_scene, tmp_path):
    _, client = cluster
    model_dir = tuned[0]
    # 128 px windows on the 256 px scene: 3 x 3 overlapping windows spread over both workers.
    one = segment_file(small_scene / "scene.tif", model_dir, tmp_path / "one.tif", window=128, cache_dir=None)
    many = segment_file(small_scene / "scene.tif", model_dir, tmp_path / "many.tif", window=128, cache_dir=None,
                        client=client)
    assert one["windows"] == many["windows"] == 9
    a, b = _read(tmp_path / "one.tif"), _read(tmp_path / "many.tif")
    assert len(np.unique(a[0])) > 1             # a real segmentation, not a constant
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1] and a[2:] == b[2:]
    assert one["classes"] == many["classes"]


def test_cli_through_a_scheduler_address_matches_the_plain_cli(cluster, tuned, small_scene, tmp_path, capsys):
    lc, _ = cluster
    common = [str(small_scene / "scene.tif"), str(tuned[0]), "--json"]
    assert main(["sam", "segment", *common, "--out", str(tmp_path / "plain.tif")]) == 0
    assert main(["sam", "segment", *common, "--out", str(tmp_path / "dask.tif"), "--dask", lc.scheduler_address]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert json.loads(lines[-1])["path"] == str(tmp_path / "dask.tif")
    np.testing.assert_array_equal(_read(tmp_path / "plain.tif")[0], _read(tmp_path / "dask.tif")[0])


def test_cancel_leaves_no_output(cluster, tuned, small_scene, tmp_path):
    _, client = cluster
    job = Job()
    job.cancel()
    with pytest.raises(Cancelled):
        segment_file(small_scene / "scene.tif", tuned[0], tmp_path / "x.tif", window=128, cache_dir=None,
                     client=client, job=job)
    assert not (tmp_path / "x.tif").exists()


def test_bad_scheduler_is_one_line_exit_2(tuned, small_scene, tmp_path, capsys):
    code = main(["sam", "segment", str(small_scene / "scene.tif"), str(tuned[0]), "--out", str(tmp_path / "o.tif"),
                 "--dask", "udp://nowhere"])
    assert code == 2
    assert "--dask 'udp://nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "o.tif").exists()
