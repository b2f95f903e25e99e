"""Data safety (docs/data-safety.md): full disks, failed runs, folders given as files, file modes.

Full-disk tests use a real 64 KiB tmpfs with 8 KiB free (``full_disk`` in
tests/conftest.py), or an 8 KiB file-size limit where mounting is not allowed.
"""
import json
import os
import stat
import sys

import numpy as np
import pytest
import rasterio

from desktop_app.cli import main
from desktop_app.core import atomic
from desktop_app.core.atomic import atomic_batch, check_outputs, copy_file_atomic, write_text_atomic
from desktop_app.core.classes import read_class_raster, write_class_raster
from desktop_app.core.errors import SatSegError
from desktop_app.core.geotiff import verify_geotiff
from desktop_app.core.project import ProjectState, load_project, save_project

SATSEG = [sys.executable, "-m", "desktop_app.cli"]
ENV = {**os.environ, "PYTHONPATH": os.getcwd()}


def _leftovers(folder):
    """Temporary or backup files of the atomic writer."""
    return [p.name for p in folder.rglob(".*") if ".part" in p.name or ".old" in p.name]


@pytest.fixture(scope="module")
def truth(demo_dir):
    return read_class_raster(demo_dir / "truth.tif")


# ------------------------------------------------------------------ full disk: CLI
def test_classify_on_a_full_disk_exits_2_and_keeps_the_old_raster(demo_dir, full_disk):
    old = full_disk.dir / "classes.tif"
    old.write_bytes(b"the previous result")
    full_disk.fill()
    p = full_disk.run(SATSEG + ["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"),
                                "--out", str(old)], env=ENV)
    assert p.returncode == 2, p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"satseg: error: cannot write {old}"), p.stderr
    if full_disk.tmpfs:
        assert "the disk is full" in lines[0]
    assert old.read_bytes() == b"the previous result"
    assert full_disk.files() == ["classes.tif"] and not _leftovers(full_disk.dir)


def test_a_failed_export_removes_the_class_raster_of_the_same_run(demo_dir, full_disk, tmp_path):
    out = tmp_path / "run" / "classes.tif"
    out.parent.mkdir()
    full_disk.fill()
    p = full_disk.run(SATSEG + ["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"),
                                "--out", str(out), "--vector", str(full_disk.dir / "classes.geojson")], env=ENV)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert list(out.parent.iterdir()) == [] and full_disk.files() == []


def test_every_output_is_checked_before_any_work(demo_dir, tmp_path, capsys):
    out = tmp_path / "classes.tif"
    rc = main(["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"), "--out", str(out),
               "--report", str(tmp_path / "r.csv"), "--vector", str(tmp_path / "missing" / "v.geojson")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"satseg: error: cannot write --vector {tmp_path / 'missing' / 'v.geojson'}: "
                   f"its folder does not exist"]
    assert list(tmp_path.iterdir()) == []      # not even the class raster was started


@pytest.mark.parametrize("command", ["classify", "export", "fetch"])
def test_out_naming_a_folder_is_one_line_and_leaves_nothing(demo_dir, tmp_path, capsys, command):
    folder = tmp_path / "results"
    folder.mkdir()
    if command == "classify":
        args = ["classify", str(demo_dir / "scene.tif"), str(demo_dir / "samples.geojson"), "--out", str(folder)]
    elif command == "export":
        args = ["export", str(demo_dir / "truth.tif"), "--geotiff", str(folder)]
    else:   # refused before any download (the STAC address is never contacted)
        args = ["fetch", "--source", "stac", "--roi", str(demo_dir / "roi.geojson"), "--out", str(folder),
                "--stac-url", "http://127.0.0.1:9/never", "--cache-dir", str(folder)]
    for _ in range(2):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(f"{folder}: it is a folder; give a file name")
    assert list(tmp_path.rglob("*")) == [folder]


def test_demo_scene_into_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["demo-scene", str(tmp_path / "afile"), "--size", "64"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot create the folder" in err[0]


def test_outputs_must_differ_from_each_other_and_from_the_inputs(demo_dir, tmp_path):
    with pytest.raises(SatSegError, match="--out and --vector both name"):
        check_outputs({"--out": tmp_path / "a.tif", "--vector": tmp_path / "a.tif"})
    with pytest.raises(SatSegError, match="one of the input files"):
        check_outputs({"--out": demo_dir / "scene.tif"}, inputs=[demo_dir / "scene.tif"])


# ------------------------------------------------------------------ full disk: core writers
def test_geotiff_on_a_full_disk_keeps_the_old_file(truth, full_disk):
    array, transform, crs, classes = truth
    dest = full_disk.dir / "truth.tif"
    write_class_raster(dest, array[:64, :64], transform, crs, classes)
    before = dest.read_bytes()
    full_disk.fill()
    with full_disk.limited(), pytest.raises(SatSegError, match=f"cannot write {dest}"):
        write_class_raster(dest, array, transform, crs, classes)
    assert dest.read_bytes() == before and full_disk.files() == ["truth.tif"]
    assert not _leftovers(full_disk.dir)


def test_a_cut_short_geotiff_is_recognised(truth, tmp_path):
    array, transform, crs, classes = truth
    path = tmp_path / "t.tif"
    write_class_raster(path, array, transform, crs, classes)
    verify_geotiff(path)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)        # what a full disk leaves: GDAL itself reported nothing
    with pytest.raises(SatSegError, match="incomplete|disk is full"):
        verify_geotiff(path)


def test_text_and_copies_on_a_full_disk(full_disk, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20_000))
    report = full_disk.dir / "report.json"
    report.write_text("{}")
    full_disk.fill()
    with full_disk.limited():
        with pytest.raises(SatSegError, match="cannot write"):
            write_text_atomic(report, json.dumps(list(range(5000))))
        with pytest.raises(SatSegError, match="cannot write"):
            copy_file_atomic(big, full_disk.dir / "copy.bin")
    assert report.read_text() == "{}" and full_disk.files() == ["report.json"]
    assert not _leftovers(full_disk.dir)


def test_tile_cache_on_a_full_disk_keeps_nothing_half_written(full_disk):
    from affine import Affine  # noqa: F401  (the cache needs rasterio's stack loaded)

    from desktop_app.core.online.tile_cache import TileCache
    from desktop_app.core.online.tiling import plan_tiles

    cache = TileCache(full_disk.dir, "req")
    tile = plan_tiles(64, 64, 64)[0]
    full_disk.fill()
    with full_disk.limited(), pytest.raises(SatSegError, match="cannot write"):
        cache.save(tile, np.random.default_rng(0).integers(1, 9999, (4, 64, 64)).astype(np.uint16))
    assert not cache.has(tile) and not _leftovers(full_disk.dir)


def _project_state(image):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"class": "water", "color": "#1f78b4", "role": "training", "pid": "p1"},
         "geometry": {"type": "Polygon", "coordinates": [[[77.0, 29.0], [77.01, 29.0], [77.01, 29.01],
                                                          [77.0, 29.0]]]}}]}
    return ProjectState(name="field", image=str(image), samples=fc)


def test_project_save_on_a_full_disk_leaves_the_previous_project(truth, full_disk, demo_dir):
    array, transform, crs, classes = truth
    folder = full_disk.dir / "project"
    save_project(folder, _project_state(demo_dir / "scene.tif"),
                 class_raster=(array[:64, :64], transform, crs, classes))
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert "results/classes.tif" in {str(k) for k in before}
    full_disk.fill()
    bigger = _project_state(demo_dir / "scene.tif")
    bigger.name = "changed"
    with full_disk.limited(), pytest.raises(SatSegError, match="cannot write"):
        save_project(folder, bigger, class_raster=(array, transform, crs, classes))
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before                       # the good class raster was not replaced by a short one
    state = load_project(folder)
    assert state.name == "field" and state.warnings == []
    with rasterio.open(state.results["class_raster"]) as ds:
        assert np.array_equal(ds.read(1), array[:64, :64])


# ------------------------------------------------------------------ batches
def test_a_batch_switches_in_all_files_or_none(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    with pytest.raises(RuntimeError):
        with atomic_batch():
            write_text_atomic(a, "new a")
            write_text_atomic(b, "new b")
            assert a.read_text() == "old a" and not b.exists()   # nothing switched in yet
            raise RuntimeError("a later step failed")
    assert a.read_text() == "old a" and not b.exists() and not _leftovers(tmp_path)
    with atomic_batch() as batch:
        write_text_atomic(a, "new a")
        assert batch.staged_path(a).read_text() == "new a"
        write_text_atomic(b, "new b")
    assert a.read_text() == "new a" and b.read_text() == "new b" and not _leftovers(tmp_path)


def test_a_failed_rename_puts_the_switched_files_back(tmp_path, monkeypatch):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")
    real = os.replace

    def refuse_b(src, dst):
        if str(dst) == str(b):
            raise OSError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse_b)
    with pytest.raises(SatSegError, match="permission denied"):
        with atomic_batch():
            write_text_atomic(a, "new a")
            write_text_atomic(b, "new b")
    assert a.read_text() == "old a" and b.read_text() == "old b" and not _leftovers(tmp_path)


# ------------------------------------------------------------------ file modes
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(truth, tmp_path, umask, mode):
    array, transform, crs, classes = truth
    old = os.umask(umask)
    try:
        paths = [write_text_atomic(tmp_path / "r.csv", "a,b\n"),
                 copy_file_atomic(tmp_path / "r.csv", tmp_path / "copy.csv")]
        write_class_raster(tmp_path / "c.tif", array[:32, :32], transform, crs, classes)
        paths.append(tmp_path / "c.tif")
    finally:
        os.umask(old)
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p
