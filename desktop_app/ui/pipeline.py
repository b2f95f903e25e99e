"""What the window runs on worker threads: open imagery, train, classify, summarise.

Qt-free on purpose: each function takes a core ``Job`` and only calls
``desktop_app.core``, so the UI adds no second engine and everything here can
be tested without a display. The window keeps the returned objects and turns
them into map commands and table rows on the UI thread.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from rasterio.windows import Window

from ..core.classes import ClassInfo
from ..core.display import Overlay, mask_overlays, rgb_overlay
from ..core.jobs import Job, ensure_job
from ..core.raster import Raster

# Images up to this many pixels (all bands, float32) are read whole: the demo
# scene and typical ROI crops. Bigger ones stay on disk and are read by block.
IN_MEMORY_BYTES = 500_000_000
DISPLAY_MAX = 2048


def _polygon_reference():
    from ..core.accuracy import PolygonReference   # lazily: the pipeline module loads with the window

    return PolygonReference()


@dataclass
class ImageDoc:
    """The open image: its grid, bands and where its pixels come from."""

    title: str
    path: Optional[str]
    band_names: list[str]
    transform: object
    crs: object
    width: int
    height: int
    raster: Optional[Raster] = None      # whole image in memory (small images, demo)
    source: object = None                # ImageSource for big images (read by block)
    samples: Optional[dict] = None       # sample polygons that come with it (demo)
    is_demo: bool = False
    baseline: Optional[str] = None       # Sentinel-2 processing baseline the user stated
    baseline_unknown: bool = False       # a band folder that does not say it (docs/sentinel2.md)
    # How a band folder's numbers became reflectance, from the source the pixels were read with
    # (ImageSource.baseline_record): what a model trained on this image records, as `satseg train` does.
    baseline_record: Optional[dict] = None
    warnings: list = field(default_factory=list)
    indices: list = field(default_factory=list)   # core SpectralIndex bands appended (ui/doc_indices.py)
    # The validation polygons rasterized on this image's grid (core PolygonReference): a threshold
    # change re-counts the accuracy without rasterizing again.
    reference: object = field(default_factory=_polygon_reference)

    @property
    def image(self):
        """What core functions take on the UI thread: the in-memory Raster or the ImageSource."""
        return self.raster if self.raster is not None else self.source

    @contextmanager
    def worker_image(self):
        """The image for a worker thread: a GDAL dataset handle must not be shared
        between threads, so a big image is opened again for each job."""
        if self.raster is not None:
            yield self.raster
            return
        from ..core.sources import open_image

        src = open_image(self.path, check_valid=False, baseline=self.baseline)
        if self.indices:
            from ..core.analysis.indices import IndexedSource

            src = IndexedSource(src, self.indices)
        try:
            yield src
        finally:
            src.close()

    def pixel_values(self, row: int, col: int) -> Optional[np.ndarray]:
        if self.raster is not None:
            if self.raster.nodata_mask[row, col]:
                return None
            return self.raster.data[:, row, col]
        r = self.source.read(Window(col, row, 1, 1))
        return None if r.nodata_mask[0, 0] else r.data[:, 0, 0]

    def display_raster(self, bands: Sequence[str]) -> Raster:
        """Called on a worker thread."""
        if self.raster is not None:
            return self.raster.select(list(bands))
        with self.worker_image() as src:
            return src.preview(DISPLAY_MAX, list(bands))

    def describe(self) -> str:
        res = abs(self.transform.a)
        epsg = self.crs.to_epsg() if hasattr(self.crs, "to_epsg") else None
        crs = f"EPSG:{epsg}" if epsg else str(self.crs)
        return (f"{self.title}\n{self.width} × {self.height} px, {res:g} m pixels, {crs}\n"
                f"{len(self.band_names)} bands: {', '.join(self.band_names)}")

    def close(self) -> None:
        if self.source is not None:
            self.source.close()


def open_image_doc(path: str, job: Optional[Job] = None, baseline: Optional[str] = None) -> ImageDoc:
    from pathlib import Path

    from ..core.sources import open_image

    job = ensure_job(job)
    job.step(0.05, "opening")
    src = open_image(path, baseline=baseline)
    doc = ImageDoc(Path(path).name, str(path), list(src.band_names), src.transform, src.crs,
                   src.width, src.height, source=src, baseline=baseline, warnings=list(src.warnings),
                   baseline_unknown=getattr(src, "baseline_from", "") is None,
                   baseline_record=src.baseline_record())
    if src.width * src.height * src.count * 4 <= IN_MEMORY_BYTES:
        job.step(0.2, "reading pixels")
        doc.raster = src.read()
        src.close()
        doc.source = None
    warm_imports()
    job.step(1.0, "opened")
    return doc


def state_baseline(doc: ImageDoc, answer: str) -> None:
    """The user's answer for a band folder whose pixels need no re-reading (a baseline before 04.00:
    no offset, as it was read). Later reads (``worker_image``) apply it; the record is that of the folder
    opened with it, the same a re-read or `satseg train --baseline` gives. SatSegError if it cannot be opened."""
    from ..core.sources import open_image

    with open_image(doc.path, check_valid=False, baseline=answer) as src:
        record = src.baseline_record()
    doc.baseline, doc.baseline_unknown, doc.baseline_record = answer, False, record


def warm_imports() -> None:
    """Import, on the worker, what the UI thread needs once an image is open.

    A first import of scipy.special on the UI thread (threshold starting values)
    froze the window for about a second after opening; here it costs nothing visible.
    """
    import scipy.special  # noqa: F401

    from ..core import samples, signatures  # noqa: F401


def warm_imports_in_background() -> None:
    """Start :func:`warm_imports` on a thread of its own when the window opens, so the
    first image opened does not wait a third of a second for scipy (open_image_doc's
    own call then finds everything imported)."""
    import threading

    threading.Thread(target=warm_imports, name="satseg-warm-imports", daemon=True).start()


def open_demo_doc(job: Optional[Job] = None, size: int = 1000) -> ImageDoc:
    from ..core.demo_scene import CLASSES, make_demo_scene

    scene = make_demo_scene(size=size, job=ensure_job(job).sub(0, 0.95))
    from ..core.scale.demo_basemap import ensure_demo_basemap

    ensure_demo_basemap()   # the demo shows the offline basemap out of the box (docs/performance.md)
    warm_imports()
    img = scene.image
    # Training and validation polygons together; the class list keeps the demo's order and colours.
    samples = {"type": "FeatureCollection",
               "features": list(scene.samples["features"]) + list(scene.validation["features"]),
               "classes": [c.to_dict() for c in CLASSES]}
    return ImageDoc("Demo scene (synthetic Sentinel-2 L2A, Muzaffarnagar)", None, list(img.band_names),
                    img.transform, img.crs, img.width, img.height, raster=img, samples=samples, is_demo=True)


@dataclass
class TiledImage:
    """A big image shown as map tiles (core/scale/tiles.py): the renderer and where it sits."""

    renderer: object                 # core ImageTiles: (z, x, y) -> PNG
    bounds: list                     # [[south, west], [north, east]]
    max_native_zoom: int
    needs_overviews: bool            # no overviews in the file and none built in the cache yet


def uses_tiles(doc: ImageDoc) -> bool:
    """Images read by block (too big for memory) are shown as tiles at full resolution."""
    return doc.raster is None and doc.path is not None


def _open_for_tiles(doc: ImageDoc):
    def opener(path):
        from ..core.sources import open_image

        src = open_image(path, check_valid=False, baseline=doc.baseline)
        if doc.indices:
            from ..core.analysis.indices import IndexedSource

            src = IndexedSource(src, doc.indices)
        return src
    return opener


def tiled_image(doc: ImageDoc, bands: Sequence[str], job: Optional[Job] = None) -> TiledImage:
    """Set up tiles of ``bands``: the 2–98 % stretch from a cheap sample (overview or a few blocks),
    never a pass over the image. Called on a worker thread."""
    from rasterio.warp import transform_bounds

    from ..core.display import percentile_limits
    from ..core.raster import resolve_bands
    from ..core.scale import overviews, tiles

    job = ensure_job(job)
    job.step(0.1, "sampling the display bands")
    with doc.worker_image() as src:
        idx = resolve_bands(src.band_names, bands)
        chosen = (idx * 3)[:3] if len(idx) < 3 else idx[:3]
        read = sorted(set(chosen))                  # only the display bands are sampled
        values, nodata, _ = src.sample(indexes=read)
        sel = values[[read.index(i) for i in chosen]][:, ~nodata][:, :, None]
        limits = percentile_limits(sel, np.ones(sel.shape[1:], bool))
        has_ovr = src.has_overviews()
        levels = None if has_ovr else overviews.existing_levels(doc.path, src.width, src.height)
        zoom = tiles.native_zoom(src.transform, src.crs, src.width, src.height)
    names = [doc.band_names[i] for i in chosen]
    w, s_, e, n = transform_bounds(doc.crs, "EPSG:4326", *_bounds(doc))
    # Without overviews or reduced levels a zoomed-out tile reads every block under it (seconds):
    # such tiles are drawn on a slow lane of their own, never ahead of the full-resolution ones.
    slow_below = zoom - 1 if not has_ovr and levels is None else None
    renderer = tiles.ImageTiles(_open_for_tiles(doc), doc.path, names, limits, levels or (), slow_below)
    job.step(1.0, "tiles ready")
    return TiledImage(renderer, [[s_, w], [n, e]], zoom, needs_overviews=not has_ovr and levels is None)


def _bounds(doc: ImageDoc):
    from rasterio.transform import array_bounds

    return array_bounds(doc.height, doc.width, doc.transform)


def build_overviews(doc: ImageDoc, job: Optional[Job] = None):
    """Reduced levels of a big image into the user cache (long job, see core/scale/overviews.py).

    At a lower CPU priority: on two cores the build otherwise slows the tiles on screen
    and the UI thread (docs/performance.md, "Map tiles")."""
    from ..core.jobs import run_at_low_priority
    from ..core.scale.overviews import build_levels

    def build():
        with doc.worker_image() as src:
            return build_levels(src, job)
    return run_at_low_priority(build)


def render_image(doc: ImageDoc, bands: Sequence[str], job: Optional[Job] = None) -> Overlay:
    job = ensure_job(job)
    job.step(0.1, "reading display bands")
    raster = doc.display_raster(bands)
    job.step(0.5, "stretching and reprojecting")
    return rgb_overlay(raster, None, max_size=DISPLAY_MAX)


@dataclass
class RunRequest:
    doc: ImageDoc
    samples: object                 # core SampleSet (all roles)
    bands: list[str]
    method: str
    options: dict
    thresholds: Optional[dict]


@dataclass
class RunResult:
    request: RunRequest
    classifier: object
    class_array: np.ndarray         # uint8: 0 unclassified, class ids, 255 nodata
    classes: list[ClassInfo]        # the classes the classifier knows (ids as in the array)
    overlays: dict[int, Overlay]
    areas: object                   # core AreaTable
    accuracy: Optional[object]
    pixels_per_class: dict[int, int]
    training: object = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    refit: bool = True
    score_cache: object = None      # core ScoreCache: a threshold change re-decides from it


def train(req: RunRequest, job: Optional[Job] = None):
    """(TrainingData, fitted classifier)."""
    from ..core.classifiers import make_classifier
    from ..core.samples import collect_training

    job = ensure_job(job)
    with req.doc.worker_image() as image:
        training = collect_training(image, req.samples, bands=req.bands, job=job.sub(0, 0.7))
    clf = make_classifier(req.method, **(req.options or {}))
    job.step(0.75, f"fitting {getattr(clf, 'label', req.method)}")
    clf.fit(training)
    job.step(1.0, "fitted")
    return training, clf


def classify_doc(doc: ImageDoc, clf, thresholds, job: Optional[Job] = None, block: int = 512, tally=None):
    """(full-resolution class array, ScoreCache), block by block (progress and Cancel between blocks).

    512 px blocks: short steps keep Cancel prompt and the UI thread fed.
    """
    from ..core.scale.score_cache import classify_cached

    with doc.worker_image() as image:
        return classify_cached(image, clf, thresholds, block, job, tally=tally)


def run(req: RunRequest, job: Optional[Job] = None, fitted: Optional[tuple] = None,
        cache=None, previous: Optional[dict] = None) -> RunResult:
    """Train (unless ``fitted`` = (training, clf) is given) and classify, then summarise.

    With ``fitted`` only the prediction runs again: a threshold change never refits; with
    the ``cache`` of that classifier's last run it only re-decides (no pixel is read).
    """
    from ..core.areas import AreaTally, area_table

    job = ensure_job(job)
    t0 = time.perf_counter()
    # Areas are counted block by block as the blocks are decided: no second pass.
    tally = AreaTally(req.doc.transform, req.doc.crs)
    if fitted is None:
        training, clf = train(req, job.sub(0, 0.25))
    else:
        training, clf = fitted
    start = 0.25 if fitted is None else 0.0
    classes = list(clf.classes)
    if cache is not None and cache.clf is clf:
        class_array = cache.decide(req.thresholds, job.sub(0, 0.85), tally=tally)
    else:
        class_array, cache = classify_doc(req.doc, clf, req.thresholds, job.sub(start, 0.85), tally=tally)
    job.step(0.87, "drawing masks")
    # Tiled (big) images get mask tiles drawn on demand (result_layers._send_masks), no overlays.
    # A re-decide re-encodes only the masks that changed (``previous``: the last result's).
    overlays = {} if uses_tiles(req.doc) else mask_overlays(class_array, req.doc.transform, req.doc.crs, classes,
                                                            max_size=DISPLAY_MAX, previous=previous)
    areas = area_table(tally.counts, tally.areas, classes, req.doc.crs)
    accuracy = validation_accuracy(req, class_array, classes)
    job.step(1.0, "done")
    warnings = list(getattr(training, "warnings", [])) + list(getattr(clf, "warnings", []))
    return RunResult(req, clf, class_array, classes, overlays, areas, accuracy,
                     dict(getattr(training, "pixels_per_class", {})), training, warnings, time.perf_counter() - t0,
                     fitted is None, cache)


def validation_accuracy(req: RunRequest, class_array: np.ndarray, classes: Sequence[ClassInfo]):
    """Accuracy against the validation polygons, or None when there are none."""
    if not req.samples.with_role("validation"):
        return None
    from ..core.accuracy import accuracy_against_polygons

    return accuracy_against_polygons(class_array, req.doc.transform, req.doc.crs, req.samples, classes,
                                     reference=req.doc.reference)


def recolor_overlays(result: RunResult, classes: Sequence[ClassInfo]) -> dict[int, Overlay]:
    """Masks again with new class colours; the class array is reused, nothing is re-run."""
    if uses_tiles(result.request.doc):
        return {}        # mask tiles: the window publishes new tile layers, nothing to draw here
    return mask_overlays(result.class_array, result.request.doc.transform, result.request.doc.crs,
                         classes, max_size=DISPLAY_MAX)


def signatures(doc: ImageDoc, samples, bands: Optional[Sequence[str]] = None, job: Optional[Job] = None,
               mode: str = "per-class"):
    """(signatures list, pixels per class id) of the training polygons, for the spectral plot;
    ``mode`` per-polygon/auto gives every signature of each class (in the class colour)."""
    from ..core.samples import collect_training
    from ..core.signatures import class_signatures, mode_signatures

    with doc.worker_image() as image:
        training = collect_training(image, samples, bands=bands, job=job, min_pixels=1)
    sigs = class_signatures(training) if mode == "per-class" else mode_signatures(training, mode)
    return sigs, dict(training.pixels_per_class)


def restore(req: RunRequest, class_raster_path: str, job: Optional[Job] = None) -> RunResult:
    """A saved class raster shown again: masks, areas, accuracy; no classifier (Run to refit)."""
    from ..core.classes import read_class_raster
    from ..core.errors import SatSegError

    job = ensure_job(job)
    job.step(0.1, "reading the saved class raster")
    array, transform, crs, classes = read_class_raster(class_raster_path)
    if array.shape != (req.doc.height, req.doc.width):
        raise SatSegError(f"the saved result {class_raster_path} is {array.shape[1]} x {array.shape[0]} px but the "
                          f"image is {req.doc.width} x {req.doc.height}; run the classification again")
    return classes_result(req, array, classes, job.sub(0.3, 1.0), transform, crs)


def classes_result(req: RunRequest, array, classes, job: Optional[Job] = None, transform=None,
                   crs=None) -> RunResult:
    """A class array on the image's grid as the window's result: masks, areas, accuracy; no classifier."""
    from ..core.areas import class_areas

    job = ensure_job(job)
    transform, crs = transform or req.doc.transform, crs or req.doc.crs
    job.step(0.1, "drawing masks")
    overlays = {} if uses_tiles(req.doc) else mask_overlays(array, transform, crs, classes, max_size=DISPLAY_MAX)
    job.step(0.6, "measuring areas")
    areas = class_areas(array, transform, crs, classes)
    accuracy = validation_accuracy(req, array, classes)
    job.step(1.0, "done")
    return RunResult(req, None, array, classes, overlays, areas, accuracy, {}, None, [], 0.0, refit=False)
