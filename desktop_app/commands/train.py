"""satseg train IMAGE SAMPLES --method M [--cv K] [--out MODEL.satseg-model] [--catalogue SIGS.json]"""
from __future__ import annotations

import time

from ..core.errors import SatSegError
from ..core.raster import parse_band_list
from .common import add_json_argument, print_json, print_warnings
from .method_options import add_method_arguments, method_options
from .progress import terminal_job
from .source_options import add_baseline_argument, source_warnings

NAME = "train"
HELP = "train a classifier on sample polygons: cross-validate it, save it as a reusable model, save its signatures"
DESCRIPTION = (
    "Train a pixel classifier on the sample polygons of IMAGE. --cv K reports K-fold overall accuracy and kappa "
    "with folds grouped by polygon (no polygon in both a training and a test fold). --out saves the trained "
    "model (.satseg-model: JSON + arrays, forests/SVMs via skops; never a pickle) for "
    "'satseg classify IMAGE --model MODEL' on any scene with the same bands. --catalogue saves the spectral "
    "signatures as a JSON catalogue (statistics methods)."
)


def add_arguments(p) -> None:
    p.add_argument("image", metavar="IMAGE", help="GeoTIFF/COG, Sentinel-2 band folder or .SAFE folder")
    p.add_argument("samples", metavar="SAMPLES", help="sample polygons (GeoJSON, GeoPackage, Shapefile, KML)")
    p.add_argument("--out", metavar="MODEL.satseg-model", help="save the trained model here")
    p.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation, folds grouped by polygon")
    p.add_argument("--cv-by", choices=["polygon", "pixel"], default="polygon",
                   help="fold grouping (default polygon; pixel-level folds overstate accuracy: for comparison only)")
    p.add_argument("--catalogue", metavar="SIGS.json", help="save the signatures as a catalogue (JSON)")
    p.add_argument("--bands", metavar="LIST", help="bands to use, e.g. B2,B3,B4,B8 (default: all)")
    p.add_argument("--indices", metavar="LIST",
                   help="spectral indices to add as bands (as in 'satseg classify'); a saved model remembers them")
    p.add_argument("--class-field", default="class", metavar="NAME", help="property holding the class name (default class)")
    p.add_argument("--max-per-class", type=int, metavar="N", help="random cap of training pixels per class")
    p.add_argument("--mask-clouds", action="store_true", help="treat SCL clouds/shadows as nodata (Sentinel-2 folders)")
    add_baseline_argument(p)
    add_json_argument(p)
    add_method_arguments(p)


def run(args) -> int:
    from ..core.analysis.indices import IndexedSource, parse_index_list
    from ..core.atomic import check_outputs
    from ..core.classifiers import make_classifier
    from ..core.classifiers.catalogue import catalogue_from_signatures, save_catalogue
    from ..core.classifiers.model_file import SUFFIX, save_model
    from ..core.classifiers.validation import cross_validate
    from ..core.samples import collect_training, read_samples
    from ..core.sources import open_image

    if args.out and not str(args.out).endswith(SUFFIX):
        raise SatSegError(f"--out must end with {SUFFIX}")
    if args.cv is not None and args.cv < 2:
        raise SatSegError("--cv needs at least 2 folds")
    check_outputs({"--out": args.out, "--catalogue": args.catalogue}, [args.image, args.samples])
    options = method_options(args)
    clf = make_classifier(args.method, **options)
    if args.catalogue and not clf.from_signatures:
        raise SatSegError(f"--catalogue: {clf.label} has no signatures (use a statistics method)")
    start = time.perf_counter()
    job = terminal_job(None if not args.json else False)
    samples = read_samples(args.samples, args.class_field)
    indices = parse_index_list(args.indices)
    bands = parse_band_list(args.bands)
    if bands is not None and indices:
        bands = list(bands) + [i.name for i in indices]
    with open_image(args.image, mask_clouds=args.mask_clouds, baseline=args.baseline) as raw:
        src = IndexedSource(raw, indices) if indices else raw
        training = collect_training(src, samples, bands=bands, max_per_class=args.max_per_class,
                                    seed=args.seed, job=job.sub(0, 0.2))
        read_warnings, baseline = source_warnings(raw), raw.baseline_record()
    result = {"method": args.method, "options": clf.options, "bands": list(training.band_names),
              "training_pixels": training.report(), "polygons": len(training.group_labels), "baseline": baseline}
    if args.cv:
        result["cv"] = cross_validate(training, args.method, options, args.cv, args.cv_by, args.seed,
                                      job=job.sub(0.2, 0.9))
    clf.fit(training)
    result["signatures"] = list(clf.row_names)
    result["warnings"] = list(dict.fromkeys(read_warnings + training.warnings + clf.warnings))
    if args.out:
        result["model"] = str(save_model(clf, args.out, training.report(), [i.to_dict() for i in indices],
                                         baseline))
    if args.catalogue:
        cat = catalogue_from_signatures(clf.input_signatures, scene=str(args.image))
        result["catalogue"] = str(save_catalogue(cat, args.catalogue))
    job.step(1.0, "done")
    result["seconds"] = round(time.perf_counter() - start, 3)
    if print_json(args, result):
        return 0
    print_warnings(result["warnings"])
    print(f"{clf.label}: {len(training.classes)} classes, {len(clf.row_names)} signature(s), "
          f"{len(training.y)} training pixels from {result['polygons']} polygons")
    if "cv" in result:
        cv = result["cv"]
        print(f"  {cv['folds']}-fold cross-validation: overall accuracy {cv['overall_accuracy']:.4f}, "
              f"kappa {cv['kappa']:.4f}")
        print(f"  ({cv['note']})")
        print_warnings(cv["warnings"])
    for key in ("model", "catalogue"):
        if key in result:
            print(f"  {key}: {result[key]}")
    return 0
