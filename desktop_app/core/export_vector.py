"""Class polygons to GeoJSON (RFC 7946) and KML 2.2 (simplekml), with geodesic areas.

Both formats are WGS84 lon/lat. Long straight edges are densified before
reprojection so curved edges (e.g. a UTM grid line in lon/lat) keep their
shape and their area; the reported areas are geodesic on WGS84 and agree
with ``core.areas.class_areas`` of the same raster.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import shapely

from .areas import geodesic_area
from .atomic import write_text_atomic
from .classes import hex_to_rgb, normalize_color
from .errors import SatSegError
from .geo import WGS84, as_crs, polygon_parts, split_at_antimeridian, transform_geometry, unwrap_longitudes
from .jobs import Job, ensure_job
from .vectorize import ClassFeature

# GeoJSON coordinates: 7 decimals of a degree is about 1 cm, far below any pixel.
GEOJSON_DECIMALS = 7
# Edges longer than this many metres (or 0.01 degree) get intermediate vertices before reprojection.
_DENSIFY_M = 1000.0


@dataclass
class WgsFeature:
    """A class feature reprojected to WGS84, with its geodesic area."""
    class_id: int
    name: str
    color: str
    geometry: shapely.Geometry      # WGS84, oriented per RFC 7946 (exterior counter-clockwise)
    area_m2: float
    properties: dict

    def geojson_properties(self) -> dict:
        props = {"class": self.name, "class_id": self.class_id, "color": self.color,
                 "area_m2": round(self.area_m2, 2), "area_ha": round(self.area_m2 / 1e4, 6)}
        props.update(self.properties)
        return props


def to_wgs84(features: Sequence[ClassFeature], crs, job: Optional[Job] = None) -> list[WgsFeature]:
    """Reproject class features to WGS84 (densified, valid, right-hand rule) with geodesic areas."""
    job = ensure_job(job)
    crs = as_crs(crs)
    step = _DENSIFY_M / float(crs.linear_units_factor[1]) if crs.is_projected else 0.01
    out = []
    for i, f in enumerate(features):
        if i % 50 == 0:
            job.step(i / max(len(features), 1), "reprojecting polygons")
        g = unwrap_longitudes(transform_geometry(shapely.segmentize(f.geometry, step), crs, WGS84))
        g = shapely.set_precision(g, 10 ** -GEOJSON_DECIMALS)
        if not g.is_valid:
            g = shapely.make_valid(g)
        if not isinstance(g, (shapely.Polygon, shapely.MultiPolygon)):
            g = shapely.MultiPolygon(polygon_parts(g))   # make_valid / snapping can leave lines or points
        g = split_at_antimeridian(g)
        if g.is_empty:
            continue
        g = shapely.orient_polygons(g, exterior_cw=False)
        out.append(WgsFeature(f.class_id, f.name, normalize_color(f.color, f.class_id - 1), g,
                              geodesic_area(g), dict(f.properties)))
    job.step(1.0, "reprojected")
    return out


def geojson_dict(features: Sequence[ClassFeature], crs, job: Optional[Job] = None) -> dict:
    """An RFC 7946 FeatureCollection of the class features."""
    wgs = to_wgs84(features, crs, job)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": f.geojson_properties(),
             "geometry": json.loads(shapely.to_geojson(f.geometry))}
            for f in wgs
        ],
    }


def write_geojson(features: Sequence[ClassFeature], crs, path: str | os.PathLike,
                  job: Optional[Job] = None) -> str:
    """Write class polygons as GeoJSON (RFC 7946: WGS84, right-hand rule); returns the path."""
    doc = geojson_dict(features, crs, job)
    write_text_atomic(path, json.dumps(doc, separators=(",", ":")) + "\n")
    return str(path)


def kml_color(color: str, opacity: float) -> str:
    """KML colour 'aabbggrr' from '#rrggbb' and an opacity 0..1."""
    r, g, b = hex_to_rgb(color)
    alpha = int(round(max(0.0, min(1.0, opacity)) * 255))
    return f"{alpha:02x}{b:02x}{g:02x}{r:02x}"


def _kml_ring(ring) -> list[tuple[float, float]]:
    # KML read back from other tools may carry heights; polygons here are 2D on the ground.
    return [(round(c[0], GEOJSON_DECIMALS), round(c[1], GEOJSON_DECIMALS)) for c in ring.coords]


def _kml_rings(poly: shapely.Polygon) -> tuple[list, list[list]]:
    return _kml_ring(poly.exterior), [_kml_ring(r) for r in poly.interiors]


def kml_shared_style(kml, color: str, opacity: float, line_width: int = 1):
    """A polygon style in ``color`` (fill at ``opacity``) registered once in the Document.

    Shared styles belong in the Document (Google Earth ignores shared styles in Folders);
    simplekml would otherwise write each one inside the first folder that uses it.
    """
    import simplekml

    style = simplekml.Style()
    style.polystyle.color = kml_color(color, opacity)
    style.polystyle.fill = 1
    style.polystyle.outline = 1
    style.linestyle.color = kml_color(color, 1.0)
    style.linestyle.width = line_width
    kml.document._addstyle(style)
    return style


def kml_placemark(container, name: str, geometry: shapely.Geometry, style):
    """One placemark for a (multi)polygon: a Polygon, or a MultiGeometry of its parts."""
    polys = list(shapely.get_parts(geometry))
    if len(polys) == 1:
        outer, inner = _kml_rings(polys[0])
        pm = container.newpolygon(name=name, outerboundaryis=outer, innerboundaryis=inner)
    else:
        pm = container.newmultigeometry(name=name)
        for p in polys:
            outer, inner = _kml_rings(p)
            pm.newpolygon(outerboundaryis=outer, innerboundaryis=inner)
    pm.style = style
    return pm


def write_kml(features: Sequence[ClassFeature], crs, path: str | os.PathLike, opacity: float = 0.6,
              job: Optional[Job] = None) -> str:
    """Write class polygons as KML 2.2: one folder per class, polygons in the class colour at ``opacity``."""
    import simplekml

    if not 0.0 <= opacity <= 1.0:
        raise SatSegError(f"KML opacity must be between 0 and 1, not {opacity}")
    wgs = to_wgs84(features, crs, job)
    # No Document <name>: simplekml writes shared styles first, and KML 2.2's schema wants <name>
    # before any style; without it the file stays schema-valid (Google Earth shows the file name).
    kml = simplekml.Kml()
    folders: dict[int, object] = {}
    styles: dict[int, object] = {}
    for f in wgs:
        if f.class_id not in folders:
            folders[f.class_id] = kml.newfolder(name=f.name)
            styles[f.class_id] = kml_shared_style(kml, f.color, opacity)
        patch = f.properties.get("patch")
        name = f"{f.name} {patch}" if patch is not None else f.name
        pm = kml_placemark(folders[f.class_id], name, f.geometry, styles[f.class_id])
        pm.description = (f"{f.name}: {f.area_m2 / 1e4:,.4f} ha ({f.area_m2:,.1f} m², "
                          f"{f.area_m2 / 1e6:,.6f} km²)")
        for key, value in (("class", f.name), ("class_id", f.class_id), ("color", f.color),
                           ("area_m2", round(f.area_m2, 2)), ("area_ha", round(f.area_m2 / 1e4, 6))):
            pm.extendeddata.newdata(name=key, value=str(value))
    write_text_atomic(path, kml.kml(format=True))
    return str(path)
