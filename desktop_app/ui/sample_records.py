"""The sample model's records and their conversion to and from core sample sets and GeoJSON.

Qt-free: what :class:`~desktop_app.ui.sample_model.SampleModel` stores per polygon
and how a loaded ``SampleSet``, a project's class list or the map's GeoJSON maps
onto it. Polygons keep their class by id, so a rename touches no polygon.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Optional

from shapely.geometry import MultiPolygon, mapping

from ..core.classes import ClassInfo, normalize_color
from ..core.errors import SatSegError

# The roles of core.samples.ROLES, spelled here so the window does not import the
# core's raster stack (rasterio) just to open; core.samples is imported where it is used.
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


def _json_geometry(geom) -> dict:
    # mapping() returns tuples; a JSON round trip makes plain lists so saved and
    # in-memory forms compare equal.
    return json.loads(json.dumps(mapping(geom)))


def record_feature(pid: str, rec: PolygonRecord, cls: Optional[ClassInfo]) -> dict:
    """GeoJSON Feature for one polygon (what the map bridge draws); ``cls`` None: class unknown."""
    props = dict(rec.properties)
    props.update({"class": cls.name if cls else "", "class_id": rec.class_id,
                  "color": cls.color if cls else "#888888", "role": rec.role, "pid": pid})
    return {"type": "Feature", "geometry": _json_geometry(rec.geometry), "properties": props}


def classes_from_entries(entries) -> list[ClassInfo]:
    """Class list from ClassInfo or dict entries (a project's, or a collection's ``classes``).

    A repeated name or id keeps the first entry. Raises SatSegError naming a damaged entry.
    """
    listed: list[ClassInfo] = []
    by_name: dict[str, ClassInfo] = {}
    for d in entries or []:
        d = d.to_dict() if hasattr(d, "to_dict") else d
        try:
            info = ClassInfo(int(d["id"]), str(d["name"]), normalize_color(d.get("color"), len(listed)))
        except (KeyError, TypeError, ValueError) as exc:
            raise SatSegError(f"class entry {len(listed) + 1} of the samples is damaged ({exc})") from exc
        if info.name not in by_name and info.id not in {c.id for c in listed}:
            listed.append(info)
            by_name[info.name] = info
    return listed


def records_from_sample_set(sample_set, existing: list[ClassInfo], keep_pids: bool = False):
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


def sample_set_from_records(classes: list[ClassInfo], polygons: dict[str, PolygonRecord],
                            role: Optional[str] = None):
    """The records as a core ``SampleSet`` (all roles, or only ``role``), classes in the given order."""
    from ..core.samples import SamplePolygon, SampleSet

    by_id = {c.id: c for c in classes}
    polys = []
    for n, (pid, r) in enumerate(polygons.items(), start=1):
        if role is not None and r.role != role:
            continue
        cls = by_id.get(r.class_id)
        props = dict(r.properties)
        props["pid"] = pid
        polys.append(SamplePolygon(r.geometry, cls.name, cls.color, r.role, props,
                                   label=f"{r.role} polygon {n} (class '{cls.name}')"))
    # Model ids are kept (not renumbered) so training pixel counts and class
    # raster values map straight back to the classes in the model.
    return SampleSet(polys, list(classes), source="the sample polygons")
