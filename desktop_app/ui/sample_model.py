"""Classes and sample polygons being edited, with undo/redo.

Every edit goes through a ``QUndoCommand`` on :attr:`SampleModel.undo_stack`,
so Ctrl+Z works for classes and polygons alike. Widgets and the map listen to
the signals; nothing else changes the data. Class ids are stable for the
session (deleting class 2 does not renumber class 3), and
:meth:`SampleModel.to_sample_set` keeps them, so class raster values and
training pixel counts map straight back to these classes.

Geometries are stored as shapely geometries in WGS84 (lon/lat), the frame the
map draws in and GeoJSON uses.
"""
from __future__ import annotations

import json
import os
import random
import uuid
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from shapely.geometry import MultiPolygon, mapping

from ..core.classes import ClassInfo, normalize_color
from ..core.errors import SatSegError

ROLES = ("training", "validation")
# Properties the model sets itself on export; never carried over as extra attributes.
_RESERVED = ("class", "class_id", "color", "role", "pid")
# Fields GDAL's KML/LIBKML readers add to every placemark; they are file plumbing, not attributes.
_READER_FIELDS = {"id", "Name", "Description", "description", "timestamp", "begin", "end", "altitudeMode",
                  "tessellate", "extrude", "visibility", "drawOrder", "icon", "snippet"}


def _blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


@dataclass
class PolygonRecord:
    """One sample polygon as the model keeps it: class by id, so renames are free."""

    geometry: object  # shapely Polygon/MultiPolygon, WGS84
    class_id: int
    role: str = "training"
    properties: dict = field(default_factory=dict)


class _Command(QUndoCommand):
    """An undo step made of two functions of the model; the model builds them per edit.

    The functions receive the model as an argument and the command holds it
    only weakly: closures over the model would form a cycle through C++
    (model -> QUndoStack -> command -> model) that Python's garbage collector
    cannot see, so a discarded model would never be freed.
    """

    def __init__(self, text: str, do: Callable[["SampleModel"], None], undo: Callable[["SampleModel"], None]) -> None:
        super().__init__(text)
        self._do = do
        self._undo = undo
        self._model = None

    def redo(self) -> None:
        model = self._model() if self._model is not None else None
        if model is not None:
            self._do(model)

    def undo(self) -> None:
        model = self._model() if self._model is not None else None
        if model is not None:
            self._undo(model)


def _json_geometry(geom) -> dict:
    # mapping() returns tuples; a JSON round trip makes plain lists so saved and
    # in-memory forms compare equal.
    return json.loads(json.dumps(mapping(geom)))


class SampleModel(QObject):
    classes_changed = Signal()
    polygon_added = Signal(str)
    polygon_changed = Signal(str)
    polygon_removed = Signal(str)
    current_class_changed = Signal(int)
    pixel_counts_changed = Signal()
    message = Signal(str)
    changed = Signal()

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._classes: list[ClassInfo] = []
        self._polygons: dict[str, PolygonRecord] = {}
        self._current = -1
        self._pixel_counts: dict[int, int] = {}

    def _push(self, command: _Command) -> None:
        command._model = weakref.ref(self)
        self.undo_stack.push(command)

    # ----------------------------------------------------------------- queries
    def classes(self) -> list[ClassInfo]:
        return list(self._classes)

    def class_info(self, class_id: int) -> Optional[ClassInfo]:
        for c in self._classes:
            if c.id == class_id:
                return c
        return None

    def class_by_name(self, name: str) -> Optional[ClassInfo]:
        for c in self._classes:
            if c.name == name:
                return c
        return None

    @property
    def polygons(self) -> dict[str, PolygonRecord]:
        """pid -> PolygonRecord (a copy of the mapping; records must not be mutated)."""
        return dict(self._polygons)

    def polygon(self, pid: str) -> Optional[PolygonRecord]:
        return self._polygons.get(pid)

    def polygon_ids(self, class_id: Optional[int] = None, role: Optional[str] = None) -> list[str]:
        return [pid for pid, r in self._polygons.items()
                if (class_id is None or r.class_id == class_id) and (role is None or r.role == role)]

    def polygon_count(self, class_id: int, role: Optional[str] = None) -> int:
        return len(self.polygon_ids(class_id, role))

    def pixel_count(self, class_id: int) -> Optional[int]:
        return self._pixel_counts.get(class_id)

    def set_pixel_counts(self, counts: dict) -> None:
        """Training pixels per class id, computed by whoever rasterizes the samples."""
        self._pixel_counts = {int(k): int(v) for k, v in counts.items()}
        self.pixel_counts_changed.emit()

    def current_class(self) -> int:
        return self._current

    def set_current_class(self, class_id: int) -> None:
        if class_id != -1 and self.class_info(class_id) is None:
            return
        if class_id != self._current:
            self._current = class_id
            self.current_class_changed.emit(class_id)

    def is_empty(self) -> bool:
        return not self._classes and not self._polygons

    def is_modified(self) -> bool:
        """True when classes or polygons changed since the last :meth:`mark_saved` (or load)."""
        return not self.undo_stack.isClean()

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    def polygon_feature(self, pid: str) -> dict:
        """GeoJSON Feature for one polygon (what the map bridge draws)."""
        rec = self._polygons[pid]
        cls = self.class_info(rec.class_id)
        props = dict(rec.properties)
        props.update({"class": cls.name if cls else "", "class_id": rec.class_id,
                      "color": cls.color if cls else "#888888", "role": rec.role, "pid": pid})
        return {"type": "Feature", "geometry": _json_geometry(rec.geometry), "properties": props}

    # ------------------------------------------------------------ class edits
    def _next_class_id(self) -> int:
        return max([c.id for c in self._classes], default=0) + 1

    def _check_name(self, name: str, exclude_id: Optional[int] = None) -> Optional[str]:
        name = (name or "").strip()
        if not name:
            self.message.emit("A class needs a name.")
            return None
        other = self.class_by_name(name)
        if other is not None and other.id != exclude_id:
            self.message.emit(f"There is already a class called '{name}'.")
            return None
        return name

    def add_class(self, name: str, color: Optional[str] = None) -> int:
        """Append a class; returns its id, or -1 if the name is empty or taken."""
        name = self._check_name(name)
        if name is None:
            return -1
        cid = self._next_class_id()
        info = ClassInfo(cid, name, normalize_color(color, len(self._classes)))

        def do(m):
            m._classes.append(info)
            m._after_classes()
            if m._current == -1:
                m.set_current_class(cid)

        def undo(m):
            m._classes = [c for c in m._classes if c.id != cid]
            m._after_classes()

        self._push(_Command(f"add class {name}", do, undo))
        return cid

    def rename_class(self, class_id: int, name: str) -> bool:
        old = self.class_info(class_id)
        if old is None:
            return False
        if (name or "").strip() == old.name:
            return True
        name = self._check_name(name, exclude_id=class_id)
        if name is None:
            return False
        self._push(_Command(f"rename class {old.name} to {name}",
                            lambda m: m._replace_class(replace(old, name=name)),
                            lambda m: m._replace_class(old)))
        return True

    def recolor_class(self, class_id: int, color: str) -> bool:
        old = self.class_info(class_id)
        if old is None:
            return False
        new = replace(old, color=normalize_color(color, self._classes.index(old)))
        if new.color == old.color:
            return True
        self._push(_Command(f"recolour class {old.name}",
                            lambda m: m._replace_class(new), lambda m: m._replace_class(old)))
        return True

    def delete_class(self, class_id: int) -> bool:
        """Remove a class and all its polygons in one undo step."""
        info = self.class_info(class_id)
        if info is None:
            return False
        index = self._classes.index(info)
        before = dict(self._polygons)
        pids = self.polygon_ids(class_id)

        def do(m):
            m._classes.remove(info)
            for pid in pids:
                del m._polygons[pid]
                m.polygon_removed.emit(pid)
            m._after_classes()
            if m._current == class_id:
                m.set_current_class(m._classes[0].id if m._classes else -1)

        def undo(m):
            m._classes.insert(index, info)
            m._polygons = dict(before)  # restores the original order too
            for pid in pids:
                m.polygon_added.emit(pid)
            m._after_classes()

        self._push(_Command(f"delete class {info.name}", do, undo))
        if pids:
            self.message.emit(f"Deleted class '{info.name}' and its {len(pids)} polygon(s); "
                              "Undo (Ctrl+Z) brings them back.")
        return True

    def _replace_class(self, info: ClassInfo) -> None:
        self._classes = [info if c.id == info.id else c for c in self._classes]
        self._after_classes()
        # The map colours polygons by class, so every polygon of the class is redrawn.
        for pid in self.polygon_ids(info.id):
            self.polygon_changed.emit(pid)

    def _after_classes(self) -> None:
        self.classes_changed.emit()
        self.changed.emit()

    # ---------------------------------------------------------- polygon edits
    def _clean_geometry(self, geometry_geojson: dict, what: str):
        """Shapely polygon from GeoJSON, repaired if invalid; None (with a message) if unusable.

        The rules are the core's (``core.samples.clean_polygon``), as for files the CLI reads.
        """
        from ..core.samples import clean_polygon, geometry_from_geojson

        try:
            geom, note = clean_polygon(geometry_from_geojson(geometry_geojson, what), what)
        except SatSegError as exc:
            self.message.emit(f"{exc}; nothing was changed.")
            return None
        if note:
            self.message.emit(f"{note}; check its outline on the map.")
        return geom

    def add_polygon(self, geometry_geojson: dict, class_id: Optional[int] = None, role: str = "training",
                    pid: Optional[str] = None, properties: Optional[dict] = None) -> Optional[str]:
        """Add a polygon (WGS84 GeoJSON geometry); returns its pid, or None if refused."""
        if class_id is None:
            class_id = self._current
        cls = self.class_info(class_id)
        if cls is None:
            self.message.emit("Add a class first, then draw its sample polygons." if not self._classes
                              else "Select the class this polygon belongs to first.")
            return None
        if role not in ROLES:
            self.message.emit(f"Unknown polygon role '{role}' (use training or validation).")
            return None
        geom = self._clean_geometry(geometry_geojson, f"New {cls.name} polygon")
        if geom is None:
            return None
        pid = str(pid) if pid else uuid.uuid4().hex[:12]
        if pid in self._polygons:
            pid = uuid.uuid4().hex[:12]
        rec = PolygonRecord(geom, class_id, role, dict(properties or {}))
        self._push(_Command(f"add {cls.name} polygon",
                            lambda m: m._insert(pid, rec), lambda m: m._remove(pid)))
        return pid

    def edit_polygon(self, pid: str, geometry_geojson: dict) -> bool:
        old = self._polygons.get(pid)
        if old is None:
            return False
        cls = self.class_info(old.class_id)
        geom = self._clean_geometry(geometry_geojson, f"Edited {cls.name if cls else ''} polygon".replace("  ", " "))
        if geom is None:
            self.polygon_changed.emit(pid)  # the map still shows the refused shape: redraw the stored one
            return False
        new = replace(old, geometry=geom)
        self._push(_Command("edit polygon", lambda m: m._swap(pid, new), lambda m: m._swap(pid, old)))
        return True

    def delete_polygon(self, pid: str) -> bool:
        rec = self._polygons.get(pid)
        if rec is None:
            return False
        position = list(self._polygons).index(pid)
        self._push(_Command("delete polygon", lambda m: m._remove(pid),
                            lambda m: m._insert(pid, rec, position)))
        return True

    def set_role(self, pid: str, role: str) -> bool:
        old = self._polygons.get(pid)
        if old is None or role not in ROLES:
            return False
        if old.role == role:
            return True
        new = replace(old, role=role)
        self._push(_Command(f"mark polygon as {role}", lambda m: m._swap(pid, new),
                            lambda m: m._swap(pid, old)))
        return True

    def hold_out(self, fraction: float = 0.3, seed: int = 0) -> int:
        """Mark a seeded random share of each class's training polygons as validation.

        Per class, ``round(fraction * training)`` polygons (at least one) move
        to validation, but one training polygon always stays so the class can
        still be learned; a class with a single polygon is left alone. The
        same seed and polygons give the same choice. All changes are one undo
        step. Returns how many polygons changed role.
        """
        if not 0 < fraction < 1:
            self.message.emit(f"The share to hold out must be between 0 and 100 % (got {fraction * 100:g} %).")
            return 0
        rng = random.Random(seed)
        chosen: list[str] = []
        for c in self._classes:
            training = self.polygon_ids(c.id, "training")
            if len(training) < 2:
                continue  # a class needs a training polygon; a lone polygon cannot also validate
            n = min(max(1, round(fraction * len(training))), len(training) - 1)
            chosen.extend(rng.sample(training, n))
        if not chosen:
            self.message.emit("No polygons were held out: every class needs at least two training "
                              "polygons so one can stay for training.")
            return 0
        # One macro, so a single Undo puts every polygon back.
        self.undo_stack.beginMacro(f"hold out {len(chosen)} polygon(s) for validation")
        try:
            for pid in chosen:
                self.set_role(pid, "validation")
        finally:
            self.undo_stack.endMacro()
        self.message.emit(f"Marked {len(chosen)} training polygon(s) as validation "
                          f"({fraction * 100:g} % per class); Undo (Ctrl+Z) reverts it.")
        return len(chosen)

    def _insert(self, pid: str, rec: PolygonRecord, position: Optional[int] = None) -> None:
        if position is None or position >= len(self._polygons):
            self._polygons[pid] = rec
        else:
            items = list(self._polygons.items())
            items.insert(position, (pid, rec))
            self._polygons = dict(items)
        self.polygon_added.emit(pid)
        self._after_polygons()

    def _remove(self, pid: str) -> None:
        del self._polygons[pid]
        self.polygon_removed.emit(pid)
        self._after_polygons()

    def _swap(self, pid: str, rec: PolygonRecord) -> None:
        self._polygons[pid] = rec
        self.polygon_changed.emit(pid)
        self._after_polygons()

    def _after_polygons(self) -> None:
        self.changed.emit()

    # ------------------------------------------------------- whole-set loads
    def clear(self) -> None:
        """Forget everything, including undo history (a new project)."""
        for pid in list(self._polygons):
            self.polygon_removed.emit(pid)
        self._classes, self._polygons, self._pixel_counts = [], {}, {}
        self.undo_stack.clear()
        self._current = -1
        self.classes_changed.emit()
        self.current_class_changed.emit(-1)
        self.changed.emit()

    def _load(self, classes: list[ClassInfo], records: list[tuple[str, PolygonRecord]]) -> None:
        self.clear()
        self._classes = list(classes)
        self._polygons = dict(records)
        self.classes_changed.emit()
        for pid in self._polygons:
            self.polygon_added.emit(pid)
        if self._classes:
            self.set_current_class(self._classes[0].id)
        self.undo_stack.clear()
        self.undo_stack.setClean()

    def to_geojson(self, role: Optional[str] = None) -> dict:
        """FeatureCollection (WGS84) with properties class, color, role, pid — and the class list.

        The top-level ``classes`` member keeps classes that have no polygons yet
        and the class order, so a project restores exactly.
        """
        feats = [self.polygon_feature(pid) for pid, r in self._polygons.items() if role is None or r.role == role]
        return {"type": "FeatureCollection", "features": feats,
                "classes": [c.to_dict() for c in self._classes]}

    def from_geojson(self, fc: dict, class_field: str = "class", classes=None) -> None:
        """Replace everything with a FeatureCollection as written by :meth:`to_geojson`.

        The class list (order, ids, colours, classes without polygons) comes
        from ``classes`` (ClassInfo or dicts, e.g. a project's), else from the
        collection's ``classes`` member, else from the features. Clears the
        undo history: this is loading a project, not an edit. Raises
        SatSegError naming the offending feature.
        """
        if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
            raise SatSegError("the samples are not a GeoJSON FeatureCollection")
        listed: list[ClassInfo] = []
        by_name: dict[str, ClassInfo] = {}
        for d in (classes if classes is not None else fc.get("classes")) or []:
            d = d.to_dict() if hasattr(d, "to_dict") else d
            try:
                info = ClassInfo(int(d["id"]), str(d["name"]), normalize_color(d.get("color"), len(listed)))
            except (KeyError, TypeError, ValueError) as exc:
                raise SatSegError(f"class entry {len(listed) + 1} of the samples is damaged ({exc})") from exc
            if info.name not in by_name and info.id not in {c.id for c in listed}:
                listed.append(info)
                by_name[info.name] = info
        records = []
        if fc.get("features"):
            from ..core.samples import samples_from_geojson

            sample_set = samples_from_geojson(fc, class_field, source="the sample polygons")
            listed, records = self._from_sample_set(sample_set, listed, keep_pids=True)
        self._load(listed, records)

    def load_sample_set(self, sample_set) -> None:
        """Replace everything with a core ``SampleSet`` (clears the undo history)."""
        classes, records = self._from_sample_set(sample_set, [])
        self._load(classes, records)

    def _from_sample_set(self, sample_set, existing: list[ClassInfo], keep_pids: bool = False):
        """(classes, records) for a SampleSet, reusing classes in ``existing`` by name.

        ``keep_pids`` keeps the polygon ids stored in the features (a project
        reloading itself); imported files always get fresh ids, so they can
        never collide with polygons already in the model.
        """
        classes = list(existing)
        by_name = {c.name: c for c in classes}

        def ensure(name: str, color: Optional[str]) -> ClassInfo:
            if name not in by_name:
                info = ClassInfo(max([c.id for c in classes], default=0) + 1, name,
                                 normalize_color(color, len(classes)))
                classes.append(info)
                by_name[name] = info
            return by_name[name]

        taken: set[str] = set()
        for c in getattr(sample_set, "classes", None) or []:
            ensure(c.name if hasattr(c, "name") else str(c), getattr(c, "color", None))
        records = []
        for sp in sample_set.polygons:
            info = ensure(sp.class_name, getattr(sp, "color", None))
            role = sp.role if sp.role in ROLES else "training"
            geom = sp.geometry
            if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
                geom = geom.geoms[0]   # GeoPackage layers are all-multi; the map edits plain polygons
            props = {k: v for k, v in (getattr(sp, "properties", None) or {}).items()
                     if k not in _RESERVED and k not in _READER_FIELDS and not _blank(v)}
            pid = (sp.properties or {}).get("pid") if keep_pids else None
            if not pid or pid in taken:
                pid = uuid.uuid4().hex[:12]
            taken.add(str(pid))
            records.append((str(pid), PolygonRecord(geom, info.id, role, props)))
        return classes, records

    def to_sample_set(self, role: Optional[str] = None):
        """The samples as a core ``SampleSet`` (all roles, or only ``role``), classes in model order."""
        from ..core.samples import SamplePolygon, SampleSet

        polys = []
        for n, (pid, r) in enumerate(self._polygons.items(), start=1):
            if role is not None and r.role != role:
                continue
            cls = self.class_info(r.class_id)
            props = dict(r.properties)
            props["pid"] = pid
            polys.append(SamplePolygon(r.geometry, cls.name, cls.color, r.role, props,
                                       label=f"{r.role} polygon {n} (class '{cls.name}')"))
        # Model ids are kept (not renumbered) so training pixel counts and class
        # raster values map straight back to the classes in this model.
        return SampleSet(polys, list(self._classes), source="the sample polygons")

    # ------------------------------------------------------- files
    def import_file(self, path: str | os.PathLike, class_field: str = "class") -> int:
        """Add the polygons of a GeoJSON/KML/GeoPackage file as one undo step.

        Classes are matched by name; new names become new classes. Returns the
        number of polygons added. Raises SatSegError for an unreadable file.
        """
        from ..core.samples import read_samples

        sample_set = read_samples(str(path), class_field=class_field)
        old_classes = list(self._classes)
        classes, records = self._from_sample_set(sample_set, old_classes)
        if not records:
            raise SatSegError(f"{path} holds no sample polygons")
        old_current = self._current

        def do(m):
            m._classes = list(classes)
            for pid, rec in records:
                m._polygons[pid] = rec
                m.polygon_added.emit(pid)
            m._after_classes()
            if m._current == -1 and m._classes:
                m.set_current_class(m._classes[0].id)

        def undo(m):
            for pid, _ in records:
                del m._polygons[pid]
                m.polygon_removed.emit(pid)
            m._classes = list(old_classes)
            m._after_classes()
            if m.class_info(m._current) is None:
                m.set_current_class(old_current if m.class_info(old_current) else -1)

        self._push(_Command(f"import {Path(path).name}", do, undo))
        self.message.emit(f"Imported {len(records)} polygon(s) from {Path(path).name}.")
        return len(records)

    def export_file(self, path: str | os.PathLike, role: Optional[str] = None) -> None:
        """Write the samples to GeoJSON (.geojson/.json), KML (.kml) or GeoPackage (.gpkg)."""
        from ..core.samples_export import write_samples

        write_samples(self.to_sample_set(role), path)
