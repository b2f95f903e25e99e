"""satseg classify IMAGE SAMPLES --method M --out CLASSES.tif"""
from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

from ..core.atomic import atomic_batch, check_outputs
from ..core.classifiers import make_classifier
from ..core.errors import SatSegError
from ..core.raster import parse_band_option
from .common import add_json_argument, print_json, print_warnings
from .export_options import add_export_arguments, export_outputs, print_exports, run_exports, wants_exports
from .method_options import add_method_arguments, method_options
from .progress import terminal_job
from .source_options import add_baseline_argument, source_warnings

NAME = "classify"
HELP = "classify an image from sample polygons into a uint8 class GeoTIFF"
DESCRIPTION = (
    "Train a pixel classifier on the sample polygons (GeoJSON/GeoPackage/Shapefile/KML; class name from a "
    "property, colour from 'color') and classify IMAGE block by block into a uint8 GeoTIFF on the same grid: "
    "0 = unclassified (every class rejected: by its threshold, or outside every parallelepiped box), "
    "1..K = classes in order of first appearance, 255 = nodata, "
    "with a colour table and the class list in the SATSEG_CLASSES tag. Thresholds are off by default; "
    "their meaning depends on the method (see README): mahalanobis = max distance, max_likelihood = "
    "confidence level p, parallelepiped = box half-width in std devs, random_forest/svm = min probability, "
    "min_distance = max reflectance distance, spectral_angle = max angle in radians."
)


def add_arguments(p) -> None:
    p.add_argument("image", metavar="IMAGE", help="GeoTIFF/COG, Sentinel-2 band folder or .SAFE folder")
    p.add_argument("samples", metavar="SAMPLES", nargs="?",
                   help="sample polygons (GeoJSON, GeoPackage, Shapefile, KML); not with --model/--catalogue")
    p.add_argument("--out", required=True, metavar="CLASSES.tif", help="class raster to write")
    p.add_argument("--model", metavar="MODEL.satseg-model",
                   help="apply a model saved by 'satseg train --out' instead of training on SAMPLES")
    p.add_argument("--catalogue", metavar="SIGS.json",
                   help="fit --method on a signature catalogue (satseg train --catalogue) instead of SAMPLES")
    p.add_argument("--macroclasses", action="store_true",
                   help="with --catalogue: write the catalogue's macroclasses instead of its classes")
    p.add_argument("--scores", metavar="SCORES.tif",
                   help="also write each pixel's winning score (distance, probability, angle) as float32")
    p.add_argument("--bands", metavar="LIST", help="bands to use, e.g. B2,B3,B4,B8 or 2,3,4,8 (default: all)")
    p.add_argument("--indices", metavar="LIST",
                   help="spectral indices to add as bands, computed per block: NDVI, NDWI, MNDWI, NDBI, SAVI, NDRE "
                        "or NAME=FORMULA over band names (+ - * / ** and parentheses), e.g. "
                        "NDVI,MNDWI,WET=(B3-B12)/(B3+B12); pixels where an index divides by zero are nodata")
    p.add_argument("--class-field", default="class", metavar="NAME", help="property holding the class name (default class)")
    p.add_argument("--threshold", action="append", metavar="VALUE|CLASS=VALUE",
                   help="reject rule: one value for every class, or CLASS=VALUE (class name or id) per class; "
                        "repeat for several classes; a bare VALUE plus CLASS=VALUE sets a default and overrides")
    p.add_argument("--max-per-class", type=int, metavar="N", help="random cap of training pixels per class")
    p.add_argument("--block", type=int, default=1024, help="block size in pixels for processing (default 1024)")
    p.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                   help="classify the blocks on dask.distributed workers: 'local' starts one worker per core, "
                        "an address uses a running scheduler whose workers can read IMAGE at the same path")
    p.add_argument("--mask-clouds", action="store_true", help="treat SCL clouds/shadows as nodata (Sentinel-2 folders)")
    add_baseline_argument(p)
    add_json_argument(p)
    add_method_arguments(p)
    add_export_arguments(p)


def parse_thresholds(items, clf):
    """CLI --threshold items -> value or {class: value}; errors name the bad item."""
    from ..core.classifiers.options import split_threshold_items

    if not items:
        return None
    default, per_class = split_threshold_items(items)
    if not per_class:
        return default
    result = {c.id: default for c in clf.classes} if default is not None else {}
    for key, v in per_class.items():
        result[clf.classes[clf._class_index(key)].id] = v
    return result


def run(args) -> int:
    out = Path(args.out)
    given = [x for x in ("samples", "model", "catalogue") if getattr(args, x)]
    if len(given) != 1:
        raise SatSegError("give SAMPLES, --model or --catalogue (exactly one): what to classify with")
    if args.macroclasses and not args.catalogue:
        raise SatSegError("--macroclasses needs --catalogue")
    # Every output is checked before any work; the run then writes all of them or none (docs/data-safety.md).
    check_outputs({"--out": out, "--scores": args.scores, **export_outputs(args)},
                  inputs=[args.image, args.samples, args.model, args.catalogue])
    start = time.perf_counter()
    job = terminal_job(None if not args.json else False)
    clf, samples = _classifier(args)   # bad options or files fail before the image is read
    with ExitStack() as stack:
        # The cluster is reached before any pixel is read: an unreachable scheduler fails at once.
        client = None
        if args.dask:
            from ..core.scale.cluster import dask_client

            client = stack.enter_context(dask_client(args.dask))
        return _run(args, out, start, job, clf, samples, client)


def _run(args, out, start, job, clf, samples, client) -> int:
    from ..core.analysis.indices import IndexedSource, parse_index_list
    from ..core.classify import bounded_gdal_cache, classify_image
    from ..core.samples import collect_training
    from ..core.sources import open_image

    indices = parse_index_list(args.indices)
    if not indices and getattr(clf, "model_indices", None):
        # A saved model trained with index bands: compute the same indices on this image.
        indices = parse_index_list(",".join(f"{i['name']}={i['formula']}" for i in clf.model_indices))
    bands = parse_band_option(args.bands)
    if bands is not None and indices:
        bands = list(bands) + [i.name for i in indices]
    tags = {"SATSEG_INDICES": json.dumps([i.to_dict() for i in indices])} if indices else None
    with atomic_batch():
        # No separate valid-pixel pass (it would read the image a second time): training
        # fails clearly on polygons over nodata, and the classified blocks count nodata.
        with bounded_gdal_cache(), open_image(args.image, mask_clouds=args.mask_clouds, check_valid=False,
                                              baseline=args.baseline) as raw:
            src = IndexedSource(raw, indices) if indices else raw
            training = None
            if samples is None:
                _check_bands(clf, src, args)
            else:
                training = collect_training(src, samples, bands=bands, max_per_class=args.max_per_class,
                                            seed=args.seed, job=job.sub(0, 0.1))
                clf.fit(training)
            thresholds = parse_thresholds(args.threshold, clf)
            blocks = None
            if client is not None:
                from ..core.scale.dask_classify import ImageRecipe, dask_blocks

                from ..core.sources.geotiff_source import is_url

                path = args.image if is_url(args.image) else str(Path(args.image).resolve())
                recipe = ImageRecipe(path, args.mask_clouds, args.baseline, tuple(indices))
                blocks = dask_blocks(client, recipe, src, clf, thresholds, args.block, job.sub(0.1, 1.0),
                                     with_scores=args.scores is not None)
            summary = classify_image(src, clf, out, thresholds=thresholds, block=args.block, job=job.sub(0.1, 1.0),
                                     extra_tags=tags, scores_path=args.scores, blocks=blocks)
            read_warnings = source_warnings(raw)
        # The class raster waits under its temporary name until the exports succeed too.
        exports = run_exports(args, out, rewrite_raster=True) if wants_exports(args) or args.min_area > 1 else None
    result = summary.to_dict()
    result["seconds"] = round(time.perf_counter() - start, 3)
    result["training_pixels"] = training.report() if training is not None else []
    result["signatures"] = list(clf.row_names)
    result["scores"] = None if args.scores is None else {"path": str(args.scores), "unit": clf.score_name}
    result["bands"] = clf.band_names
    result["options"] = clf.options
    result["indices"] = [i.to_dict() for i in indices]
    result["thresholds"] = None if thresholds is None else (
        thresholds if not isinstance(thresholds, dict) else {str(k): v for k, v in thresholds.items()})
    result["warnings"] = list(dict.fromkeys(read_warnings + (training.warnings if training else [])
                                            + result["warnings"]))
    if exports is not None and exports["cleaned"] is not None:
        # --min-area cleaned the raster itself: report the counts of the map that was written.
        table = exports["areas"]
        by_id = {r.class_id: r for r in table.rows}
        for c in result["classes"]:
            c["pixels"], c["area_m2"] = by_id[c["id"]].pixels, round(by_id[c["id"]].area_m2, 2)
        result["unclassified"] = table.unclassified.pixels
    if exports is not None:
        result["exports"] = {"vector": _s(exports["vector"]), "kml": _s(exports["kml"]),
                             "reports": [str(p) for p in exports["reports"]], "features": exports["features"]}
    if print_json(args, result):
        return 0
    print_warnings(result["warnings"])
    print(f"{out}: {clf.label}, bands {','.join(clf.band_names)}")
    print(f"  {'id':>3} {'class':<16} {'train px':>9} {'pixels':>11} {'area km²':>10}")
    train = {c['id']: c['pixels'] for c in result['training_pixels']}
    for c in result["classes"]:
        print(f"  {c['id']:>3} {c['name']:<16} {train.get(c['id'], 0):>9} {c['pixels']:>11} {c['area_m2'] / 1e6:>10.3f}")
    print(f"  unclassified {result['unclassified']} px, nodata {result['nodata']} px, {result['seconds']:.2f} s")
    if exports is not None:
        print_exports(exports)
    return 0


def _check_bands(clf, src, args) -> None:
    """A saved model or catalogue applies only to an image that has every band it was trained on."""
    missing = [b for b in clf.band_names if b not in src.band_names]
    if missing:
        what = f"the model {args.model}" if args.model else f"the catalogue {args.catalogue}"
        raise SatSegError(f"{what} was trained on bands {', '.join(clf.band_names)}; {args.image} lacks "
                          f"{', '.join(missing)} (it has {', '.join(src.band_names)})")


def _classifier(args):
    """(classifier, samples): unfitted with the samples to train on, or fitted from a model/catalogue."""
    from ..core.classifiers.catalogue import load_catalogue, roll_up
    from ..core.classifiers.model_file import load_model
    from ..core.samples import read_samples

    if args.model:
        from ..core.classifiers.options import all_options

        if any(getattr(args, f"opt_{k}", None) is not None for k in all_options()):
            raise SatSegError("--model carries its own method and options; drop the method option flags")
        if args.bands:
            raise SatSegError("--model uses the bands it was trained on; drop --bands")
        return load_model(args.model), None
    clf = make_classifier(args.method, **method_options(args))
    if args.catalogue:
        if not clf.from_signatures:
            raise SatSegError(f"--catalogue: {clf.label} is trained on pixels, not signatures")
        cat = load_catalogue(args.catalogue)
        clf.fit_signatures(cat.signatures)
        if args.macroclasses:
            roll_up(clf, cat)
        return clf, None
    return clf, read_samples(args.samples, args.class_field)


def _s(path):
    return None if path is None else str(path)
