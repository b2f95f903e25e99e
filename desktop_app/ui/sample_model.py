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

import os
import weakref
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from ..core.classes import ClassInfo
from ..core.errors import SatSegError
from .sample_class_edits import ClassEdits
from .sample_polygon_edits import PolygonEdits
from .sample_records import (PolygonRecord, classes_from_entries, record_feature, records_from_sample_set,
                             sample_set_from_records)
from .sample_undo import ModelCommand


class SampleModel(QObject, ClassEdits, PolygonEdits):
    """The classes and polygons being edited; the edits themselves come from the mixins
    (sample_class_edits.py, sample_polygon_edits.py), conversions from sample_records.py."""

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

    def _push(self, command: ModelCommand) -> None:
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
        return record_feature(pid, rec, self.class_info(rec.class_id))

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
        listed = classes_from_entries(classes if classes is not None else fc.get("classes"))
        records = []
        if fc.get("features"):
            from ..core.samples import samples_from_geojson

            sample_set = samples_from_geojson(fc, class_field, source="the sample polygons")
            listed, records = records_from_sample_set(sample_set, listed, keep_pids=True)
        self._load(listed, records)

    def load_sample_set(self, sample_set) -> None:
        """Replace everything with a core ``SampleSet`` (clears the undo history)."""
        classes, records = records_from_sample_set(sample_set, [])
        self._load(classes, records)

    def to_sample_set(self, role: Optional[str] = None):
        """The samples as a core ``SampleSet`` (all roles, or only ``role``), classes in model order."""
        return sample_set_from_records(self._classes, self._polygons, role)

    # ------------------------------------------------------- files
    def import_file(self, path: str | os.PathLike, class_field: str = "class") -> int:
        """Add the polygons of a GeoJSON/KML/GeoPackage file as one undo step.

        Classes are matched by name; new names become new classes. Returns the
        number of polygons added. Raises SatSegError for an unreadable file.
        """
        from ..core.samples import read_samples

        sample_set = read_samples(str(path), class_field=class_field)
        old_classes = list(self._classes)
        classes, records = records_from_sample_set(sample_set, old_classes)
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

        self._push(ModelCommand(f"import {Path(path).name}", do, undo))
        self.message.emit(f"Imported {len(records)} polygon(s) from {Path(path).name}.")
        return len(records)

    def export_file(self, path: str | os.PathLike, role: Optional[str] = None) -> None:
        """Write the samples to GeoJSON (.geojson/.json), KML (.kml) or GeoPackage (.gpkg)."""
        from ..core.samples_export import write_samples

        write_samples(self.to_sample_set(role), path)
