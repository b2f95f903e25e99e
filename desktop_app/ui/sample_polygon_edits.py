"""Undoable polygon edits of the sample model: add, edit, delete, role, validation hold-out.

A mixin of :class:`~desktop_app.ui.sample_model.SampleModel`, which holds the
state and the signals. Geometry from the map is cleaned by the core's rules
(``core.samples.clean_polygon``) before it is stored; every change is one
:class:`ModelCommand` (a hold-out is one macro) so Ctrl+Z undoes it.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import replace
from typing import Optional

from ..core.errors import SatSegError
from .sample_records import ROLES, PolygonRecord
from .sample_undo import ModelCommand


class PolygonEdits:
    """Polygon edits; needs SampleModel's state, signals, queries and ``_push``."""

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
        self._push(ModelCommand(f"add {cls.name} polygon",
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
        self._push(ModelCommand("edit polygon", lambda m: m._swap(pid, new), lambda m: m._swap(pid, old)))
        return True

    def delete_polygon(self, pid: str) -> bool:
        rec = self._polygons.get(pid)
        if rec is None:
            return False
        position = list(self._polygons).index(pid)
        self._push(ModelCommand("delete polygon", lambda m: m._remove(pid),
                            lambda m: m._insert(pid, rec, position)))
        return True

    def set_role(self, pid: str, role: str) -> bool:
        old = self._polygons.get(pid)
        if old is None or role not in ROLES:
            return False
        if old.role == role:
            return True
        new = replace(old, role=role)
        self._push(ModelCommand(f"mark polygon as {role}", lambda m: m._swap(pid, new),
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
