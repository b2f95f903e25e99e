"""Project folders: save and open a whole SatSeg session, autosave, crash recovery.

A project is a folder::

    my-project/
      satseg-project.json   manifest: {"format": "satseg-project", "version": 1, ...}
      samples.geojson       the sample polygons (WGS84, properties class/color/role/pid)
      imagery/              optional copy of the image (so the folder is self-contained)
      results/              class raster, reports written by the app
      .satseg-autosave.json written while working; deleted by a normal save

Paths inside the folder are stored relative to it, so a project can be moved
or copied to another machine; paths outside stay absolute. A save is one
``core.atomic.atomic_batch``: everything is serialized first, every file
(samples, class raster, copied image, manifest) is written and verified under
a temporary name, and only then are they switched in, the manifest last (it
is the commit point, and it records a checksum of the samples file it belongs
to). A failed save (full disk, permission) leaves the previous project
exactly as it was (docs/data-safety.md).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from .atomic import atomic_batch, copy_file_atomic, write_text_atomic
from .classes import ClassInfo, normalize_color
from . import paths
from .errors import SatSegError

PROJECT_VERSION = 1
PROJECT_FORMAT = "satseg-project"
MANIFEST_NAME = "satseg-project.json"
SAMPLES_NAME = "samples.geojson"
AUTOSAVE_NAME = ".satseg-autosave.json"
IMAGERY_DIR = "imagery"
RESULTS_DIR = "results"
CLASS_RASTER = "class_raster"          # key of the saved class map in ProjectState.results
CLASS_RASTER_NAME = "classes.tif"


def _empty_fc() -> dict:
    return {"type": "FeatureCollection", "features": []}


@dataclass
class ProjectState:
    """Everything needed to reopen a session. Paths are absolute in memory."""

    name: str = "Untitled project"
    image: Optional[str] = None                   # image file/folder, possibly under imagery/
    display_bands: list = field(default_factory=list)
    classifier_bands: Optional[list] = None       # None = all bands
    classes: list[ClassInfo] = field(default_factory=list)
    samples: dict = field(default_factory=_empty_fc)   # FeatureCollection, WGS84
    method: str = "mahalanobis"
    options: dict = field(default_factory=dict)
    thresholds: Optional[dict] = None             # class name -> value; None = all off
    results: dict = field(default_factory=dict)   # kind -> path, e.g. {"class_raster": ".../results/classes.tif"}
    layers: dict = field(default_factory=dict)    # layer id -> {"opacity": 0.7, "visible": True}
    basemap: Optional[str] = None                 # the offline basemap file the user chose (MBTiles/GeoPackage)
    extra: dict = field(default_factory=dict)     # anything else the app wants back (JSON-safe)
    warnings: list[str] = field(default_factory=list)   # set by load_project, never saved


@dataclass
class Recovery:
    """An autosave newer than the last save: what the app offers to restore after a crash."""

    path: Path
    autosaved_at: str
    project_folder: Optional[Path]
    state: ProjectState

    def local_time(self) -> str:
        """When the autosave was written, in this computer's time zone (as users read clocks)."""
        try:
            return datetime.fromisoformat(self.autosaved_at).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return self.autosaved_at or "an unknown time"

    def describe(self) -> str:
        """The recovery question: which image, which project, when, how much."""
        s = self.state
        if s.extra.get("demo_size"):
            image = "the demo scene"
        else:
            image = f"image {Path(s.image).name}" if s.image else "no image"
        where = f"project {self.project_folder.name}" if self.project_folder else "an untitled session"
        n = len(s.samples.get("features", []))
        return (f"SatSeg found unsaved work in {where} ({image}, {n} sample polygon{'s' if n != 1 else ''}), "
                f"autosaved {self.local_time()}. Restore it?")


# ------------------------------------------------------------------ helpers
def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _json_default(value: Any):
    # numpy scalars/arrays from classifier options or thresholds.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _dumps(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, indent=1, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise SatSegError(f"cannot save the project: {what} cannot be stored ({exc})") from exc


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _to_stored(path: Optional[str], folder: Path) -> Optional[str]:
    """Relative (POSIX) when inside ``folder``, else absolute."""
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(p)


def _from_stored(path: Optional[str], folder: Path) -> Optional[str]:
    if not path:
        return None
    p = Path(path)
    return str(p if p.is_absolute() else (folder / p).resolve())


def _classes_from(items, where: str) -> list[ClassInfo]:
    out = []
    for i, d in enumerate(items or []):
        try:
            out.append(ClassInfo(int(d["id"]), str(d["name"]), normalize_color(d.get("color"), i)))
        except (KeyError, TypeError, ValueError) as exc:
            raise SatSegError(f"{where}: class entry {i + 1} is damaged ({exc})") from exc
    return out


def state_to_dict(state: ProjectState, folder: Path, samples_ref: Optional[str] = None) -> dict:
    """The manifest body for ``state``; samples embedded unless ``samples_ref`` names their file."""
    folder = Path(folder)
    d = {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "saved_at": now_iso(),
        "saved_by": "SatSeg",
        "name": state.name,
        "image": _to_stored(state.image, folder),
        "display_bands": list(state.display_bands or []),
        "classifier_bands": None if state.classifier_bands is None else list(state.classifier_bands),
        "classes": [c.to_dict() for c in state.classes],
        "method": state.method,
        "options": _full_options(state.method, state.options),
        "thresholds": None if not state.thresholds else {str(k): v for k, v in state.thresholds.items()},
        "results": {str(k): _to_stored(v, folder) for k, v in (state.results or {}).items()},
        "layers": dict(state.layers or {}),
        "basemap": _to_stored(state.basemap, folder),
        "extra": dict(state.extra or {}),
    }
    if samples_ref is None:
        d["samples"] = state.samples
    else:
        d["samples"] = samples_ref
    return d


def check_header(d: Any, where: str) -> int:
    """The format version of a manifest dict; SatSegError for foreign, damaged or newer files."""
    if not isinstance(d, dict) or d.get("format") != PROJECT_FORMAT:
        raise SatSegError(f"{where} is not a SatSeg project file")
    version = d.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SatSegError(f"{where} has an unknown format version ({version!r})")
    if version > PROJECT_VERSION:
        raise SatSegError(f"this project was saved by a newer SatSeg (format version {version}); "
                          f"update SatSeg to open it (this SatSeg reads version {PROJECT_VERSION})")
    return version


def _full_options(method: str, options: Optional[dict]) -> dict:
    """Every option with its value (one default, core/classifiers/options.py), so a project
    reopened after a default changed still trains the same model."""
    from .classifiers.options import resolve_options

    try:
        return resolve_options(method, options)
    except SatSegError:
        return dict(options or {})


def _stored_options(method: str, options, warnings: list) -> dict:
    from .classifiers.options import stored_options

    return stored_options(method, options if isinstance(options, dict) else {}, warnings)


def state_from_dict(d: dict, folder: Path, samples: Optional[dict] = None, where: str = "the project") -> ProjectState:
    folder = Path(folder)
    check_header(d, where)
    fc = samples if samples is not None else d.get("samples")
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
        raise SatSegError(f"{where}: the sample polygons are damaged (not a GeoJSON FeatureCollection)")
    results = d.get("results") or {}
    layers = d.get("layers") or {}
    extra = d.get("extra") or {}
    if not all(isinstance(x, dict) for x in (results, layers, extra)):
        raise SatSegError(f"{where}: the results/layers/extra sections are damaged")
    option_warnings: list[str] = []
    return ProjectState(
        warnings=option_warnings,
        name=str(d.get("name") or folder.name),
        image=_from_stored(d.get("image"), folder),
        display_bands=list(d.get("display_bands") or []),
        classifier_bands=None if d.get("classifier_bands") is None else list(d["classifier_bands"]),
        classes=_classes_from(d.get("classes"), where),
        samples=fc,
        method=str(d.get("method") or "mahalanobis"),
        options=_stored_options(str(d.get("method") or "mahalanobis"), d.get("options"), option_warnings),
        thresholds=dict(d["thresholds"]) if d.get("thresholds") else None,
        results={str(k): _from_stored(v, folder) for k, v in results.items()},
        layers=dict(layers),
        basemap=_from_stored(d.get("basemap") if isinstance(d.get("basemap"), str) else None, folder),
        extra=dict(extra),
    )


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SatSegError(f"{what} {path} is missing") from None
    except OSError as exc:
        raise SatSegError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text), text
    except ValueError as exc:
        raise SatSegError(f"{what} {path} is damaged (not valid JSON: {exc})") from exc


# ------------------------------------------------------------------ save / load
def is_project_folder(folder: str | os.PathLike) -> bool:
    return (Path(folder) / MANIFEST_NAME).is_file()


def save_project(folder: str | os.PathLike, state: ProjectState, *, class_raster: Optional[tuple] = None,
                 copy_image: bool = False) -> Path:
    """Write ``state`` to ``folder`` (created if needed); returns the manifest path.

    ``class_raster`` = (array, transform, crs, classes) of the last result is
    stored as results/classes.tif; ``copy_image`` copies the image file into
    imagery/ so the project opens anywhere. Every file is written and verified
    first and switched in together, the manifest last (``atomic_batch``); once
    they are in place the autosave, now older than the project, is removed.
    ``state`` gets the new image and result paths.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SatSegError(f"cannot save the project: {folder} is a file, not a folder")
    if copy_image and state.image and Path(state.image).is_file():
        image_src, state.image = Path(state.image), str((folder / IMAGERY_DIR / Path(state.image).name).absolute())
    else:
        image_src = None
    if class_raster is not None:
        state.results[CLASS_RASTER] = str((folder / RESULTS_DIR / CLASS_RASTER_NAME).absolute())
    # Serialize everything first: a state that cannot be stored must not touch the disk.
    samples_text = _dumps(state.samples if state.samples is not None else _empty_fc(), "the sample polygons")
    manifest = state_to_dict(state, folder, samples_ref=SAMPLES_NAME)
    manifest["samples_sha256"] = _sha256(samples_text)
    manifest_text = _dumps(manifest, "the project settings")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatSegError(f"cannot create the project folder {folder}: {exc.strerror or exc}") from exc
    with atomic_batch() as batch:
        if image_src is not None:
            copy_image_into(folder, image_src)
        if class_raster is not None:
            from .classes import write_class_raster

            array, transform, crs, classes = class_raster
            write_class_raster(results_dir(folder) / CLASS_RASTER_NAME, array, transform, crs, classes)
        write_text_atomic(folder / SAMPLES_NAME, samples_text)
        write_text_atomic(folder / MANIFEST_NAME, manifest_text)   # last: the commit point
        batch.after_switch(lambda: discard_recovery(folder))
    return folder / MANIFEST_NAME


def load_project(folder: str | os.PathLike) -> ProjectState:
    """Read a project folder. SatSegError for a missing/damaged manifest or a newer format version.

    Problems that lose nothing (the image moved, a result file is gone, the
    samples changed after the manifest) are listed in ``state.warnings``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SatSegError(f"project folder {folder} does not exist")
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise SatSegError(f"{folder} is not a SatSeg project (it has no {MANIFEST_NAME})")
    d, _ = _read_json(manifest_path, "the project manifest")
    check_header(d, str(manifest_path))
    ref = d.get("samples")
    warnings = []
    if isinstance(ref, str):
        samples, text = _read_json(folder / ref, "the project's sample polygons file")
        expected = d.get("samples_sha256")
        if expected and expected != _sha256(text):
            warnings.append(f"{ref} was changed after the project was saved; its current polygons were loaded")
    else:
        samples = ref
    state = state_from_dict(d, folder, samples, where=str(manifest_path))
    if state.image and not Path(state.image).exists():
        warnings.append(f"the image {state.image} was not found; open it again from its new place")
    for kind, path in state.results.items():
        if path and not Path(path).exists():
            warnings.append(f"the result file {path} ({kind}) is missing; run the classification again")
    if state.basemap and not Path(state.basemap).is_file():
        warnings.append(f"the offline basemap {state.basemap} was not found; the map is shown without it "
                        "(View ▸ Offline basemap file… to choose it again)")
    state.warnings = state.warnings + warnings
    return state


def results_dir(folder: str | os.PathLike) -> Path:
    """The project's results/ folder (created)."""
    p = Path(folder) / RESULTS_DIR
    p.mkdir(parents=True, exist_ok=True)
    return p


def copy_image_into(folder: str | os.PathLike, image: str | os.PathLike) -> str:
    """Copy an image file into the project's imagery/ folder (atomically); returns the new path.

    Makes the project self-contained (e.g. imagery downloaded to a temporary
    folder). Folders of band files (Sentinel-2 .SAFE) are linked by path
    instead: they are large and already on disk.
    """
    src = Path(image)
    if not src.is_file():
        raise SatSegError(f"cannot copy the image into the project: {src} is not a file")
    dest_dir = Path(folder) / IMAGERY_DIR
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatSegError(f"cannot create {dest_dir}: {exc.strerror or exc}") from exc
    dest = dest_dir / src.name
    if dest.exists() and dest.resolve() == src.resolve():
        return str(dest.resolve())
    copy_file_atomic(src, dest)
    return str(dest.resolve())


# ------------------------------------------------------------------ autosave / recovery
def user_data_dir() -> Path:
    """The per-user data folder; kept for callers of this name, see :mod:`desktop_app.core.paths`."""
    return paths.data_home()


def user_autosave_dir() -> Path:
    """Where an untitled (never saved) session autosaves: per user, outside any project."""
    return paths.autosave_dir()


def autosave(folder: str | os.PathLike, state: ProjectState, project_folder: Optional[str | os.PathLike] = None) -> Path:
    """Write the whole state (samples embedded) to ``folder``/.satseg-autosave.json, atomically.

    ``folder`` is the project folder, or :func:`user_autosave_dir` for a
    project not saved yet. Never touches the project's own files.
    """
    folder = Path(folder)
    project = Path(project_folder) if project_folder else (folder if is_project_folder(folder) else None)
    body = state_to_dict(state, project or folder)
    body["autosaved_at"] = now_iso()
    body["project_folder"] = str(project.resolve()) if project else None
    text = _dumps(body, "the autosave")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatSegError(f"cannot autosave to {folder}: {exc.strerror or exc}") from exc
    return write_text_atomic(folder / AUTOSAVE_NAME, text)


def find_recovery(folder: str | os.PathLike) -> Optional[Recovery]:
    """The autosave in ``folder`` if it is newer than the project's last save, else None.

    A damaged autosave is not offered (the project itself is untouched); a
    newer-version autosave raises like a newer project would.
    """
    folder = Path(folder)
    path = folder / AUTOSAVE_NAME
    if not path.is_file():
        return None
    try:
        d, _ = _read_json(path, "the autosave")
    except SatSegError:
        return None
    check_header(d, str(path))
    saved_at = d.get("autosaved_at") or ""
    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        try:
            m, _ = _read_json(manifest, "the project manifest")
            if isinstance(m, dict) and str(m.get("saved_at") or "") >= saved_at:
                return None   # saved after the autosave: nothing to recover
        except SatSegError:
            pass   # a damaged manifest is exactly when the autosave matters
    project = d.get("project_folder")
    project_path = Path(project) if project else None
    state = state_from_dict(d, project_path or folder, where=str(path))
    if project_path is not None and not state.results:
        _restore_saved_result(state, project_path)
    return Recovery(path, saved_at, project_path, state)


def _restore_saved_result(state: ProjectState, project: Path) -> None:
    """Autosaves hold no results: bring back the project's saved class raster if it is for the same image."""
    try:
        saved = load_project(project)
    except SatSegError:
        return
    raster = saved.results.get(CLASS_RASTER)
    same_image = saved.image == state.image and saved.extra.get("demo_size") == state.extra.get("demo_size")
    if raster and Path(raster).is_file() and same_image:
        state.results[CLASS_RASTER] = raster
        if "result" in saved.extra:
            state.extra["result"] = saved.extra["result"]


def discard_recovery(folder: str | os.PathLike) -> None:
    """Delete the autosave in ``folder`` (after a save, or when the user declines recovery)."""
    try:
        (Path(folder) / AUTOSAVE_NAME).unlink(missing_ok=True)
    except OSError:
        pass   # a stale autosave is harmless: find_recovery compares timestamps
