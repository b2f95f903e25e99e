"""satseg sam import|list|remove|refine|finetune|segment: the SAM-2 stage (docs/sam.md)."""
from __future__ import annotations

import json
import sys

from ..core.errors import cli_text

NAME = "sam"
HELP = "SAM-2: import a checkpoint, refine a class raster, fine-tune on it, segment without samples"
DESCRIPTION = (
    "SAM-2 stage. Checkpoints are never downloaded: import a file you have (Meta's SAM-2 / SAM-2.1 tiny, small, "
    "base+ or large) once with `satseg sam import`. Outputs are uint8 class GeoTIFFs on the image grid with the "
    "SATSEG_CLASSES tag, like `satseg classify`. --random-init builds the real architecture with random weights "
    "(tests and demonstrations; outputs say so in their tags and in --json)."
)


def _model_args(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", metavar="NAME", help="installed model to use (default: the first one, see `sam list`)")
    g.add_argument("--random-init", action="store_true",
                   help="SAM-2.1 tiny with random weights instead of an installed model (tests, demonstrations)")


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="sam_command", metavar="ACTION", required=True)
    s = sub.add_parser("import", help="import a SAM-2 checkpoint file into the user data folder")
    s.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt file in Meta's format")
    s.add_argument("--name", help="name to install it under (default: version-size, e.g. sam2.1-tiny)")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("list", help="list installed SAM-2 models")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("remove", help="remove an installed SAM-2 model")
    s.add_argument("name", metavar="NAME")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("refine", help="refine a classifier's class raster with SAM-2 prompts")
    s.add_argument("image", metavar="IMAGE", help="GeoTIFF or Sentinel-2 folder the class raster was made from")
    s.add_argument("classes", metavar="CLASSES.tif", help="class raster on the image grid (from satseg classify)")
    s.add_argument("--out", required=True, metavar="REFINED.tif")
    _model_args(s)
    s.add_argument("--recipe", default="true_colour",
                   help="3-band input: true_colour (B4,B3,B2), false_colour (B8,B4,B3), swir (B12,B8,B4) or "
                        "three bands like B8,B4,B3 (default true_colour)")
    s.add_argument("--window", type=int, default=1024, metavar="PX", help="window size in pixels (default 1024)")
    s.add_argument("--iou-min", type=float, metavar="X",
                   help="accept SAM's mask only if its own predicted IoU is at least X, 0..1 (default 0.80; "
                        "higher keeps more of the classifier's pixels)")
    s.add_argument("--agreement-min", type=float, metavar="Y",
                   help="... and only if its IoU with the classifier's component is at least Y, 0..1 (default 0.60; "
                        "lower lets SAM move boundaries further)")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("finetune", help="fine-tune SAM-2 on a class raster and save the model to a folder")
    s.add_argument("image", metavar="IMAGE")
    s.add_argument("classes", metavar="CLASSES.tif", help="refined (satseg sam refine) or classifier class raster")
    s.add_argument("--out", required=True, metavar="MODEL_DIR", help="new or empty folder (or a model to replace)")
    _model_args(s)
    s.add_argument("--steps", type=int, default=200, metavar="N", help="training steps per variant (default 200)")
    s.add_argument("--validation", metavar="POLYGONS", help="held-out polygons: early stop and model choice")
    s.add_argument("--recipe", default="true_colour", help="3-band input recipe (see refine)")
    s.add_argument("--window", type=int, default=1024, metavar="PX", help="window size in pixels (default 1024)")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("segment", help="segment a scene with a fine-tuned model (no samples needed)")
    s.add_argument("image", metavar="IMAGE")
    s.add_argument("model_dir", metavar="MODEL_DIR", help="folder written by satseg sam finetune")
    s.add_argument("--out", required=True, metavar="CLASSES.tif")
    s.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                   help="compute the SAM windows on dask.distributed workers: 'local' starts one worker per core, "
                        "an address uses a running scheduler whose workers can read IMAGE and MODEL_DIR at the "
                        "same paths (docs/scale.md)")
    s.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from .progress import terminal_job

    job = terminal_job(None if not args.json else False)
    result = _ACTIONS[args.sam_command](args, job)
    if args.json:
        print(json.dumps(result))
        return 0
    for w in result.get("warnings", []):
        print(f"warning: {cli_text(w)}", file=sys.stderr)
    _print(args.sam_command, result)
    return 0


def _import(args, job):
    from ..core.sam.models import import_checkpoint
    from ..core.sam.runtime import pick_device

    return dict(import_checkpoint(args.checkpoint, args.name, job).to_dict(), device=pick_device())


def _list(args, job):
    from ..core.sam.models import HOW_TO_GET, list_models, models_dir
    from ..core.sam.runtime import pick_device

    models = [m.to_dict() for m in list_models()]
    return {"device": pick_device(), "folder": str(models_dir()), "models": models,
            "hint": None if models else cli_text(HOW_TO_GET)}


def _remove(args, job):
    from ..core.sam.models import remove_model

    remove_model(args.name)
    return {"removed": args.name}


def _refine(args, job):
    from ..core.sam.refine import AGREEMENT_MIN, IOU_MIN, check_thresholds, refine_file

    # defaults from the core (docs/sam.md, "Acceptance"); not at module top: the CLI starts without numpy
    iou_min = IOU_MIN if args.iou_min is None else args.iou_min
    agreement_min = AGREEMENT_MIN if args.agreement_min is None else args.agreement_min
    check_thresholds(iou_min, agreement_min)
    return refine_file(args.image, args.classes, args.out, args.model, args.random_init, args.recipe, args.window,
                       iou_min=iou_min, agreement_min=agreement_min, job=job)


def _finetune(args, job):
    from ..core.sam.finetune import finetune_file

    return finetune_file(args.image, args.classes, args.out, args.model, args.random_init, args.steps,
                         args.validation, args.recipe, args.window, job=job)


def _segment(args, job):
    from ..core.sam.segment import segment_file

    if not args.dask:
        return segment_file(args.image, args.model_dir, args.out, job=job)
    from ..core.scale.cluster import check_spec, dask_client
    from ..core.sam.saved import read_meta

    check_spec(args.dask)
    read_meta(args.model_dir)   # a bad model folder fails before a cluster starts
    with dask_client(args.dask) as client:
        return segment_file(args.image, args.model_dir, args.out, job=job, client=client)


_ACTIONS = {"import": _import, "list": _list, "remove": _remove, "refine": _refine, "finetune": _finetune,
            "segment": _segment}


def _print(action: str, r: dict) -> None:
    if action == "import":
        print(f"imported {r['name']}: SAM-2 {r['version']} {r['size']}, {r['bytes'] / 2 ** 20:.0f} MB, "
              f"SHA-256 {r['sha256']}")
    elif action == "list":
        print(f"device: {r['device']}; models in {r['folder']}")
        for m in r["models"]:
            print(f"  {m['name']:<20} {m['version']:<7} {m['size']:<10} {m['sha256'][:16]}…  {m['source']}")
        if r["hint"]:
            print(r["hint"])
    elif action == "remove":
        print(f"removed {r['removed']}")
    else:
        model = r["model"]
        who = "RANDOM-INIT weights (not a trained model)" if r["random_init"] else f"model {model['name']}"
        where = f"on {r['device']}" if r["device"] else "(every window from the cache, model not loaded)"
        print(f"{r['path']}: {who} {where}, {r['windows']} window(s) of {r['window']} px, "
              f"{r['cache_hits']} cached, {r['seconds']:.1f} s")
        if action == "refine":
            print(f"  {r['accepted']} of {r['prompts']} SAM masks accepted (predicted IoU >= {r['iou_min']:g}, "
                  f"agreement >= {r['agreement_min']:g}); mask_input from the {r['mask_input']['from']}")
            for c in r["classes"]:
                print(f"  {c['id']:>3} {c['name']:<16} {c['classifier_pixels']:>10} -> {c['refined_pixels']:>10} px, "
                      f"changed {100 * c['changed_share']:.1f} %")
        elif action == "finetune":
            for v, s in r["scores"].items():
                mark = "kept" if v == r["kept"] else "    "
                print(f"  {mark} {v:<7} OA {s['overall_accuracy']}, kappa {s['kappa']} ({s['basis']}), "
                      f"{s['steps']} steps, loss {s['first_loss']:.3f} -> {s['last_loss']:.3f}")
        else:
            for c in r["classes"]:
                print(f"  {c['id']:>3} {c['name']:<16} {c['pixels']:>11} px")
