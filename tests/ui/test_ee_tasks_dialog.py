"""Earth Engine exports in the window: the export choice, the tasks dialog, Cancel and Download.

Earth Engine is earthengine-api's own offline harness (``apitestcase``) with
the classify tests' recorded-answer HTTP layer, which here also answers the
operations API (get, cancel); Drive is the loopback Drive v3 server of the
download tests. Nothing of SatSeg's is replaced.
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

DRIVE = "https://www.googleapis.com/auth/drive"


def _operation(task_id, state, **metadata):
    return {"name": f"projects/earthengine-legacy/operations/{task_id}", "done": state not in ("PENDING", "RUNNING"),
            "metadata": {"@type": "type.googleapis.com/google.earthengine.v1alpha.OperationMetadata",
                         "state": state, "createTime": "2026-03-01T10:00:00Z", **metadata}}


def _earth_engine(operations):
    """The classify tests' HTTP layer (scene search, image:export) plus operations.get and operations.cancel."""
    from test_online_earthengine import _error, _ok
    from test_scale_ee import FakeEEExport, _server_answer, _training
    from affine import Affine

    class FakeEETasks(FakeEEExport):
        def __init__(self):
            super().__init__(np.zeros((8, 8), np.uint8), Affine.identity(), _server_answer(_training()))
            self.operations, self.cancelled, self.hold, self.reads = operations, [], None, []

        def request(self, uri, method="GET", body=None, headers=None, **kwargs):
            path = uri.split("?")[0]
            if "/operations/" in path:
                task = path.rsplit("/", 1)[1]
                if task.endswith(":cancel"):
                    task = task[:-len(":cancel")]
                    self.cancelled.append(task)
                    self.operations[task] = _operation(task, "CANCELLING")
                    return _ok(b"{}", "application/json")
                self.reads.append(task)
                if self.hold is not None:
                    self.hold.wait(20)
                if task in self.operations:
                    return _ok(json.dumps(self.operations[task]).encode(), "application/json")
                return _error(404, "Requested entity was not found.")
            return super().request(uri, method, body, headers, **kwargs)

    return FakeEETasks()


@pytest.fixture
def signed_in(tmp_path, monkeypatch):
    """earthengine-api initialised by its harness; the window's (empty) account settings are this session's."""
    import ee
    from ee import apitestcase
    from google.oauth2.credentials import Credentials

    from desktop_app.core.online import earthengine as E
    from desktop_app.core.online.ee_errors import SESSION

    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    harness = apitestcase.ApiTestCase()
    harness.setUp()
    ee.data.computeValue = harness.old_compute_value      # value:compute through the mocked transport too
    saved = dict(SESSION)
    SESSION.clear()
    # What ee_initialize keeps for the settings the window has (no project, stored sign-in): ensure_session
    # then finds the session open; the credentials are the ones the loopback Drive server accepts.
    SESSION.update(key=E._settings_key(None, None, None), credentials=Credentials(token="test-token", scopes=[DRIVE]))
    yield harness
    SESSION.clear()
    SESSION.update(saved)
    harness.tearDown()


def _roi_around(doc, margin_m):
    """The open image's footprint grown by ``margin_m`` on each side, in lon/lat (the samples lie inside)."""
    from shapely.geometry import box, mapping

    from desktop_app.core.geo import WGS84, transform_geometry

    t = doc.transform
    left, top = t.c, t.f
    right, bottom = left + t.a * doc.width, top + t.e * doc.height
    square = box(left - margin_m, bottom - margin_m, right + margin_m, top + margin_m)
    return json.loads(json.dumps(mapping(transform_geometry(square, doc.crs, WGS84))))


def _row(dlg, task_id):
    return next(i for i, r in enumerate(dlg.records) if r["id"] == task_id)


def _cell(dlg, task_id, column):
    from desktop_app.ui.ee_tasks_dialog import COLUMNS

    return dlg.table.item(_row(dlg, task_id), COLUMNS.index(column)).text()


def test_a_large_region_is_exported_listed_and_cancelled(qtbot, demo_window, signed_in, tmp_path):
    from ee import apitestcase
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from desktop_app.core.scale import ee_tasks as T

    win = demo_window
    win.set_roi(_roi_around(win.doc, 55_000))              # 113 km square: 128 MP at 10 m
    win.model_panel.method_combo.setCurrentIndex(win.model_panel.method_combo.findData("random_forest"))
    win.ee_choice.setChecked(True)
    fake = _earth_engine({"ABCDEF123456": _operation("ABCDEF123456", "RUNNING")})
    seen, problems = {}, []

    def drive_dialog():
        dlg = win.ee_classify_dialog
        try:
            box = dlg.export_box
            seen.update(checked=box.isChecked(), plan=dlg.plan.text(), note=box.note.text(), ok=dlg.ok.isEnabled())
            box.setChecked(False)                         # too large to come back by tiles: Classify is refused
            seen.update(ok_unchecked=dlg.ok.isEnabled(), plan_unchecked=dlg.plan.text())
            box.setChecked(True)
            box.kind.setCurrentIndex(box.kind.findData("drive"))
            box.folder.setText("satseg runs")
            box.name.setText("district")
            dlg.ok.click()
        except Exception as exc:     # never leave a modal dialog open on a failed check
            problems.append(exc)
            dlg.reject()

    with apitestcase.UsingCloudApi(mock_http=fake):
        QTimer.singleShot(0, drive_dialog)
        win.model_panel.run_button.click()
        assert not problems, problems
        qtbot.waitUntil(lambda: getattr(win, "ee_tasks_dialog", None) is not None
                        and win.ee_tasks_dialog.isVisible(), timeout=30000)
        dlg = win.ee_tasks_dialog
        qtbot.waitUntil(lambda: _cell(dlg, "ABCDEF123456", "State") == "running", timeout=15000)
        # The export: asked of Earth Engine once, to Drive, and recorded for the tasks list.
        [export] = fake.exports
        assert export["fileExportOptions"]["driveDestination"] == {"folder": "satseg runs",
                                                                   "filenamePrefix": "district"}
        [record] = T.read_records()
        assert record["id"] == "ABCDEF123456" and record["dest"] == "drive:satseg runs/district"
        assert record["name"] == "projects/earthengine-legacy/operations/ABCDEF123456"
        assert "Classify ▸ Earth Engine tasks" in win.messages[-1][1] and "--" not in win.messages[-1][1]
        assert _cell(dlg, "ABCDEF123456", "Destination") == "Google Drive folder satseg runs (district.tif)"
        assert _cell(dlg, "ABCDEF123456", "Method") == "random_forest"
        assert dlg.selected_id() == "ABCDEF123456" and not dlg.download_button.isEnabled()
        # Cancel asks first; Yes sends operations.cancel for this task and the state follows.
        dlg.cancel_button.click()
        dlg.confirm.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: _cell(dlg, "ABCDEF123456", "State") == "cancelling", timeout=15000)
        assert fake.cancelled == ["ABCDEF123456"] and not dlg.cancel_button.isEnabled()
    # The dialog's own words: the size and why it is exported, never a command-line flag.
    # 3 km of image + 2 x 55 km at 10 m: 11,300 px a side (one more where the lon/lat round trip crosses a pixel).
    assert seen["checked"] and seen["ok"]
    assert re.match(r"Result: 11,30[01] × 11,30[01] px at 10 m \(127\.[67] million pixels", seen["plan"]), seen["plan"]
    assert "larger than the 100 million pixels" in seen["note"] and "--" not in seen["note"] + seen["plan"]
    assert not seen["ok_unchecked"] and "Too large to bring back tile by tile" in seen["plan_unchecked"]
    assert win.settings.value("earthengine/export_drive_folder") == "satseg runs"   # remembered
    assert not list(Path(record["out"]).parent.glob("*.tif"))                    # nothing downloaded


def test_a_finished_export_is_downloaded_from_drive_and_shown(qtbot, demo_window, signed_in, tmp_path, monkeypatch):
    from ee import apitestcase
    from google_apis import GoogleApis
    from PySide6.QtCore import Qt

    from desktop_app.core.geotiff import GeoTiffWriter
    from desktop_app.core.scale import export_files
    from desktop_app.core.scale.ee_tasks import _write_records

    win = demo_window
    doc = win.doc
    classes = win.model.classes()
    labels = np.random.default_rng(3).integers(1, len(classes) + 1, (doc.height, doc.width)).astype(np.uint8)
    export = tmp_path / "export.tif"     # what Earth Engine writes: a bare uint8 GeoTIFF on the ROI's grid
    with GeoTiffWriter(export, width=doc.width, height=doc.height, count=1, dtype="uint8", transform=doc.transform,
                       crs=doc.crs) as w:
        w.write(labels)
    out = tmp_path / "cache" / "<h1>classes &amp; run.tif"      # a file name is shown as text, never as HTML
    out.parent.mkdir()
    # A task started earlier (by the app or by satseg classify-ee --export): the same record either way.
    _write_records([{"id": "DONE7", "name": "projects/earthengine-legacy/operations/DONE7", "dest": "drive:satseg/up",
                     "out": str(out), "started": "2026-03-01 10:00", "classes": [c.to_dict() for c in classes],
                     "tags": {"SATSEG_METHOD": "max_likelihood", "SATSEG_ENGINE": "earthengine",
                              "SATSEG_ROI": json.dumps(_roi_around(doc, 100))}}])
    with GoogleApis() as api:
        folder = api.folder("satseg")
        api.drive_file("up.tif", folder, export.read_bytes())
        monkeypatch.setattr(export_files, "DRIVE_API", api.drive_api)     # Google's address -> the loopback server
        fake = _earth_engine({"DONE7": _operation(
            "DONE7", "SUCCEEDED", destinationUris=[f"https://drive.google.com/#folders/{folder}"])})
        with apitestcase.UsingCloudApi(mock_http=fake):
            win.act_ee_tasks.trigger()                                     # Classify ▸ Earth Engine tasks…
            dlg = win.ee_tasks_dialog
            qtbot.waitUntil(lambda: _cell(dlg, "DONE7", "State") == "done, ready to download", timeout=15000)
            assert _cell(dlg, "DONE7", "Saved as") == "<h1>classes &amp; run.tif"
            dlg.table.selectRow(_row(dlg, "DONE7"))
            assert dlg.download_button.isEnabled() and not dlg.cancel_button.isEnabled()
            assert dlg.detail.text() == f"Task DONE7: done, ready to download. Saved as {out}."
            dlg.download_button.click()
            qtbot.waitUntil(lambda: win.result is not None and win.result.class_array is not None
                            and np.array_equal(win.result.class_array, labels), timeout=30000)
            media = [r for r in api.requests if "alt=media" in r]
    assert len(media) == 1
    assert {f"mask-{c.id}" for c in classes} <= set(win.layers_panel.rows)     # one layer per class, as a local run
    assert out.exists() and sorted(p.name for p in out.parent.iterdir()) == [out.name]   # no download left behind
    assert dlg.note.textFormat() == Qt.TextFormat.PlainText and out.name in dlg.note.text()
    qtbot.waitUntil(lambda: _cell(dlg, "DONE7", "State") == "done, downloaded", timeout=5000)


def test_refresh_never_waits_on_earth_engine_and_closing_stops_it(qtbot, window, signed_in):
    from ee import apitestcase

    from desktop_app.core.scale.ee_tasks import _write_records
    from desktop_app.ui.ee_tasks_dialog import show_tasks

    _write_records([{"id": "SLOW1", "dest": "gs://bkt/satseg/up", "out": "/tmp/x.tif", "started": "2026-03-01 10:00",
                     "classes": [], "tags": {}}])
    fake = _earth_engine({"SLOW1": _operation("SLOW1", "RUNNING")})
    fake.hold = threading.Event()                     # Earth Engine accepts the request and does not answer
    with apitestcase.UsingCloudApi(mock_http=fake):
        t0 = time.monotonic()
        dlg = show_tasks(window)
        assert time.monotonic() - t0 < 1.0            # the read runs off the UI thread
        assert dlg.lane.busy("ee-task-states") and "Asking Earth Engine" in dlg.note.text()
        assert _cell(dlg, "SLOW1", "Destination") == "Cloud Storage gs://bkt/satseg/up.tif"
        assert _cell(dlg, "SLOW1", "State") == "not checked yet"
        t0 = time.monotonic()
        dlg.close()
        qtbot.waitUntil(lambda: not dlg.lane.busy(), timeout=5000)
        assert time.monotonic() - t0 < 3
        fake.hold.set()


def test_open_dialog_follows_running_tasks_and_stops_asking_when_they_finish(qtbot, window, signed_in):
    from ee import apitestcase

    from desktop_app.core.scale.ee_tasks import _write_records
    from desktop_app.ui.ee_tasks_dialog import show_tasks

    base = {"out": "/tmp/none.tif", "started": "2026-03-01 10:00", "classes": [], "tags": {}}
    _write_records([{**base, "id": "RUN1", "dest": "drive:satseg/a"}, {**base, "id": "OLD1", "dest": "drive:satseg/b"}])
    fake = _earth_engine({"RUN1": _operation("RUN1", "RUNNING"),
                          "OLD1": {**_operation("OLD1", "FAILED"), "error": {"code": 3, "message": "No <b>pixels</b>."}}})
    with apitestcase.UsingCloudApi(mock_http=fake):
        dlg = show_tasks(window)
        qtbot.waitUntil(lambda: _cell(dlg, "RUN1", "State") == "running", timeout=15000)
        assert _cell(dlg, "OLD1", "State") == "failed"
        dlg.table.selectRow(_row(dlg, "OLD1"))               # the reason, as the server wrote it, as text
        assert dlg.detail.text().startswith("Task OLD1: failed: No <b>pixels</b>.")
        assert dlg.poll.isChecked() and dlg.timer.isActive()
        dlg.timer.setInterval(100)                          # 30 s in use; the test does not wait that long
        fake.reads.clear()
        fake.operations["RUN1"] = _operation("RUN1", "SUCCEEDED")
        qtbot.waitUntil(lambda: _cell(dlg, "RUN1", "State") == "done, ready to download", timeout=10000)
        assert set(fake.reads) == {"RUN1"}                  # a failed task is not asked about again
        asked = len(fake.reads)
        qtbot.wait(500)                                     # five ticks with nothing left to change
        assert len(fake.reads) == asked
        dlg.refresh_button.click()                          # asking explicitly reads every task
        qtbot.waitUntil(lambda: len(fake.reads) == asked + 2, timeout=10000)
        dlg.close()
        assert not dlg.timer.isActive()


def test_remove_from_list_forgets_final_and_expired_tasks_only(qtbot, window, signed_in, tmp_path):
    from ee import apitestcase
    from PySide6.QtWidgets import QMessageBox

    from desktop_app.core.scale.ee_tasks import _write_records, read_records
    from desktop_app.ui.ee_tasks_dialog import show_tasks

    kept = tmp_path / "kept.tif"
    kept.write_bytes(b"a downloaded class raster")
    base = {"started": "2026-03-01 10:00", "classes": [], "tags": {}, "dest": "drive:satseg/a"}
    _write_records([{**base, "id": "GOT1", "out": str(kept)},                 # finished and downloaded
                    {**base, "id": "NEW1", "out": str(tmp_path / "new.tif")},  # finished, not downloaded
                    {**base, "id": "FAIL1", "out": str(tmp_path / "f.tif")},
                    {**base, "id": "STOP1", "out": str(tmp_path / "s.tif")},
                    {**base, "id": "RUN1", "out": str(tmp_path / "r.tif")},
                    {**base, "id": "GONE1", "out": str(tmp_path / "g.tif")}])   # Earth Engine answers 404
    fake = _earth_engine({"GOT1": _operation("GOT1", "SUCCEEDED"), "NEW1": _operation("NEW1", "SUCCEEDED"),
                          "FAIL1": _operation("FAIL1", "FAILED"), "STOP1": _operation("STOP1", "CANCELLED"),
                          "RUN1": _operation("RUN1", "RUNNING")})
    with apitestcase.UsingCloudApi(mock_http=fake):
        dlg = show_tasks(window)
        tip = dlg.remove_button.toolTip()
        assert "Nothing is deleted" in tip and "Earth Engine" in tip and "downloaded" in tip
        assert not dlg.remove_button.isEnabled()                     # nothing read yet
        qtbot.waitUntil(lambda: _cell(dlg, "RUN1", "State") == "running", timeout=15000)
        enabled = {}
        for r in list(dlg.records):
            dlg.table.selectRow(_row(dlg, r["id"]))
            enabled[r["id"]] = dlg.remove_button.isEnabled()
        assert enabled == {"GOT1": True, "NEW1": True, "FAIL1": True, "STOP1": True, "RUN1": False, "GONE1": True}
        # Failed, cancelled, finished and downloaded: off the list at once; the downloaded file stays.
        for task in ("FAIL1", "STOP1", "GOT1"):
            dlg.table.selectRow(_row(dlg, task))
            dlg.remove_button.click()
            assert task not in [r["id"] for r in dlg.records] and task not in [r["id"] for r in read_records()]
            assert "nothing was deleted" in dlg.note.text()
        assert kept.read_bytes() == b"a downloaded class raster"
        # Finished but not downloaded: asked first; No keeps it, Yes removes it.
        dlg.table.selectRow(_row(dlg, "NEW1"))
        dlg.remove_button.click()
        assert "not downloaded" in dlg.confirm.text()
        dlg.confirm.button(QMessageBox.StandardButton.No).click()
        assert "NEW1" in [r["id"] for r in read_records()]
        dlg.table.selectRow(_row(dlg, "NEW1"))
        dlg.remove_button.click()
        dlg.confirm.button(QMessageBox.StandardButton.Yes).click()
        assert "NEW1" not in [r["id"] for r in read_records()]
        # Unknown to Earth Engine (expired or deleted): asked first, saying so; Yes takes it off the list.
        dlg.table.selectRow(_row(dlg, "GONE1"))
        assert _cell(dlg, "GONE1", "State") == "unknown"
        dlg.remove_button.click()
        assert "GONE1" in dlg.confirm.text() and "unknown to Earth Engine" in dlg.confirm.text()
        dlg.confirm.button(QMessageBox.StandardButton.No).click()
        assert "GONE1" in [r["id"] for r in read_records()]
        dlg.table.selectRow(_row(dlg, "GONE1"))
        dlg.remove_button.click()
        dlg.confirm.button(QMessageBox.StandardButton.Yes).click()
        assert "nothing was deleted" in dlg.note.text()
        assert [r["id"] for r in read_records()] == ["RUN1"] and [r["id"] for r in dlg.records] == ["RUN1"]
        # A running task stays even if asked through the code path: the core refuses it.
        dlg.table.selectRow(_row(dlg, "RUN1"))
        assert not dlg.remove_button.isEnabled()
        dlg.remove_task(dlg.records[0])
        assert dlg.note.text().startswith("Not removed: Earth Engine task RUN1 is running")
        assert "--" not in dlg.note.text() and "Cancel task" in dlg.note.text()
        assert [r["id"] for r in read_records()] == ["RUN1"]
        assert fake.cancelled == []                                  # Earth Engine was only asked for states
        dlg.close()
