"""satseg ee-tasks download: an Earth Engine export read back from Drive or Cloud Storage, offline.

The APIs are a real HTTP server on 127.0.0.1 (``google_apis.GoogleApis``)
speaking Drive v3 and the Cloud Storage JSON API; the client side is the
real one: google-auth's AuthorizedSession and requests.
"""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.classes import ClassInfo
from desktop_app.core.errors import SatSegError, cli_text
from desktop_app.core.geotiff import GeoTiffWriter
from desktop_app.core.jobs import Cancelled, Job
from desktop_app.core.online.roi import parse_roi
from desktop_app.core.online.tile_runner import Backoff
from desktop_app.core.scale import ee_tasks as T
from google_apis import GoogleApis

DRIVE = "https://www.googleapis.com/auth/drive"
UTM = CRS.from_epsg(32643)
GRID = Affine(10, 0, 500000, 0, -10, 3300000)
H, W = 300, 280
CLASSES = [ClassInfo(1, "crop", "#00ff00"), ClassInfo(2, "urban", "#ff0000"), ClassInfo(3, "water", "#0000ff")]
TASK_CREATED_MS = 1772359200000          # 2026-03-01T10:00:00Z


def _labels(seed=0):
    return np.random.default_rng(seed).integers(0, 4, (H, W)).astype(np.uint8)


def _tif(tmp_path, name, arr, transform) -> bytes:
    """What Earth Engine exports: a bare uint8 GeoTIFF (no colour table, no class list)."""
    p = tmp_path / name
    with GeoTiffWriter(p, width=arr.shape[1], height=arr.shape[0], count=1, dtype="uint8", transform=transform,
                       crs=UTM) as w:
        w.write(arr)
    return p.read_bytes()


def _split(tmp_path, labels, rows=(0, 160), cols=(0, 128)):
    """Earth Engine's split export: PREFIX-<row offset>-<col offset>.tif tiles on one grid."""
    tiles = {}
    for r0, r1 in zip(rows, rows[1:] + (H,)):
        for c0, c1 in zip(cols, cols[1:] + (W,)):
            name = f"up-{r0:010d}-{c0:010d}.tif"
            tiles[name] = _tif(tmp_path, name, labels[r0:r1, c0:c1], GRID @ Affine.translation(c0, r0))
    return tiles


def _roi():
    """A triangle inside the grid (WGS84), as classify-ee records it in SATSEG_ROI."""
    from desktop_app.core.geo import WGS84, transform_geometry

    tri = shapely.Polygon([(500000 + 303.7, 3300000 - 207.1), (500000 + 2611.3, 3300000 - 904.9),
                           (500000 + 893.2, 3300000 - 2894.6)])
    return json.loads(json.dumps(shapely.geometry.mapping(transform_geometry(tri, UTM, WGS84))))


def _outside(roi_geojson):
    """Pixels set to 255 outside the ROI: the tile path's rule (Roi.mask), checked against shapely.

    Shapely says which pixel squares miss the ROI; GDAL's all-touched rasteriser may differ only on
    squares the ROI's outline crosses (a corner grazed by an edge).
    """
    from desktop_app.core.online.roi import Grid

    roi = parse_roi(roi_geojson)
    mask = roi.mask(Grid(UTM, GRID, W, H))
    rows, cols = np.indices((H, W))
    x0, y0 = GRID.c + cols * GRID.a, GRID.f + rows * GRID.e
    boxes = shapely.box(x0, y0 + GRID.e, x0 + GRID.a, y0)
    differ = mask != ~shapely.intersects(boxes, roi.projected)
    assert differ.sum() < 0.001 * mask.size and (shapely.distance(boxes[differ], roi.projected.boundary) < 1e-6).all()
    return mask


def _record(tmp_path, dest, roi=None):
    tags = {"SATSEG_ENGINE": "earthengine", **({"SATSEG_ROI": json.dumps(roi)} if roi else {})}
    return {"id": "T42", "dest": dest, "out": str(tmp_path / "out" / "classes.tif"),
            "classes": [c.to_dict() for c in CLASSES], "tags": tags}


def _session(scopes=(DRIVE,), token="test-token"):
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2.credentials import Credentials

    return AuthorizedSession(Credentials(token=token, scopes=list(scopes) if scopes else None))


def _download(api, record, status=None, session=None, **kw):
    status = status or {"state": "COMPLETED", "creation_timestamp_ms": TASK_CREATED_MS}
    kw.setdefault("backoff", Backoff(attempts=3, base=0.0, sleep=lambda s: None))
    return T.download(record, status, session or _session(), drive_api=api.drive_api, storage_api=api.storage_api,
                      **kw)


@pytest.fixture
def out_dir(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "up").mkdir()
    return tmp_path / "out"


def test_split_drive_export_is_found_paged_downloaded_and_mosaicked(tmp_path, out_dir):
    labels, roi = _labels(), _roi()
    with GoogleApis(page_size=2) as api:
        satseg = api.folder("satseg")
        other = api.folder("elsewhere")
        ids = {name: api.drive_file(name, satseg, data) for name, data in _split(tmp_path / "up", labels).items()}
        # What must not be taken: an older export with the same name, a trashed copy, a look-alike name,
        # the same name in another folder.
        stale = _tif(tmp_path / "up", "stale.tif", np.full((160, 128), 3, np.uint8), GRID)
        api.drive_file("up-0000000000-0000000000.tif", satseg, stale, created="2026-02-01T09:00:00.000Z")
        api.drive_file("up-0000000000-0000000000.tif", satseg, stale, trashed=True)
        api.drive_file("up-other.tif", satseg, stale)
        api.drive_file("up.tif", other, stale)
        out = _download(api, _record(tmp_path, "drive:satseg/up", roi))
        lists = [r for r in api.requests if r.startswith("/drive/v3/files?")]
        media = sorted(r.split("?")[0].rsplit("/", 1)[1] for r in api.requests if "alt=media" in r)
    assert any("pageToken=" in r for r in lists)                 # more than one page was read
    assert media == sorted(ids.values())                         # exactly this export's four tiles
    want = labels.copy()
    want[_outside(roi)] = 255
    with rasterio.open(out) as ds:
        got = ds.read(1)
        assert (ds.width, ds.height, ds.crs, ds.transform) == (W, H, UTM, GRID)
        assert ds.nodata == 255 and ds.colormap(1)[2][:3] == (255, 0, 0)
        assert [c["name"] for c in json.loads(ds.tags()["SATSEG_CLASSES"])] == ["crop", "urban", "water"]
        assert ds.tags()["SATSEG_ENGINE"] == "earthengine"
    assert np.array_equal(got, want) and 0 < (got == 255).sum() < got.size
    assert sorted(p.name for p in out_dir.iterdir()) == ["classes.tif"]     # no download left behind


def test_the_task_s_folder_id_is_used_and_a_single_file_is_taken(tmp_path, out_dir):
    labels = _labels(1)
    with GoogleApis() as api:
        a, b = api.folder("satseg"), api.folder("satseg")          # two folders of that name: the task says which
        api.drive_file("up.tif", a, _tif(tmp_path / "up", "a.tif", np.zeros((H, W), np.uint8), GRID))
        api.drive_file("up.tif", b, _tif(tmp_path / "up", "b.tif", labels, GRID))
        status = {"state": "COMPLETED", "destination_uris": [f"https://drive.google.com/#folders/{b}"]}
        out = _download(api, _record(tmp_path, "drive:satseg/up"), status)
        assert not any("mimeType+%3D" in r or "mimeType%20%3D" in r for r in api.requests)   # no folder search
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(1), labels)


def test_cloud_storage_export_is_listed_by_prefix_and_checked(tmp_path, out_dir):
    labels = _labels(2)
    with GoogleApis(page_size=1) as api:
        for name, data in _split(tmp_path / "up", labels, rows=(0,), cols=(0, 200)).items():
            api.gcs_object("bkt", f"satseg/{name}", data)
        api.gcs_object("bkt", "satseg/up-notes.txt", b"x")
        api.corrupt_once.add("/storage/v1/b/bkt/o/satseg%2Fup-0000000000-0000000000.tif")
        out = _download(api, _record(tmp_path, "gs://bkt/satseg/up"))
        media = [r for r in api.requests if "alt=media" in r]
    # The corrupted answer failed its MD5 check and was fetched again.
    assert len(media) == 3 and media[0] == media[1]
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(1), labels) and ds.colormap(1)[3][:3] == (0, 0, 255)


def test_no_drive_scope_is_one_line_saying_what_to_do(tmp_path, out_dir):
    with GoogleApis() as api:
        with pytest.raises(SatSegError, match="does not allow reading Google Drive .*Sign in with Google…") as err:
            _download(api, _record(tmp_path, "drive:satseg/up"),
                      session=_session(scopes=["https://www.googleapis.com/auth/earthengine"]))
        assert "--" not in str(err.value)      # the window's words; the command line's name the command and flag
        assert "'earthengine authenticate --force'" in cli_text(err.value) and "(--ee-key)" in cli_text(err.value)
        assert api.requests == []                                  # refused before any request
        # Credentials that do not list their scopes: Google's 403 says it, in the same words.
        api.faults.append(("/drive/v3/files", 403, "insufficientPermissions",
                           "Request had insufficient authentication scopes."))
        with pytest.raises(SatSegError, match="does not allow reading Google Drive \\(Request had insufficient"):
            _download(api, _record(tmp_path, "drive:satseg/up"), session=_session(scopes=None))
        with pytest.raises(SatSegError, match="Google Drive refused the Earth Engine credentials"):
            _download(api, _record(tmp_path, "drive:satseg/up"), session=_session(token="expired"))
    assert list(out_dir.iterdir()) == []


def test_missing_folder_or_file_and_server_errors_are_one_line(tmp_path, out_dir):
    labels = _labels(3)
    with GoogleApis() as api:
        with pytest.raises(SatSegError, match="no folder 'satseg' in the Google Drive"):
            _download(api, _record(tmp_path, "drive:satseg/up"))
        satseg = api.folder("satseg")
        with pytest.raises(SatSegError, match="T42 is finished but Google Drive folder 'satseg' has no up.tif"):
            _download(api, _record(tmp_path, "drive:satseg/up"))
        fid = api.drive_file("up.tif", satseg, _tif(tmp_path / "up", "up.tif", labels, GRID))
        api.faults.append((f"/drive/v3/files/{fid}", 404, "notFound", f"File not found: {fid}."))
        with pytest.raises(SatSegError, match="not found in Google Drive .*moved or deleted"):
            _download(api, _record(tmp_path, "drive:satseg/up"))
        api.faults += [(f"/drive/v3/files/{fid}", 503, "backendError", "Backend Error")] * 3
        with pytest.raises(SatSegError, match="Google Drive answered 503 after 3 attempts .*Backend Error"):
            _download(api, _record(tmp_path, "drive:satseg/up"))
        api.faults = [("/drive/v3/files", 403, "userRateLimitExceeded", "User Rate Limit Exceeded")]
        out = _download(api, _record(tmp_path, "drive:satseg/up"))   # a rate limit is waited out
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(1), labels)
    assert sorted(p.name for p in out_dir.iterdir()) == ["classes.tif"]


@pytest.mark.parametrize("status, message", [
    ({"state": "FAILED", "error_message": "Export too large: specified 1e13 pixels."},
     "export T42 failed: Export too large"),
    ({"state": "CANCELLED"}, "export T42 was cancelled"),
    ({"state": "RUNNING"}, "not finished yet \\(running\\)"),
])
def test_failed_or_cancelled_drive_export_is_one_line_before_any_request(tmp_path, out_dir, status, message):
    with GoogleApis() as api:
        with pytest.raises(SatSegError, match=message):
            _download(api, _record(tmp_path, "drive:satseg/up"), status)
        assert api.requests == []


def test_cancel_mid_download_and_a_silent_server(tmp_path, out_dir):
    labels = _labels(4)
    with GoogleApis() as api:
        satseg = api.folder("satseg")
        api.drive_file("up.tif", satseg, _tif(tmp_path / "up", "up.tif", labels, GRID))
        api.stall_after = 1000
        job = Job()

        def cancel_when_stalled():
            api.holding.wait(10)
            job.cancel()
        threading.Thread(target=cancel_when_stalled, daemon=True).start()
        t0 = time.monotonic()
        with pytest.raises(Cancelled):
            _download(api, _record(tmp_path, "drive:satseg/up"), job=job)
        assert time.monotonic() - t0 < 5
        assert list(out_dir.iterdir()) == []                   # neither the output nor a partial download
        t0 = time.monotonic()
        with pytest.raises(SatSegError, match="Google Drive did not answer within 0.5 s while downloading up.tif"):
            _download(api, _record(tmp_path, "drive:satseg/up"), timeout=0.5, backoff=Backoff(attempts=1))
        assert time.monotonic() - t0 < 4
    assert list(out_dir.iterdir()) == []


# --- the whole command: satseg ee-tasks download ID, task state from earthengine-api's offline harness --------

from ee import apitestcase  # noqa: E402  (earthengine-api's own offline harness)


class FakeOperations:
    """The harness's HTTP layer: answers operations.get and operations.cancel from recorded operations."""

    def __init__(self, operations: dict) -> None:
        self.operations, self.asked, self.cancelled = operations, [], []

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        import re

        from test_online_earthengine import _error, _ok

        m = re.search(r"/operations/([^/?:]+)(:cancel)?", uri)
        self.asked.append(uri)
        if m and m.group(2) and method == "POST" and m.group(1) in self.operations:
            self.cancelled.append(m.group(1))
            return _ok(b"{}", "application/json")
        if m and m.group(1) in self.operations:
            return _ok(json.dumps(self.operations[m.group(1)]).encode(), "application/json")
        return _error(404, "Requested entity was not found.")


def _operation(task_id, state, **extra):
    return {"name": f"projects/earthengine-legacy/operations/{task_id}", "done": state != "RUNNING",
            "metadata": {"@type": "type.googleapis.com/google.earthengine.v1alpha.OperationMetadata",
                         "state": state, "createTime": "2026-03-01T10:00:00Z", **extra.pop("metadata", {})}, **extra}


class TestCommand(apitestcase.ApiTestCase):
    @pytest.fixture(autouse=True)
    def _inject(self, tmp_path, monkeypatch, capsys):
        from google.oauth2.credentials import Credentials

        from desktop_app.core.online import earthengine as E
        from desktop_app.core.online.ee_errors import SESSION

        self.tmp, self.capsys = tmp_path, capsys
        (tmp_path / "out").mkdir()
        (tmp_path / "up").mkdir()
        monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
        (tmp_path / "home").mkdir()
        # Signed in already (no Google sign-in offline): the session's credentials, as ee_initialize keeps them.
        monkeypatch.setattr(E, "ensure_session", lambda *a, **k: None)
        monkeypatch.setitem(SESSION, "credentials", Credentials(token="test-token", scopes=[DRIVE]))
        records = [_record(tmp_path, "drive:satseg/up") | {"id": i, "started": "2026-03-01 10:00"}
                   for i in ("DONE1", "FAIL1", "STOP1")]
        (tmp_path / "home" / "ee-tasks.json").write_text(json.dumps(records))

    def run_cli(self, api, folder_id, *argv):
        from desktop_app.cli import main
        from desktop_app.core.scale import export_files

        ops = FakeOperations({
            "DONE1": _operation("DONE1", "SUCCEEDED",
                                metadata={"destinationUris": [f"https://drive.google.com/#folders/{folder_id}"]}),
            "FAIL1": _operation("FAIL1", "FAILED", error={"code": 3, "message": "Export too large: 2e13 pixels."}),
            "STOP1": _operation("STOP1", "CANCELLED"), "RUN1": _operation("RUN1", "RUNNING"),
            "HALT1": _operation("HALT1", "CANCELLING")})
        with pytest.MonkeyPatch.context() as mp, apitestcase.UsingCloudApi(mock_http=ops):
            mp.setattr(export_files, "DRIVE_API", api.drive_api)     # Google's address -> the loopback server
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = exc.code
        out = self.capsys.readouterr()
        return code, out.out, out.err, ops

    def test_download_of_a_finished_drive_export_writes_the_class_raster(self):
        labels = _labels(5)
        with GoogleApis() as api:
            satseg = api.folder("satseg")
            for name, data in _split(self.tmp / "up", labels).items():
                api.drive_file(name, satseg, data)
            code, out, err, ops = self.run_cli(api, satseg, "ee-tasks", "download", "DONE1")
        assert code == 0, err
        assert any("operations/DONE1" in u for u in ops.asked)
        assert out.strip() == f"{self.tmp / 'out' / 'classes.tif'}: written from Earth Engine export DONE1"
        with rasterio.open(self.tmp / "out" / "classes.tif") as ds:
            assert np.array_equal(ds.read(1), labels) and ds.colormap(1)[1][:3] == (0, 255, 0)
        # --json: one JSON object naming the file written.
        other = self.tmp / "out" / "again.tif"
        with GoogleApis() as api:
            satseg = api.folder("satseg")
            for name, data in _split(self.tmp / "up", labels).items():
                api.drive_file(name, satseg, data)
            code, out, err, _ = self.run_cli(api, satseg, "ee-tasks", "download", "DONE1", "--out", str(other),
                                             "--json")
        assert code == 0, err
        assert json.loads(out) == {"id": "DONE1", "path": str(other)}
        with rasterio.open(other) as ds:
            assert np.array_equal(ds.read(1), labels)

    def test_failed_and_cancelled_exports_are_one_line_exit_2(self):
        with GoogleApis() as api:
            for task, message in (("FAIL1", "satseg: error: Earth Engine export FAIL1 failed: Export too large: "
                                            "2e13 pixels."),
                                  ("STOP1", "satseg: error: Earth Engine export STOP1 was cancelled; start it again "
                                            "with satseg classify-ee --export")):
                code, out, err, _ = self.run_cli(api, "x", "ee-tasks", "download", task)
                assert (code, out, err.strip()) == (2, "", message)
            assert api.requests == []          # nothing was asked of Drive
        assert list((self.tmp / "out").iterdir()) == []
        # The same error in the window (Earth Engine tasks dialog): what to do there, no command.
        from desktop_app.core.scale.ee_tasks import ensure_done

        with pytest.raises(SatSegError) as err:
            ensure_done("STOP1", {"state": "CANCELLED"})
        assert str(err.value) == ("Earth Engine export STOP1 was cancelled; start it again: Run classification with "
                                  "'on Earth Engine' ticked (Model panel), then tick 'Export the result on Earth "
                                  "Engine' in its dialog")


    def test_list_reads_each_task_s_operation_and_cancel_cancels_it(self):
        import warnings

        from desktop_app.core.scale import ee_tasks as T

        records = T.read_records()
        T._write_records(records + [{**records[0], "id": "GONE1"}])       # a task Earth Engine no longer knows
        with GoogleApis() as api, warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)           # getTaskStatus / cancelTask are deprecated
            code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "list")
            assert code == 0, err
            assert [u.split("?")[0].rsplit("/", 1)[1] for u in ops.asked] == ["DONE1", "FAIL1", "STOP1", "GONE1"]
            lines = out.strip().splitlines()
            assert lines[0].endswith("drive:satseg/up -> " + str(self.tmp / "out" / "classes.tif") + ": completed: https://drive.google.com/#folders/x")
            assert lines[1].endswith(": failed: Export too large: 2e13 pixels.") and lines[2].endswith(": cancelled")
            assert lines[3].endswith(": unknown to Earth Engine (deleted, expired, or started under another Cloud "
                                     "project)")
            code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "cancel", "DONE1")
            assert (code, out.strip()) == (0, "DONE1: cancel requested") and ops.cancelled == ["DONE1"]
            assert ops.asked[-1].split("?")[0].endswith("/operations/DONE1:cancel")
            # --json: one JSON object each, the same facts.
            code, out, err, _ = self.run_cli(api, "x", "ee-tasks", "list", "--json")
            assert code == 0, err
            tasks = json.loads(out)["tasks"]
            assert [t["id"] for t in tasks] == ["DONE1", "FAIL1", "STOP1", "GONE1"]
            assert tasks[1]["state"] == "failed: Export too large: 2e13 pixels."
            assert tasks[0]["dest"] == "drive:satseg/up" and tasks[0]["out"] == str(self.tmp / "out" / "classes.tif")
            assert tasks[3]["state"].startswith("unknown to Earth Engine")
            code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "cancel", "FAIL1", "--json")
            assert code == 0, err
            assert json.loads(out) == {"id": "FAIL1", "cancel_requested": True} and ops.cancelled == ["FAIL1"]
            T._write_records([])                                         # an empty list is an object too
            code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "list", "--json")
            assert (code, json.loads(out), ops.asked) == (0, {"tasks": []}, [])

    def test_forget_removes_a_finished_failed_cancelled_or_expired_task_from_the_list_only(self):
        import desktop_app.core.atomic as atomic
        from desktop_app.core.scale import ee_tasks as T

        records = T.read_records()
        T._write_records(records + [{**records[0], "id": i} for i in ("RUN1", "HALT1", "GONE1")])
        downloaded = self.tmp / "out" / "classes.tif"
        downloaded.write_bytes(b"the downloaded class raster")
        writes, real = [], atomic.write_text_atomic
        with GoogleApis() as api, pytest.MonkeyPatch.context() as mp:
            mp.setattr(atomic, "write_text_atomic", lambda *a, **k: (writes.append(a[0]), real(*a, **k))[1])
            for task, state in (("DONE1", "completed"), ("FAIL1", "failed"), ("STOP1", "cancelled")):
                code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "forget", task)
                assert code == 0, err
                assert out.startswith(f"{task}: removed from the list ({state}") and "nothing on Earth Engine" in out
                assert task not in [r["id"] for r in T.read_records()]
                assert ops.cancelled == [] and all(f"operations/{task}" in u for u in ops.asked)
            assert writes == [T.tasks_file()] * 3                # rewritten through the atomic writer
            # One Earth Engine no longer knows (its operation is a 404: expired or deleted) may go too;
            # --json says so in one object.
            code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "forget", "GONE1", "--json")
            assert code == 0, err
            assert json.loads(out) == {"id": "GONE1", "removed": True,
                                       "state": "unknown to Earth Engine (deleted, expired, or started under "
                                                "another Cloud project)"}
            assert "GONE1" not in [r["id"] for r in T.read_records()] and ops.cancelled == []
            assert any("operations/GONE1" in u for u in ops.asked) and len(writes) == 4
            # A task that can still change stays, one line, exit 2.
            for task, now in (("RUN1", "running"), ("HALT1", "being cancelled")):
                code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "forget", task, "--json")
                assert (code, out, ops.cancelled) == (2, "", [])
                assert err.strip() == (f"satseg: error: Earth Engine task {task} is {now}: only a finished, failed "
                                       f"or cancelled task, or one Earth Engine no longer knows, can be removed "
                                       f"from the list; wait for it, or cancel it first (satseg ee-tasks cancel "
                                       f"{task})")
            # An id SatSeg never started: one line, exit 2, before any request.
            code, out, err, ops = self.run_cli(api, "x", "ee-tasks", "forget", "NOPE1")
            assert (code, out, ops.asked) == (2, "", [])
            assert err.strip() == ("satseg: error: no Earth Engine task NOPE1 was started by SatSeg "
                                   "(see satseg ee-tasks list)")
            assert api.requests == []                            # Drive was never asked
        assert [r["id"] for r in T.read_records()] == ["RUN1", "HALT1"] and len(writes) == 4
        assert downloaded.read_bytes() == b"the downloaded class raster"


_CHILD = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from ee import apitestcase
from google.oauth2.credentials import Credentials
import test_scale_ee_download as T
from desktop_app.cli import main
from desktop_app.core.online import earthengine as E
from desktop_app.core.online.ee_errors import SESSION
from desktop_app.core.scale import export_files

harness = apitestcase.ApiTestCase()
harness.setUp()                                   # earthengine-api's offline initialisation
E.ensure_session = lambda *a, **k: None           # signed in already (no Google sign-in offline)
SESSION["credentials"] = Credentials(token="test-token", scopes=[T.DRIVE])
export_files.DRIVE_API = sys.argv[2]              # Google's address -> the parent's loopback server
ops = T.FakeOperations({"DONE1": T._operation("DONE1", "SUCCEEDED")})
with apitestcase.UsingCloudApi(mock_http=ops):
    sys.exit(main(["ee-tasks", "download", "DONE1"]))
'''


def test_one_ctrl_c_ends_the_download_exit_130_and_leaves_nothing(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "out").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "up").mkdir()
    record = _record(tmp_path, "drive:satseg/up") | {"id": "DONE1", "started": "2026-03-01 10:00"}
    (tmp_path / "home" / "ee-tasks.json").write_text(json.dumps([record]))
    root = Path(__file__).resolve().parents[2]
    with GoogleApis() as api:
        satseg = api.folder("satseg")
        api.drive_file("up.tif", satseg, _tif(tmp_path / "up", "up.tif", _labels(6), GRID))
        api.stall_after = 2000                 # the file's first bytes arrive, then the server goes quiet
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(Path(__file__).parent), api.drive_api],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
                                 env=dict(os.environ, PYTHONPATH=str(root), SATSEG_HOME=str(tmp_path / "home")))
        try:
            assert api.holding.wait(60), child.stderr.read() if child.poll() is not None else "no download started"
            time.sleep(0.3)                    # the download has its temporary file beside the output
            assert [".part" in p.name for p in (tmp_path / "out").iterdir()] == [True]
            t0 = time.monotonic()
            child.send_signal(signal.SIGINT)
            child.wait(timeout=10)
        finally:
            child.kill()
        err = child.stderr.read()
    assert time.monotonic() - t0 < 4, err
    assert child.returncode == 130, err
    assert "cancelling: nothing is written" in err and "satseg: cancelled" in err and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []
