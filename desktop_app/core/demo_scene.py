"""A deterministic synthetic Sentinel-2 L2A scene with ground truth.

About 1000 x 1000 px at 10 m in UTM 43N near Muzaffarnagar, India
(29.47 N, 77.70 E): field parcels, a meandering river, a settlement with a
road grid, barren patches and woodland. Each pixel mixes reference spectra
(``core.spectra``) with per-parcel and per-pixel variation; class edges are
blended so boundary pixels are mixed, as in real imagery. The same seed
always gives the same bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import shapely
from affine import Affine
from rasterio.crs import CRS
from scipy import ndimage
from scipy.spatial import cKDTree

from .atomic import atomic_batch, check_outputs, write_text_atomic
from .classes import ClassInfo, write_class_raster
from .errors import SatSegError
from .geo import WGS84, transform_points
from .geotiff import GeoTiffWriter
from .jobs import Job, ensure_job
from .raster import Raster
from .spectra import DEMO_BANDS, endmember

CENTER_LON, CENTER_LAT = 77.70, 29.47
DEMO_CRS = CRS.from_epsg(32643)
PIXEL = 10.0

CLASSES = [
    ClassInfo(1, "water", "#1f78b4"),
    ClassInfo(2, "urban", "#e31a1c"),
    ClassInfo(3, "agriculture", "#a6d854"),
    ClassInfo(4, "barren", "#bf812d"),
    ClassInfo(5, "forest", "#1b7837"),
]
WATER, URBAN, AGRI, BARREN, FOREST = 1, 2, 3, 4, 5


@dataclass
class DemoScene:
    image: Raster           # reflectance, 12 bands
    truth: np.ndarray       # uint8 class ids 1..5
    samples: dict           # GeoJSON FeatureCollection (WGS84), training polygons
    validation: dict        # GeoJSON FeatureCollection (WGS84), held-out polygons
    roi: dict               # GeoJSON FeatureCollection (WGS84)


def _smooth_noise(rng, shape, sigma) -> np.ndarray:
    """Gaussian-filtered white noise scaled to zero mean, unit std."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (n - n.mean()) / (n.std() + 1e-12)


def _layout(rng, size: int) -> np.ndarray:
    """The truth map: parcels of fields, barren parcels, woodland, river, settlement, roads."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    truth = np.full((size, size), AGRI, np.uint8)
    # Field parcels: Voronoi cells; some are left bare (barren).
    seeds = rng.uniform(0, size, (max(4, int(size * size / 4500)), 2))
    parcel = cKDTree(seeds).query(np.column_stack([rows.ravel(), cols.ravel()]))[1].reshape(size, size)
    bare = rng.random(len(seeds)) < 0.10
    truth[bare[parcel]] = BARREN
    # Irregular barren patches (eroded land, sand bars).
    truth[_smooth_noise(rng, (size, size), size / 40) > 2.0] = BARREN
    # Woodland: a large smooth blob in the south-west plus scattered groves.
    wood = _smooth_noise(rng, (size, size), size / 14) + 1.6 * np.exp(
        -(((rows - 0.78 * size) / (0.22 * size)) ** 2 + ((cols - 0.2 * size) / (0.25 * size)) ** 2))
    truth[wood > 1.5] = FOREST
    # Settlement: a rough ellipse in the north-east with a road grid.
    town = ((rows - 0.3 * size) / (0.13 * size)) ** 2 + ((cols - 0.66 * size) / (0.16 * size)) ** 2
    town += 0.35 * _smooth_noise(rng, (size, size), size / 50)
    truth[town < 1.0] = URBAN
    # Roads (urban class, asphalt): two straight roads across the fields and a street grid in town.
    roads = np.abs(rows - (0.3 * size + 0.08 * (cols - 0.66 * size))) < 1.2
    roads |= np.abs(cols - (0.66 * size - 0.05 * (rows - 0.3 * size))) < 1.2
    roads |= (town < 1.0) & (((rows % 28) < 2) | ((cols % 34) < 2))
    truth[roads] = URBAN
    # River: a meander from north to south, 16-30 px wide, with tree-lined banks here and there.
    centre = 0.42 * size + 0.07 * size * np.sin(rows / size * 2 * np.pi * 1.3) + 0.03 * size * np.sin(rows / size * 2 * np.pi * 3.1 + 1)
    width = 11 + 4 * np.sin(rows / size * 2 * np.pi * 2.2)
    dist = np.abs(cols - centre)
    banks = (dist < width + 6) & (_smooth_noise(rng, (size, size), 6) > 0.6)
    truth[banks & (truth == AGRI)] = FOREST
    truth[dist < width] = WATER
    # A pond west of the town.
    truth[((rows - 0.16 * size) ** 2 + (cols - 0.5 * size) ** 2) < (0.025 * size) ** 2] = WATER
    roads &= truth == URBAN
    return truth, parcel, roads


def _spectra(rng, truth: np.ndarray, parcel: np.ndarray, roads: np.ndarray) -> np.ndarray:
    """Per-class spectra with realistic within-class variation: (bands, rows, cols)."""
    shape = truth.shape
    n_parcels = parcel.max() + 1
    e = {k: endmember(k)[:, None, None] for k in (
        "clear_water", "turbid_water", "green_crop", "dry_soil", "moist_soil", "concrete", "asphalt_roof", "forest")}

    def mix(a, b, f):
        return a * f[None] + b * (1 - f[None])

    # Water: turbidity varies smoothly along the river.
    turbid = np.clip(0.5 + 0.25 * _smooth_noise(rng, shape, 40), 0, 1)
    water = mix(e["turbid_water"], e["clear_water"], turbid)
    # Urban: concrete vs dark roofs/asphalt by block, some garden vegetation.
    concrete = np.clip(0.5 + 0.3 * _smooth_noise(rng, shape, 2.5), 0, 1)
    concrete[roads] = 0.1
    urban = mix(e["concrete"], e["asphalt_roof"], concrete)
    garden = np.clip(0.06 + 0.05 * _smooth_noise(rng, shape, 3), 0, 0.2)
    urban = mix(e["green_crop"], urban, garden)
    # Agriculture: each parcel at its own crop cover and soil moisture.
    cover = rng.uniform(0.6, 1.0, n_parcels)[parcel] + 0.04 * _smooth_noise(rng, shape, 4)
    soil = mix(e["moist_soil"], e["dry_soil"], rng.uniform(0, 1, n_parcels)[parcel])
    agri = mix(e["green_crop"], soil, np.clip(cover, 0, 1))
    # Barren: dry to moist bare soil, sparse weeds.
    moist = np.clip(rng.uniform(0, 0.6, n_parcels)[parcel] + 0.1 * _smooth_noise(rng, shape, 8), 0, 1)
    barren = mix(e["moist_soil"], e["dry_soil"], moist)
    barren = mix(e["green_crop"], barren, np.clip(0.05 + 0.04 * _smooth_noise(rng, shape, 3), 0, 0.15))
    # Forest: canopy density and shadow.
    forest = e["forest"] * (0.95 + 0.08 * _smooth_noise(rng, shape, 5))[None]

    per_class = {WATER: water, URBAN: urban, AGRI: agri, BARREN: barren, FOREST: forest}
    # Mixed pixels at class edges: blend class fractions with a sub-pixel blur.
    out = np.zeros((len(DEMO_BANDS), *shape), np.float32)
    for cid, spec in per_class.items():
        frac = ndimage.gaussian_filter((truth == cid).astype(np.float32), 0.6)
        out += frac[None] * spec
    # Sensor noise: multiplicative and additive.
    out *= 1 + 0.02 * rng.standard_normal(out.shape).astype(np.float32)
    out += 0.002 * rng.standard_normal(out.shape).astype(np.float32)
    return np.clip(out, 0.0001, 1.0)


def _polygons(rng, truth: np.ndarray, transform: Affine, class_id: int, n: int, radius: float,
              taken: np.ndarray) -> list[np.ndarray]:
    """Up to ``n`` irregular polygons (pixel-space vertex arrays) wholly inside ``class_id``."""
    r = int(np.ceil(radius)) + 1
    disk = (np.add.outer(np.arange(-r, r + 1) ** 2, np.arange(-r, r + 1) ** 2) <= r * r)
    inside = ndimage.binary_erosion(truth == class_id, disk, border_value=0) & ~taken
    cand = np.argwhere(inside)
    # The same order as rng.shuffle(cand), which swaps rows one by one and held the GIL
    # for over a second (the window froze while the demo opened); a permutation is one fast pass.
    cand = cand[rng.permutation(len(cand))]
    chosen: list[np.ndarray] = []
    min_gap = max(8 * radius, truth.shape[0] / 12)
    for rc in cand:
        if len(chosen) == n:
            break
        if any(np.hypot(*(rc - c)) < min_gap for c in chosen):
            continue
        chosen.append(rc)
    polys = []
    for row, col in chosen:
        k = int(rng.integers(5, 9))
        # Evenly spread vertex angles with jitter: irregular but never a sliver.
        ang = (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * (2 * np.pi / k)
        rad = rng.uniform(0.7, 1.0, k) * radius
        x = col + 0.5 + rad * np.cos(ang)
        y = row + 0.5 + rad * np.sin(ang)
        polys.append(np.column_stack([x, y]))
        taken[max(0, row - r):row + r + 1, max(0, col - r):col + r + 1] = True
    return polys


def _feature_collection(polys_by_class, transform: Affine, crs: CRS, role: str) -> dict:
    feats = []
    for cls, polys in polys_by_class:
        for p in polys:
            xs = transform.c + transform.a * p[:, 0] + transform.b * p[:, 1]
            ys = transform.f + transform.d * p[:, 0] + transform.e * p[:, 1]
            lon, lat = transform_points(xs, ys, crs, WGS84)
            # RFC 7946: exterior rings counter-clockwise.
            ring = shapely.geometry.polygon.orient(shapely.Polygon(np.column_stack([lon, lat])), 1.0)
            coords = [[round(float(a), 7), round(float(b), 7)] for a, b in ring.exterior.coords]
            feats.append({"type": "Feature",
                          "properties": {"class": cls.name, "color": cls.color, "role": role},
                          "geometry": {"type": "Polygon", "coordinates": [coords]}})
    return {"type": "FeatureCollection", "features": feats}


def make_demo_scene(seed: int = 7, size: int = 1000, job: Optional[Job] = None) -> DemoScene:
    job = ensure_job(job)
    rng = np.random.default_rng(seed)
    x0, y0 = transform_points([CENTER_LON], [CENTER_LAT], WGS84, DEMO_CRS)
    left = np.floor(x0[0] / PIXEL) * PIXEL - size / 2 * PIXEL
    top = np.floor(y0[0] / PIXEL) * PIXEL + size / 2 * PIXEL
    transform = Affine(PIXEL, 0, left, 0, -PIXEL, top)
    job.step(0.05, "laying out fields, river and settlement")
    truth, parcel, roads = _layout(rng, size)
    job.step(0.3, "mixing spectra")
    data = _spectra(rng, truth, parcel, roads)
    job.step(0.8, "drawing sample polygons")
    taken = np.zeros_like(truth, bool)
    radii = {WATER: 4.0, URBAN: 4.0, AGRI: 6.0, BARREN: 5.0, FOREST: 6.0}
    train = [(c, _polygons(rng, truth, transform, c.id, 8, radii[c.id], taken)) for c in CLASSES]
    valid = [(c, _polygons(rng, truth, transform, c.id, 6, radii[c.id], taken)) for c in CLASSES]
    image = Raster(data, transform, DEMO_CRS, list(DEMO_BANDS), np.zeros(truth.shape, bool),
                   {"source": "demo", "seed": seed})
    inset = size * 0.1
    corners = np.array([[inset, inset], [size - inset, inset], [size - inset, size - inset], [inset, size - inset]])
    roi = _feature_collection([(ClassInfo(0, "roi", "#ffffff"), [corners[::-1]])], transform, DEMO_CRS, "roi")
    for f in roi["features"]:
        f["properties"] = {"name": "demo ROI"}
    job.step(1.0, "done")
    return DemoScene(image, truth, _feature_collection(train, transform, DEMO_CRS, "training"),
                     _feature_collection(valid, transform, DEMO_CRS, "validation"), roi)


def write_demo_scene(out_dir: str | Path, seed: int = 7, size: int = 1000, job: Optional[Job] = None) -> dict[str, Path]:
    """Write scene.tif (uint16 DN like real L2A), truth.tif, samples/validation/roi GeoJSON."""
    job = ensure_job(job)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatSegError(f"cannot create the folder {out}: {exc.strerror or exc}") from exc
    paths = {name: out / name for name in ("scene.tif", "truth.tif", "samples.geojson", "validation.geojson", "roi.geojson")}
    check_outputs(paths)
    scene = make_demo_scene(seed, size, job.sub(0, 0.8))
    img = scene.image
    dn = np.clip(np.round(img.data * 10000), 1, 65535).astype(np.uint16)
    with atomic_batch():   # all five files or none
        with GeoTiffWriter(paths["scene.tif"], width=img.width, height=img.height, count=img.count, dtype="uint16",
                           transform=img.transform, crs=img.crs, nodata=0, band_names=img.band_names,
                           tags={"SATSEG_SOURCE": "demo", "SATSEG_SEED": str(seed)}) as w:
            w.write(dn)
        job.step(0.9, "writing truth")
        write_class_raster(paths["truth.tif"], scene.truth, img.transform, img.crs, CLASSES)
        for key, fc in (("samples.geojson", scene.samples), ("validation.geojson", scene.validation),
                        ("roi.geojson", scene.roi)):
            write_text_atomic(paths[key], json.dumps(fc, indent=1))
    job.step(1.0, "done")
    return paths
