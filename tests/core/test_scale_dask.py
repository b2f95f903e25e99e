"""`satseg classify --dask`: a real scheduler and two worker processes on 127.0.0.1.

The reference is the single-process block path; the dask path must give the
same pixels bit for bit, survive a killed worker, honour Cancel, and leave no
output when the scheduler is unreachable or dies.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from desktop_app.cli import main
from desktop_app.core.classes import ClassInfo
from desktop_app.core.classifiers import make_classifier
from desktop_app.core.classify import classify_image
from desktop_app.core.demo_scene import write_demo_scene
from desktop_app.core.errors import SatSegError
from desktop_app.core.geotiff import GeoTiffWriter
from desktop_app.core.jobs import Cancelled, Job
from desktop_app.core.samples import TrainingData
from desktop_app.core.scale.dask_classify import ImageRecipe, dask_blocks
from desktop_app.core.sources import open_image

import distributed  # noqa: E402,F401  (a hard dependency: missing, the tests must fail, not skip)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    write_demo_scene(d, size=200)
    return d


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    """A synthetic 4-band scene of 5 x 6 blocks of 64 px with ragged edges and a nodata strip, and a fitted classifier."""
    rng = np.random.default_rng(3)
    rows, cols = 300, 350
    means = np.array([[0.05, 0.08, 0.06, 0.30], [0.10, 0.12, 0.15, 0.20], [0.04, 0.05, 0.04, 0.02]], np.float32)
    labels = (np.add.outer(np.arange(rows) // 40, np.arange(cols) // 55) % 3)
    data = means[labels].transpose(2, 0, 1) + rng.normal(0, 0.02, (4, rows, cols)).astype(np.float32)
    data[:, 100:130, :] = np.nan   # a nodata strip across several blocks
    path = tmp_path_factory.mktemp("tiles") / "scene.tif"
    with GeoTiffWriter(path, width=cols, height=rows, count=4, dtype="float32",
                       transform=Affine(10, 0, 500000, 0, -10, 3300000), crs=CRS.from_epsg(32643),
                       nodata=float("nan"), band_names=["B2", "B3", "B4", "B8"]) as w:
        w.write(data)
    y = labels[::7, ::7].ravel() + 1
    X = data[:, ::7, ::7].reshape(4, -1).T
    keep = np.isfinite(X).all(axis=1)
    classes = [ClassInfo(k, n, c) for k, n, c in [(1, "crop", "#00ff00"), (2, "urban", "#ff0000"), (3, "water", "#0000ff")]]
    td = TrainingData(X[keep], y[keep], classes, ["B2", "B3", "B4", "B8"], {k: int((y[keep] == k).sum()) for k in (1, 2, 3)})
    return path, td


def _pixels(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.tags(), ds.colormap(1) if ds.dtypes[0] == "uint8" else None


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_demo_scene_bit_for_bit_through_a_scheduler_address(cluster, demo, tmp_path, capsys):
    lc, _ = cluster
    common = [demo / "scene.tif", demo / "samples.geojson", "--method", "max_likelihood", "--block", "64", "--json"]
    code, _, err = _cli(capsys, "classify", *common, "--out", tmp_path / "one.tif", "--scores", tmp_path / "one_s.tif")
    assert code == 0, err
    code, out, err = _cli(capsys, "classify", *common, "--out", tmp_path / "dask.tif", "--scores", tmp_path / "dask_s.tif",
                          "--dask", lc.scheduler_address)
    assert code == 0, err
    a, b = _pixels(tmp_path / "one.tif"), _pixels(tmp_path / "dask.tif")
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
    assert len(np.unique(a[0])) >= 4   # a real map, not one class everywhere
    sa, sb = _pixels(tmp_path / "one_s.tif")[0], _pixels(tmp_path / "dask_s.tif")[0]
    assert sa.tobytes() == sb.tobytes()   # float32 scores, NaN included, byte for byte
    summary = json.loads(out)
    assert sum(c["pixels"] for c in summary["classes"]) + summary["unclassified"] + summary["nodata"] == 200 * 200


def _classify_both(cluster, tiles, tmp_path, method, job=None, thresholds=None, kill_after=None):
    lc, client = cluster
    path, td = tiles
    clf = make_classifier(method, **({"trees": 10} if method == "random_forest" else {}))
    clf.fit(td)
    with open_image(path) as src:
        classify_image(src, clf, tmp_path / "one.tif", thresholds=thresholds, block=64, scores_path=tmp_path / "one_s.tif")
        blocks = dask_blocks(client, ImageRecipe(str(path)), src, clf, thresholds, 64, job, with_scores=True)
        classify_image(src, clf, tmp_path / "dask.tif", thresholds=thresholds, block=64, blocks=blocks,
                       scores_path=tmp_path / "dask_s.tif")
    return _pixels(tmp_path / "one.tif"), _pixels(tmp_path / "dask.tif")


@pytest.mark.parametrize("method,thresholds", [("random_forest", 0.6), ("mahalanobis", 3.0)])
def test_multi_tile_scene_bit_for_bit(cluster, tiles, tmp_path, method, thresholds):
    seen = []
    a, b = _classify_both(cluster, tiles, tmp_path, method, Job(lambda f, m: seen.append(f)), thresholds)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert (a[0] == 255).sum() == 30 * 350 and (a[0] == 0).any() and {1, 2, 3} <= set(np.unique(a[0]))
    assert _pixels(tmp_path / "one_s.tif")[0].tobytes() == _pixels(tmp_path / "dask_s.tif")[0].tobytes()
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 30   # one step per block from as_completed


def test_a_killed_worker_s_blocks_are_retried(cluster, tiles, tmp_path):
    lc, client = cluster
    pids = client.run(os.getpid)
    killed = []

    def kill_one(fraction, message):
        if fraction > 0 and not killed:
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)   # the nanny restarts it; the scheduler reschedules its blocks
            killed.append(pid)

    a, b = _classify_both(cluster, tiles, tmp_path, "mahalanobis", Job(kill_one))
    assert killed and np.array_equal(a[0], b[0])
    # The nanny starts a new worker process; on a loaded machine its imports alone can take a minute.
    client.wait_for_workers(2, timeout=300)


def test_cancel_stops_the_cluster_and_writes_nothing(cluster, tiles, tmp_path):
    lc, client = cluster
    job = Job(lambda f, m: job.cancel() if f > 0.1 else None)
    with pytest.raises(Cancelled):
        _classify_both(cluster, tiles, tmp_path, "mahalanobis", job)
    assert not (tmp_path / "dask.tif").exists() and not (tmp_path / "dask_s.tif").exists()
    assert [p.name for p in tmp_path.iterdir()] and all(p.name.startswith("one") for p in tmp_path.iterdir())
    deadline = time.monotonic() + 20
    while any(k.startswith("satseg-classify") for k in _scheduler_tasks(client)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [k for k in _scheduler_tasks(client) if k.startswith("satseg-classify")]


def _scheduler_tasks(client):
    return client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])


def test_unreachable_scheduler_one_line_and_no_output(demo, tmp_path, capsys, monkeypatch):
    import socket

    from desktop_app.core.scale import cluster as scale_cluster

    monkeypatch.setattr(scale_cluster, "CONNECT_TIMEOUT_S", 2)
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = _cli(capsys, "classify", demo / "scene.tif", demo / "samples.geojson", "--out", tmp_path / "c.tif",
                          "--dask", f"tcp://127.0.0.1:{port}")
    assert code == 2 and "cannot reach the dask scheduler" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []
    code, out, err = _cli(capsys, "classify", demo / "scene.tif", demo / "samples.geojson", "--out", tmp_path / "c.tif",
                          "--dask", "127.0.0.1:8786")
    assert code == 2 and "--dask '127.0.0.1:8786'" in err


def test_scheduler_dying_mid_run_leaves_no_output(tiles, tmp_path):
    """A scheduler and a worker as their own processes (dask's CLI); the scheduler is killed mid-run."""
    path, td = tiles
    sfile = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    sched = subprocess.Popen(dask + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                     "--scheduler-file", str(sfile)], stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not sfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sfile.read_text())["address"]
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                   "--no-nanny", "--no-dashboard"], stderr=subprocess.DEVNULL,
                                  env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        from desktop_app.core.scale.cluster import dask_client

        clf = make_classifier("mahalanobis")
        clf.fit(td)
        with dask_client(address) as client, open_image(path) as src:
            client.wait_for_workers(1, timeout=60)

            def kill(fraction, message):
                if fraction > 0 and sched.poll() is None:
                    sched.send_signal(signal.SIGKILL)
                    sched.wait()

            with pytest.raises(SatSegError, match="lost the dask scheduler mid-run"):
                classify_image(src, clf, tmp_path / "c.tif", block=64,
                               blocks=dask_blocks(client, ImageRecipe(str(path)), src, clf, None, 64, Job(kill)))
        assert not (tmp_path / "c.tif").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["scheduler.json"]
    finally:
        for p in (worker, sched):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


class _RangeHandler:
    """A static file server on 127.0.0.1 that honours HTTP Range requests, as COG hosts do."""

    @staticmethod
    def serve(path):
        import http.server
        import threading

        data = Path(path).read_bytes()
        seen = []

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, body_wanted):
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    a, b = int(a), min(int(b) if b else len(data) - 1, len(data) - 1)
                    chunk, code = data[a:b + 1], 206
                else:
                    chunk, code = data, 200
                seen.append(rng)
                self.send_response(code)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(chunk)))
                if code == 206:
                    self.send_header("Content-Range", f"bytes {a}-{b}/{len(data)}")
                self.end_headers()
                if body_wanted:
                    self.wfile.write(chunk)

            def do_GET(self):
                self._send(True)

            def do_HEAD(self):
                self._send(False)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/{Path(path).name}", seen


def test_workers_read_a_cog_over_http_by_ranges(cluster, tiles, tmp_path):
    lc, client = cluster
    path, td = tiles
    server, url, seen = _RangeHandler.serve(path)
    try:
        clf = make_classifier("mahalanobis")
        clf.fit(td)
        from desktop_app.core.classify import bounded_gdal_cache

        with open_image(path) as local:
            classify_image(local, clf, tmp_path / "one.tif", block=64)
        with bounded_gdal_cache(), open_image(url) as remote:
            assert remote.width == 350 and remote.band_names == ["B2", "B3", "B4", "B8"]
            classify_image(remote, clf, tmp_path / "url.tif", block=64,
                           blocks=dask_blocks(client, ImageRecipe(url), remote, clf, None, 64))
    finally:
        server.shutdown()
    assert np.array_equal(_pixels(tmp_path / "one.tif")[0], _pixels(tmp_path / "url.tif")[0])
    assert any(r and r.startswith("bytes=") for r in seen)   # ranges, not whole-file downloads
