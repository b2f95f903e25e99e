"""Write a user's sample polygons as GeoJSON or KML so they travel between machines.

Accepts a ``core.samples.SampleSet`` or any iterable of sample polygons
(duck-typed: ``.geometry`` in WGS84, ``.class_name``, ``.color``, ``.role``,
optional ``.properties``). Both files carry class, colour and role per polygon
so ``core.samples.read_samples`` recovers them: GeoJSON as properties, KML as
ExtendedData ``class``/``color``/``role`` plus a style in the class colour,
all placemarks directly in the Document. (GDAL's LIBKML driver reads every
KML folder as a separate layer, so per-class folders would make other tools —
and ``read_samples`` — see only the first class; the class colour styles keep
the classes apart in Google Earth.)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Iterable

import shapely

from .atomic import atomic_path, write_text_atomic
from .classes import normalize_color
from .errors import SatSegError
from .export_vector import kml_placemark, kml_shared_style

_RESERVED = ("class", "color", "role")
# Fields GDAL's KML drivers add to every placemark; re-exporting them would only add noise.
_KML_READER_FIELDS = {"id", "name", "description", "timestamp", "begin", "end", "altitudemode", "tessellate",
                      "extrude", "visibility", "draworder", "icon", "snippet"}


@dataclass
class _Sample:
    geometry: shapely.Geometry
    class_name: str
    color: str
    role: str
    properties: dict


def _samples(samples) -> list[_Sample]:
    items: Iterable = getattr(samples, "polygons", samples)
    out = []
    order: dict[str, int] = {}      # class -> first-appearance index, for palette colours when one is missing
    for i, s in enumerate(items):
        geom = getattr(s, "geometry", None)
        name = getattr(s, "class_name", None)
        if not isinstance(geom, shapely.Geometry) or not name:
            raise SatSegError(f"sample polygon {i + 1} has no geometry or no class name")
        if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)) or geom.is_empty:
            raise SatSegError(f"sample polygon {i + 1} ({name}) is not a polygon")
        props = dict(getattr(s, "properties", None) or {})
        index = order.setdefault(str(name), len(order))
        out.append(_Sample(geom, str(name), normalize_color(getattr(s, "color", None), index),
                           str(getattr(s, "role", "training") or "training"), props))
    return out


def _clean_props(props: dict) -> dict:
    """Extra properties that are JSON-safe and do not shadow class/color/role."""
    out = {}
    for k, v in props.items():
        if k in _RESERVED or str(k).lower() in _KML_READER_FIELDS:
            continue
        if isinstance(v, float) and v != v:   # NaN from a reader's empty numeric field
            continue
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[str(k)] = v
        else:
            out[str(k)] = str(v)
    return out


def samples_geojson_dict(samples) -> dict:
    feats = []
    for s in _samples(samples):
        geom = shapely.orient_polygons(shapely.force_2d(s.geometry), exterior_cw=False)
        props = {"class": s.class_name, "color": s.color, "role": s.role, **_clean_props(s.properties)}
        feats.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))})
    return {"type": "FeatureCollection", "features": feats}


def write_samples_geojson(samples, path: str | os.PathLike) -> str:
    """Write sample polygons as an RFC 7946 FeatureCollection (properties class, color, role, ...)."""
    write_text_atomic(path, json.dumps(samples_geojson_dict(samples), separators=(",", ":")) + "\n")
    return str(path)


def write_samples_kml(samples, path: str | os.PathLike, opacity: float = 0.5) -> str:
    """Write sample polygons as KML 2.2: placemarks styled in the class colour, ExtendedData class/color/role."""
    import simplekml

    if not 0.0 <= opacity <= 1.0:
        raise SatSegError(f"KML opacity must be between 0 and 1, not {opacity}")
    kml = simplekml.Kml()
    doc = kml.document
    styles: dict[str, object] = {}
    for n, s in enumerate(_samples(samples), start=1):
        if s.color not in styles:
            styles[s.color] = kml_shared_style(kml, s.color, opacity, line_width=2)
        label = str(s.properties.get("name") or f"{s.class_name} {n}")
        geometry = shapely.orient_polygons(s.geometry, exterior_cw=False)
        pm = kml_placemark(doc, label, geometry, styles[s.color])
        pm.description = f"{s.class_name} ({s.role} sample)"
        for key, value in (("class", s.class_name), ("color", s.color), ("role", s.role),
                           *_clean_props(s.properties).items()):
            pm.extendeddata.newdata(name=key, value="" if value is None else str(value))
    write_text_atomic(path, kml.kml(format=True))
    return str(path)



def write_samples_gpkg(samples, path: str | os.PathLike) -> str:
    """Write sample polygons as a GeoPackage layer ``samples`` (EPSG:4326, MultiPolygon;
    fields class, color, role and pid, the id a polygon has in the app)."""
    import numpy as np
    import pyogrio
    import pyogrio.raw

    items = _samples(samples)
    # Promote to MultiPolygon so the layer has one geometry type.
    geoms = [g if isinstance(g, shapely.MultiPolygon) else shapely.MultiPolygon([g]) for g in (s.geometry for s in items)]
    fields = {
        "class": np.array([s.class_name for s in items], dtype=object),
        "color": np.array([s.color for s in items], dtype=object),
        "role": np.array([s.role for s in items], dtype=object),
        "pid": np.array([str(s.properties.get("pid") or "") for s in items], dtype=object),
    }

    def verify(tmp) -> None:   # every polygon made it into the file
        if pyogrio.read_info(tmp, layer="samples")["features"] != len(items):
            raise SatSegError(f"cannot write {path}: the file is incomplete")

    try:
        with atomic_path(path, verify=verify) as tmp:
            pyogrio.raw.write(str(tmp), np.asarray(shapely.to_wkb(geoms), dtype=object),
                              field_data=list(fields.values()), fields=list(fields), layer="samples",
                              driver="GPKG", crs="EPSG:4326", geometry_type="MultiPolygon")
    except SatSegError:
        raise
    except Exception as exc:   # pyogrio/GDAL raise many kinds
        raise SatSegError(f"cannot write {path}: {exc}") from exc
    return str(path)


SAMPLE_WRITERS = {".geojson": write_samples_geojson, ".json": write_samples_geojson,
                  ".kml": write_samples_kml, ".gpkg": write_samples_gpkg}


def write_samples(samples, path: str | os.PathLike) -> str:
    """Write sample polygons in the format the file name says (.geojson/.json, .kml, .gpkg)."""
    from pathlib import Path

    writer = SAMPLE_WRITERS.get(Path(path).suffix.lower())
    if writer is None:
        raise SatSegError(f"cannot export samples to '{Path(path).name}': use .geojson, .kml or .gpkg")
    if not _samples(samples):
        raise SatSegError("there are no sample polygons to export")
    return writer(samples, path)
