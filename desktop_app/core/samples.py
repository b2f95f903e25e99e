"""Sample polygons and the training pixels they cover.

Polygons come from GeoJSON (RFC 7946, WGS84), GeoPackage, Shapefile or KML
and are kept in WGS84 (what the map draws). For training they are reprojected
to the raster CRS and rasterized on the raster grid (a pixel belongs to a
polygon when its centre is inside, GDAL's rule), one polygon window at a
time, so a big image is never read whole. Class ids are 1..K in order of
first appearance in the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np
import shapely
import shapely.geometry
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.windows import Window, from_bounds
from rasterio.windows import transform as window_transform

from .classes import MAX_CLASSES, ClassInfo, normalize_color
from .errors import SatSegError, advised
from .geo import WGS84, polygon_parts, transform_geometry
from .jobs import Job, ensure_job
from .raster import Raster, resolve_bands

ROLES = ("training", "validation")


@dataclass
class SamplePolygon:
    geometry: shapely.Geometry        # (Multi)Polygon in WGS84 lon/lat
    class_name: str
    color: str
    role: str = "training"
    properties: dict = field(default_factory=dict)
    label: str = ""                   # how messages name it, e.g. "feature 3 (class 'water')"


@dataclass
class SampleSet:
    polygons: list[SamplePolygon]
    classes: list[ClassInfo]          # ids 1..K in first-appearance order
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    def class_id(self, name: str) -> int:
        for c in self.classes:
            if c.name == name:
                return c.id
        raise SatSegError(f"no class named '{name}' in the samples")

    def with_role(self, role: Optional[str]) -> list[SamplePolygon]:
        return [p for p in self.polygons if role is None or p.role == role]

    def to_geojson(self) -> dict:
        feats = []
        for p in self.polygons:
            props = dict(p.properties)
            props.update({"class": p.class_name, "color": p.color, "role": p.role})
            feats.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(p.geometry)})
        return {"type": "FeatureCollection", "features": feats}


@dataclass
class TrainingData:
    X: np.ndarray                     # (n, bands) float32 reflectance
    y: np.ndarray                     # (n,) class ids 1..K
    classes: list[ClassInfo]
    band_names: list[str]
    pixels_per_class: dict[int, int]
    warnings: list[str] = field(default_factory=list)
    # (n,) index of the polygon each pixel came from (per-polygon signatures, grouped
    # cross-validation); None when unknown. ``group_labels[i]`` names polygon i in messages.
    groups: Optional[np.ndarray] = None
    group_labels: list[str] = field(default_factory=list)

    @property
    def n_bands(self) -> int:
        return self.X.shape[1]

    def report(self) -> list[dict]:
        return [{"id": c.id, "name": c.name, "color": c.color, "pixels": self.pixels_per_class.get(c.id, 0)}
                for c in self.classes]


# -- reading ----------------------------------------------------------------
def read_samples(path: Union[str, Path], class_field: str = "class") -> SampleSet:
    """Sample polygons from GeoJSON, GeoPackage, Shapefile or KML."""
    p = Path(path)
    if not p.exists():
        raise SatSegError(f"samples file {p} does not exist")
    suffix = p.suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            fc = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SatSegError(f"{p} is not valid GeoJSON: {exc}") from exc
        return samples_from_geojson(fc, class_field, source=str(p))
    return _read_with_ogr(p, class_field)


def _read_with_ogr(p: Path, class_field: str) -> SampleSet:
    """GeoPackage / Shapefile / KML (and anything else OGR reads) via pyogrio.

    Every layer is read: OGR turns each KML folder into a layer of its own, and
    Google Earth files (and SatSeg's class KML) keep one folder per class.
    """
    import pyogrio

    try:
        layers = [str(name) for name, _geom_type in pyogrio.list_layers(p)]
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        raise SatSegError(f"cannot read samples from {p}: {exc}") from exc
    records, names, crs = [], [], None
    for layer in layers:
        try:
            meta, _fids, geoms, fields = pyogrio.raw.read(p, layer=layer)
        except Exception as exc:
            raise SatSegError(f"cannot read samples from {p} (layer '{layer}'): {exc}") from exc
        layer_fields = list(meta["fields"])
        names += [n for n in layer_fields if n not in names]
        crs = crs or meta.get("crs")
        for i, wkb in enumerate(geoms):
            props = {}
            for name, col in zip(layer_fields, fields):
                v = col[i]
                props[name] = v.item() if hasattr(v, "item") else v
            geom = shapely.from_wkb(wkb) if wkb is not None else None
            records.append((geom, props, layer))
    field_name = class_field
    if p.suffix.lower() in (".kml", ".kmz") and class_field not in names:
        # KML without a class attribute: one folder per class names the class;
        # otherwise placemarks carry the class only as their <name>.
        if len(layers) > 1:
            field_name = "layer"
            for _geom, props, layer in records:
                props["layer"] = layer
        else:
            field_name = next((n for n in names if n.lower() == "name"), class_field)
    records = [(geom, props) for geom, props, _layer in records]
    return _build_set(records, field_name, CRS.from_user_input(crs or "EPSG:4326"), str(p), names)


def samples_from_geojson(fc: dict, class_field: str = "class", source: str = "GeoJSON") -> SampleSet:
    """A SampleSet from a GeoJSON FeatureCollection (RFC 7946 lon/lat; a legacy
    ``crs`` member naming another CRS is honoured)."""
    if isinstance(fc, dict) and fc.get("type") == "Feature":
        fc = {"type": "FeatureCollection", "features": [fc]}
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection" or not isinstance(fc.get("features"), list):
        raise SatSegError(f"{source} is not a GeoJSON FeatureCollection")
    crs = WGS84
    legacy = (fc.get("crs") or {}).get("properties", {}).get("name") if isinstance(fc.get("crs"), dict) else None
    if legacy:
        try:
            crs = CRS.from_user_input(legacy.replace("urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84"))
        except Exception as exc:
            raise SatSegError(f"{source}: unknown crs '{legacy}'") from exc
    records = []
    field_names: list[str] = []
    for i, f in enumerate(fc["features"]):
        props = dict((f or {}).get("properties") or {})
        for k in props:
            if k not in field_names:
                field_names.append(k)
        g = (f or {}).get("geometry")
        try:
            geom = shapely.geometry.shape(g) if g else None
        except Exception as exc:
            raise SatSegError(f"{source}: feature {i + 1} has a broken geometry ({exc})") from exc
        records.append((geom, props))
    return _build_set(records, class_field, crs, source, field_names)


def _build_set(records, class_field: str, crs: CRS, source: str, field_names: list[str]) -> SampleSet:
    if not records:
        raise SatSegError(f"{source} contains no features")
    if not any(class_field in props for _, props in records):
        avail = ", ".join(field_names) if field_names else "none"
        raise SatSegError(advised(f"{source}: no feature has the class field '{class_field}' (fields: {avail})",
                                  cli="choose the field with --class-field",
                                  app=f"SatSeg reads each polygon's class from the field '{class_field}': rename the "
                                      "field that holds the class names (e.g. in QGIS) and import the file again"))
    polygons: list[SamplePolygon] = []
    classes: dict[str, ClassInfo] = {}
    warnings: list[str] = []
    for i, (geom, props) in enumerate(records):
        name = props.get(class_field)
        if name is None or str(name).strip() == "":
            raise SatSegError(f"{source}: feature {i + 1} has no value in the class field '{class_field}'")
        name = str(name).strip()
        label = f"feature {i + 1} (class '{name}')"
        if name not in classes:
            if len(classes) >= MAX_CLASSES:
                raise SatSegError(f"{source}: more than {MAX_CLASSES} classes")
            classes[name] = ClassInfo(len(classes) + 1, name, normalize_color(props.get("color"), len(classes)))
        try:
            geom, note = clean_polygon(geom, label)
        except SatSegError as exc:
            raise SatSegError(f"{source}: {exc}") from None
        if note:
            warnings.append(note)
        if crs != WGS84 and not (crs.to_string() in ("OGC:CRS84",)):
            geom = transform_geometry(geom, crs, WGS84)
        role = str(props.get("role") or "training").strip().lower()
        if role not in ROLES:
            raise SatSegError(f"{source}: {label} has role '{role}'; expected training or validation")
        polygons.append(SamplePolygon(geom, name, classes[name].color, role, props, label))
    return SampleSet(polygons, list(classes.values()), warnings, source)


def geometry_from_geojson(geometry, label: str) -> shapely.Geometry:
    """A shapely geometry from a GeoJSON geometry or Feature (a dict); SatSegError if malformed."""
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    try:
        return shapely.geometry.shape(geometry)
    except Exception as exc:  # malformed GeoJSON from a file or the map page
        raise SatSegError(f"{label}: not a valid GeoJSON geometry ({exc})") from None


def clean_polygon(geom, label: str) -> tuple[shapely.Geometry, Optional[str]]:
    """A sample polygon fit for training: ``(geometry, note)``.

    Invalid rings are repaired with make_valid, keeping only the polygon parts;
    ``note`` then says so (else None). A geometry that is not polygonal, or has
    no area even once repaired, raises SatSegError naming ``label``.
    """
    if geom is None or geom.is_empty:
        raise SatSegError(f"{label} has no geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        raise SatSegError(f"{label} is a {geom.geom_type}; samples must be polygons")
    note = None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        parts = polygon_parts(geom)
        note = f"{label} was invalid ({reason}) and has been repaired into {len(parts)} part(s)"
    if geom.geom_type == "GeometryCollection" or note:
        parts = polygon_parts(geom)
        geom = (parts[0] if len(parts) == 1 else shapely.union_all(parts)) if parts else None
    if geom is None or geom.is_empty or geom.area == 0:
        raise SatSegError(f"{label} has no area (self-intersecting or degenerate) and cannot be repaired")
    return geom, note


# -- training pixels ----------------------------------------------------------
def _grid(image):
    return image.width, image.height, image.transform, image.crs, list(image.band_names)


def _read_window(image, window: Window, idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(image, Raster):
        r0, c0 = int(window.row_off), int(window.col_off)
        r1, c1 = r0 + int(window.height), c0 + int(window.width)
        return image.data[idx, r0:r1, c0:c1], image.nodata_mask[r0:r1, c0:c1]
    names = [image.band_names[i] for i in idx]
    block = image.read(window, bands=names)
    return block.data, block.nodata_mask


def polygon_pixels(image, polygon: SamplePolygon, idx: list[int]):
    """(flat pixel indexes, values (n, bands), nodata count) of the pixels whose centre is inside ``polygon``.

    Returns None when the polygon does not overlap the image.
    """
    width, height, transform, crs, _ = _grid(image)
    geom = transform_geometry(polygon.geometry, WGS84, crs)
    left, bottom, right, top = geom.bounds
    win = from_bounds(left, bottom, right, top, transform)
    c0, r0 = max(0, int(np.floor(win.col_off))), max(0, int(np.floor(win.row_off)))
    c1 = min(width, int(np.ceil(win.col_off + win.width)) + 1)
    r1 = min(height, int(np.ceil(win.row_off + win.height)) + 1)
    if c1 <= c0 or r1 <= r0:
        return None
    window = Window(c0, r0, c1 - c0, r1 - r0)
    inside = rasterize([(geom, 1)], out_shape=(r1 - r0, c1 - c0), transform=window_transform(window, transform),
                       fill=0, dtype="uint8", all_touched=False).astype(bool)
    if not inside.any():
        return np.zeros(0, np.int64), np.zeros((0, len(idx)), np.float32), 0
    data, nodata = _read_window(image, window, idx)
    keep = inside & ~nodata
    rows, cols = np.nonzero(keep)
    flat = (rows + r0).astype(np.int64) * width + (cols + c0)
    return flat, data[:, keep].T.astype(np.float32), int((inside & nodata).sum())


def collect_training(image, samples: SampleSet, bands=None, max_per_class: Optional[int] = None, seed: int = 0,
                     role: Optional[str] = "training", job: Optional[Job] = None,
                     min_pixels: Optional[int] = None, min_classes: Optional[int] = None) -> TrainingData:
    """Training pixels per class from ``image`` (a Raster or an ImageSource).

    Nodata pixels are dropped; a pixel covered by polygons of two different
    classes is ambiguous and dropped (with a warning); ``max_per_class`` keeps
    a seeded random subset per class. Every class must end with at least
    bands + 1 pixels (``min_pixels``), so its covariance can be estimated,
    and there must be at least ``min_classes`` classes (default 2 for
    classification; 1 when ``min_pixels`` is given, e.g. to plot signatures
    of the classes drawn so far).
    """
    job = ensure_job(job)
    _, _, _, _, band_names = _grid(image)
    idx = resolve_bands(band_names, bands) if bands is not None else list(range(len(band_names)))
    names = [band_names[i] for i in idx]
    polys = samples.with_role(role)
    if not polys and role == "training":
        # A file without a role column: every polygon trains.
        polys = samples.with_role(None)
    if not polys:
        raise SatSegError(f"{samples.source or 'the samples'} contain no {role} polygons")
    warnings = list(samples.warnings)
    flats, values, labels, groups = [], [], [], []
    outside, empty = [], []
    nodata_total = 0
    for i, poly in enumerate(polys):
        job.step(i / len(polys), f"reading samples {i + 1}/{len(polys)}")
        got = polygon_pixels(image, poly, idx)
        if got is None:
            outside.append(poly.label)
            continue
        flat, vals, nd = got
        nodata_total += nd
        if len(flat) == 0:
            if nd == 0:
                empty.append(poly.label)
            continue
        cid = samples.class_id(poly.class_name)
        flats.append(flat)
        values.append(vals)
        labels.append(np.full(len(flat), cid, np.int32))
        groups.append(np.full(len(flat), i, np.int32))
    if outside:
        if len(outside) == len(polys):
            raise SatSegError(f"none of the {role} polygons overlaps the image (check that the samples belong to this "
                              f"image); e.g. {outside[0]}")
        warnings.append(f"{len(outside)} polygon(s) lie outside the image and were ignored: {', '.join(outside[:5])}"
                        + (" ..." if len(outside) > 5 else ""))
    if empty:
        warnings.append(f"{len(empty)} polygon(s) are smaller than a pixel (no pixel centre inside): "
                        f"{', '.join(empty[:5])}" + (" ..." if len(empty) > 5 else ""))
    if nodata_total:
        warnings.append(f"{nodata_total} nodata pixel(s) inside polygons were left out")
    if flats:
        flat = np.concatenate(flats)
        X = np.concatenate(values)
        y = np.concatenate(labels)
        g = np.concatenate(groups)
    else:
        flat, X, y = np.zeros(0, np.int64), np.zeros((0, len(idx)), np.float32), np.zeros(0, np.int32)
        g = np.zeros(0, np.int32)
    X, y, g = _resolve_overlaps(flat, X, y, samples, warnings, g)
    present = [c for c in samples.classes if any(p.class_name == c.name for p in polys)]
    counts = {c.id: int((y == c.id).sum()) for c in present}
    need = (len(idx) + 1) if min_pixels is None else min_pixels
    for c in present:
        if counts[c.id] == 0:
            raise SatSegError(f"class '{c.name}' has no usable training pixels (its polygons are outside the "
                              "image, on nodata, or smaller than a pixel)")
        if counts[c.id] < need:
            raise SatSegError(f"class '{c.name}' has only {counts[c.id]} training pixel(s); at least {need} "
                              f"(bands + 1 with {len(idx)} bands) are needed: draw larger polygons or use fewer bands")
    if min_classes is None:
        min_classes = 2 if min_pixels is None and role == "training" else 1
    if len(present) < min_classes:
        only = present[0].name if present else "none"
        raise SatSegError(f"at least two classes are needed to classify; the samples have one ({only})")
    if max_per_class is not None:
        X, y, g = _cap(X, y, int(max_per_class), seed, g)
        counts = {c.id: int((y == c.id).sum()) for c in present}
    job.step(1.0, "samples read")
    return TrainingData(X, y.astype(np.int32), present, names, counts, warnings, g, [p.label for p in polys])


def _resolve_overlaps(flat, X, y, samples: SampleSet, warnings: list[str], g):
    """One entry per pixel: duplicates of one class collapse (the first polygon keeps the pixel);
    pixels claimed by two classes are dropped."""
    if len(flat) == 0:
        return X, y, g
    order = np.argsort(flat, kind="stable")
    flat, X, y, g = flat[order], X[order], y[order], g[order]
    first = np.ones(len(flat), bool)
    first[1:] = flat[1:] != flat[:-1]
    group = np.cumsum(first) - 1
    ymin = np.minimum.reduceat(y, np.flatnonzero(first))
    ymax = np.maximum.reduceat(y, np.flatnonzero(first))
    conflict = (ymin != ymax)[group]
    if conflict.any():
        pairs = sorted({(int(a), int(b)) for a, b in zip(ymin[ymin != ymax], ymax[ymin != ymax])})
        names = {c.id: c.name for c in samples.classes}
        desc = ", ".join(f"'{names[a]}'/'{names[b]}'" for a, b in pairs[:4])
        warnings.append(f"{int(first[conflict].sum())} pixel(s) covered by polygons of different classes "
                        f"({desc}) were left out")
    keep = first & ~conflict
    return X[keep], y[keep], g[keep]


def _cap(X, y, cap: int, seed: int, g):
    if cap < 1:
        raise SatSegError("the per-class pixel cap must be at least 1")
    rng = np.random.default_rng(seed)
    keep = []
    for cid in np.unique(y):
        idx = np.flatnonzero(y == cid)
        if len(idx) > cap:
            idx = np.sort(rng.choice(idx, cap, replace=False))
        keep.append(idx)
    keep = np.sort(np.concatenate(keep))
    return X[keep], y[keep], g[keep]


def rasterize_samples(samples: SampleSet, shape: tuple[int, int], transform, crs, role: Optional[str] = None,
                      ) -> np.ndarray:
    """uint8 (rows, cols) class ids of the polygons on a grid (0 outside; later polygons win overlaps)."""
    polys = samples.with_role(role)
    shapes = [(transform_geometry(p.geometry, WGS84, crs), samples.class_id(p.class_name)) for p in polys]
    if not shapes:
        return np.zeros(shape, np.uint8)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8", all_touched=False)
