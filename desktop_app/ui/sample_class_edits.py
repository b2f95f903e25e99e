"""Undoable class edits of the sample model: add, rename, recolour, delete.

A mixin of :class:`~desktop_app.ui.sample_model.SampleModel`, which holds the
state (``_classes``, ``_polygons``, ``_current``) and the signals; each edit is
pushed as one :class:`ModelCommand` so Ctrl+Z undoes it. Ids are not renumbered
(deleting class 2 leaves class 3 as 3), so class raster values keep their meaning.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ..core.classes import ClassInfo, normalize_color
from .sample_undo import ModelCommand


class ClassEdits:
    """Class edits; needs SampleModel's state, signals, queries and ``_push``."""

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

        self._push(ModelCommand(f"add class {name}", do, undo))
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
        self._push(ModelCommand(f"rename class {old.name} to {name}",
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
        self._push(ModelCommand(f"recolour class {old.name}",
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

        self._push(ModelCommand(f"delete class {info.name}", do, undo))
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
