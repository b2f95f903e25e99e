"""Earth Engine exports of big class rasters, and the tasks SatSeg started (docs/scale.md).

A result too big to pull tile by tile is exported by Earth Engine itself as a
Cloud-Optimized GeoTIFF to Cloud Storage or Drive, with an explicit
``maxPixels``. Each started task is recorded in the user data folder
(``ee-tasks.json``) with what is needed to finish the job locally: the class
list and tags. ``satseg ee-tasks`` and the app's Earth Engine tasks dialog
list their state (earthengine-api's operations API: ``getOperation``,
``cancelOperation``), cancel one, download a finished Drive or Cloud
Storage export into a class GeoTIFF (colour table and SATSEG_CLASSES added,
as the local engine writes them), and forget a finished, failed or cancelled
one, or one Earth Engine no longer knows (the list only; nothing on Earth
Engine or on disk is deleted).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from ..errors import Advice, SatSegError, advised

TASKS_FILE = "ee-tasks.json"
DONE, FAILED, CANCELLED = "COMPLETED", "FAILED", "CANCELLED"
UNKNOWN = "UNKNOWN"
# States that never change again, so the record may go. UNKNOWN too: Earth Engine has no record of the task
# (expired, deleted, or another Cloud project's), so forgetting it loses nothing a later call could use.
FORGETTABLE = (DONE, FAILED, CANCELLED, UNKNOWN, "UNSUBMITTED")
DOWNLOAD_TIMEOUT_S = 120
STATE_TIMEOUT_S = 30     # one task-state request (list, Refresh, cancel): a short answer or a clear line


def tasks_file() -> Path:
    from ..paths import data_home

    return data_home() / TASKS_FILE


def read_records() -> list[dict]:
    p = tasks_file()
    if not p.exists():
        return []
    try:
        return list(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise SatSegError(f"{p} is damaged ({exc}); remove it to start a new task list") from None


def _write_records(records: list[dict]) -> None:
    from ..atomic import write_text_atomic

    tasks_file().parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(tasks_file(), json.dumps(records, indent=1))


def parse_destination(dest: str) -> tuple[str, str, str]:
    """'gs://BUCKET/PREFIX' or 'drive:FOLDER/PREFIX' -> (kind, bucket or folder, file prefix)."""
    kind, problem = "", ""
    if dest.startswith("gs://"):
        bucket, _, prefix = dest[5:].partition("/")
        kind = "gcs"
    elif dest.startswith("drive:"):
        bucket, _, prefix = dest[6:].rpartition("/")
        kind = "drive"
    else:
        problem = "give gs://BUCKET/PREFIX (Cloud Storage) or drive:FOLDER/PREFIX"
    if kind and not (bucket and prefix):
        problem = f"both a {'bucket' if kind == 'gcs' else 'folder'} and a file prefix are needed"
    if problem:
        raise SatSegError(Advice(f"the export destination '{dest}': {problem}", f"--export '{dest}': {problem}"))
    return kind, bucket, prefix


def export_task(image, region, grid, dest: str, description: str, max_pixels: float):
    """An unstarted ee.batch.Task writing ``image`` as a COG on ``grid`` (explicit crs, transform, maxPixels)."""
    import ee

    kind, where, prefix = parse_destination(dest)
    t = grid.transform
    common = dict(image=image, description=description[:100], fileNamePrefix=prefix, region=region,
                  crs=grid.crs.to_string(), crsTransform=[t.a, t.b, t.c, t.d, t.e, t.f],
                  maxPixels=int(max_pixels), fileFormat="GeoTIFF", formatOptions={"cloudOptimized": True})
    if kind == "gcs":
        return ee.batch.Export.image.toCloudStorage(bucket=where, **common)
    return ee.batch.Export.image.toDrive(folder=where, **common)


def start_and_record(task, dest: str, out_path, classes, tags: dict) -> dict:
    """Start ``task`` and remember it (id, destination, the class raster to make of it)."""
    from ..online.ee_errors import translate_error

    try:
        task.start()
    except Exception as exc:   # quota, permissions, bad bucket: the server's words
        raise translate_error(exc, "starting the Earth Engine export") from exc
    # "name" is the task's long-running operation (projects/P/operations/ID): what getOperation asks for.
    record = {"id": task.id, "name": getattr(task, "name", None), "dest": dest, "out": str(Path(out_path)),
              "started": time.strftime("%Y-%m-%d %H:%M"), "classes": [c.to_dict() for c in classes], "tags": tags}
    _write_records(read_records() + [record])
    return record


def find(task_id: str) -> dict:
    for r in read_records():
        if r["id"] == task_id:
            return r
    unknown = f"no Earth Engine task {task_id} was started by SatSeg"
    raise SatSegError(Advice(f"{unknown} (see Classify ▸ Earth Engine tasks…)",
                             f"{unknown} (see satseg ee-tasks list)"))


def forget(task_id: str, status: dict) -> dict:
    """Remove a finished, failed or cancelled task, or one Earth Engine no longer knows (state UNKNOWN),
    from ``ee-tasks.json`` (rewritten atomically) and return its record. Earth Engine and the exported or
    downloaded files are not touched; only SatSeg's memory of the task goes. ``status``: the task's state as
    read from Earth Engine."""
    record = find(task_id)
    state = status.get("state")
    if state not in FORGETTABLE:
        now = ("being cancelled" if state == "CANCEL_REQUESTED" else "waiting to start" if state == "READY"
               else "running" if state == "RUNNING" else "not checked yet" if state is None else describe(status))
        raise SatSegError(advised(f"Earth Engine task {task_id} is {now}: only a finished, failed or cancelled "
                                  "task, or one Earth Engine no longer knows, can be removed from the list",
                                  cli=f"wait for it, or cancel it first (satseg ee-tasks cancel {task_id})",
                                  app="wait for it, or cancel it first (Cancel task)"))
    _write_records([r for r in read_records() if r["id"] != task_id])   # read again: another may have started
    return record


def describe(status: dict) -> str:
    """One line for a task's state (earthengine-api's task status dict, from its operation)."""
    state = status.get("state", UNKNOWN)
    if state in (UNKNOWN, "UNSUBMITTED"):
        return "unknown to Earth Engine (deleted, expired, or started under another Cloud project)"
    if state == FAILED:
        return f"failed: {status.get('error_message') or 'no reason given'}"
    if state in (CANCELLED, "CANCEL_REQUESTED"):
        return "cancelled"
    if state == DONE:
        return "completed: " + ", ".join(status.get("destination_uris") or []) if status.get("destination_uris") \
            else "completed"
    return state.lower()


def operation_name(record: dict) -> str:
    """The task's operation name; records written before names were kept use the session's project."""
    from ..online.ee_errors import SESSION

    return record.get("name") or f"projects/{SESSION.get('project') or 'earthengine-legacy'}/operations/{record['id']}"


def _operation_status(record: dict) -> dict:
    """earthengine-api's task status dict (state, creation_timestamp_ms, destination_uris, error_message)."""
    import ee

    from ..online.ee_errors import http_status

    try:   # Task.status() is getOperation + the library's own operation -> task conversion
        return ee.batch.Task(None, None, None, name=operation_name(record)).status()
    except ee.EEException as exc:
        if http_status(exc) == 404:    # as getTaskStatus said: deleted, expired, or another project's task
            return {"id": record["id"], "state": UNKNOWN}
        raise


def statuses(records: list[dict], job=None, *, timeout: float = STATE_TIMEOUT_S, backoff=None) -> list[dict]:
    """Each recorded task's state from Earth Engine, one ``operations.get`` each, under a deadline and Cancel."""
    from ..jobs import ensure_job
    from ..online.ee_errors import call_with_retries
    from ..online.tile_runner import Backoff

    job, backoff = ensure_job(job), backoff or Backoff(attempts=3)
    out = []
    for i, r in enumerate(records):
        job.step(i / max(len(records), 1), "reading the state of the Earth Engine tasks")
        out.append(call_with_retries(lambda r=r: _operation_status(r), f"reading the state of task {r['id']}",
                                     backoff, job, timeout=timeout, resume=False))
    return out


def cancel(task_id: str, job=None, *, timeout: float = STATE_TIMEOUT_S) -> None:
    import ee

    from ..jobs import ensure_job
    from ..online.ee_errors import call_with_retries
    from ..online.tile_runner import Backoff

    name = operation_name(find(task_id))
    call_with_retries(lambda: ee.data.cancelOperation(name), f"cancelling task {task_id}", Backoff(attempts=2),
                      ensure_job(job), timeout=timeout, resume=False)


def authorized_session():
    """google-auth's AuthorizedSession with the Earth Engine session's credentials (token refresh included)."""
    from google.auth.transport.requests import AuthorizedSession

    from .google_http import session_credentials

    return AuthorizedSession(session_credentials(), refresh_timeout=DOWNLOAD_TIMEOUT_S)


def ensure_done(task_id: str, status: dict) -> None:
    """A one-line error unless the export finished well."""
    state = status.get("state")
    if state == FAILED:
        raise SatSegError(f"Earth Engine export {task_id} failed: {status.get('error_message') or 'no reason given'}")
    if state in (CANCELLED, "CANCEL_REQUESTED"):
        raise SatSegError(advised(f"Earth Engine export {task_id} was cancelled",
                                  cli="start it again with satseg classify-ee --export",
                                  app="start it again: Run classification with 'on Earth Engine' ticked (Model "
                                      "panel), then tick 'Export the result on Earth Engine' in its dialog"))
    if state != DONE:
        raise SatSegError(f"Earth Engine export {task_id} is not finished yet ({str(state).lower()}); try again later")


def download(record: dict, status: dict, session, out_path: Optional[str] = None, *, job=None, backoff=None,
             timeout: float = DOWNLOAD_TIMEOUT_S, drive_api: Optional[str] = None,
             storage_api: Optional[str] = None) -> Path:
    """The finished export (Drive or Cloud Storage, one file or split tiles) as one local class GeoTIFF.

    ``session``: a google-auth ``AuthorizedSession`` with the Earth Engine
    credentials. The files are streamed beside the output under temporary
    names, checked (size, MD5), mosaicked by windows through
    ``class_raster_writer`` (colour table, SATSEG_CLASSES, the task's tags;
    pixels outside the ROI 255) and always removed; the output appears only
    when complete.
    """
    from ..atomic import AtomicFile, check_writable
    from ..classes import ClassInfo
    from ..jobs import ensure_job
    from ..online.roi import parse_roi
    from . import export_files as X
    from .google_http import GoogleHttp, check_drive_scope

    ensure_done(record["id"], status)
    job = ensure_job(job)
    kind, where, prefix = parse_destination(record["dest"])
    out = check_writable(out_path or record["out"])
    if kind == "drive":
        check_drive_scope(session.credentials)
        http = GoogleHttp(session, "Google Drive", job=job, timeout=timeout, backoff=backoff)
        files = X.drive_files(http, where, prefix, status, drive_api or X.DRIVE_API)
        place = f"Google Drive folder '{where}'"
    else:
        http = GoogleHttp(session, "Cloud Storage", job=job, timeout=timeout, backoff=backoff)
        files = X.gcs_files(http, where, prefix, status, storage_api or X.STORAGE_API)
        place = f"gs://{where}"
    if not files:
        raise SatSegError(f"Earth Engine export {record['id']} is finished but {place} has no {prefix}.tif "
                          f"(nor {prefix}-*-*.tif tiles); were they moved or deleted?")
    classes = [ClassInfo(int(c["id"]), c["name"], c["color"]) for c in record["classes"]]
    tags = dict(record.get("tags") or {})
    roi = parse_roi(json.loads(tags["SATSEG_ROI"])) if tags.get("SATSEG_ROI") else None
    # The raw files wait under temporary names beside the output and are always removed.
    raws = [AtomicFile(out.with_name(f"{out.name}.{i}.download")) for i in range(len(files))]
    try:
        share = 0.9 / len(files)
        for i, (f, raw) in enumerate(zip(files, raws)):
            http.download(f.url, f.params, raw.tmp, f.size, f.md5, f"downloading {f.name} ({i + 1}/{len(files)})",
                          job.sub(i * share, (i + 1) * share))
        X.write_class_mosaic([r.tmp for r in raws], out, classes, tags, roi, job.sub(0.9, 1.0))
    finally:
        for raw in raws:
            raw.discard()
    return out
