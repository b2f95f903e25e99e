"""satseg catalogue CAT.json [CAT2.json ...] [--macroclass CLASS=MACRO ...] [--out MERGED.json]"""
from __future__ import annotations

from ..core.errors import SatSegError
from .common import add_json_argument, print_json

NAME = "catalogue"
HELP = "show, merge and annotate signature catalogues (JSON, written by 'satseg train --catalogue')"
DESCRIPTION = (
    "List the classes, macroclasses and signatures of one or more signature catalogues. With several "
    "catalogues (e.g. from several scenes) and --out, write one merged catalogue: classes are matched by "
    "name, bands must agree. --macroclass CLASS=MACRO rolls a class up into a macroclass; "
    "'satseg classify IMAGE --catalogue CAT --macroclasses' then writes macroclasses."
)


def add_arguments(p) -> None:
    p.add_argument("catalogues", metavar="CAT.json", nargs="+", help="signature catalogue(s)")
    p.add_argument("--out", metavar="MERGED.json", help="write the merged (and annotated) catalogue here")
    p.add_argument("--macroclass", action="append", metavar="CLASS=MACRO",
                   help="roll CLASS up into macroclass MACRO (repeat); needs --out")
    add_json_argument(p)


def run(args) -> int:
    from ..core.atomic import check_outputs
    from ..core.classifiers.catalogue import load_catalogue, merge_catalogues, save_catalogue, set_macroclasses

    if args.macroclass and not args.out:
        raise SatSegError("--macroclass needs --out (where to write the annotated catalogue)")
    check_outputs({"--out": args.out}, args.catalogues)
    cat = merge_catalogues([load_catalogue(p) for p in args.catalogues])
    if args.macroclass:
        mapping = dict(cat.macroclass_of)
        names = {c.name for c in cat.signatures.classes}
        for item in args.macroclass:
            cls, sep, macro = item.partition("=")
            if not sep or not cls.strip() or not macro.strip():
                raise SatSegError(f"--macroclass '{item}': write CLASS=MACRO")
            if cls.strip() not in names:
                raise SatSegError(f"--macroclass '{item}': no class '{cls.strip()}' (classes: {', '.join(sorted(names))})")
            mapping[cls.strip()] = macro.strip()
        colors = {m.name: m.color for m in cat.macroclasses}
        cat = set_macroclasses(cat, mapping, colors)
    if args.out:
        save_catalogue(cat, args.out)
    d = cat.to_dict()
    if print_json(args, {"classes": d["classes"], "macroclasses": d["macroclasses"], "bands": d["bands"],
                         "signatures": [{k: r[k] for k in ("class", "name", "source", "pixels", "scene")}
                                        for r in d["signatures"]], "out": args.out}):
        return 0
    print(f"{len(d['classes'])} classes, {len(d['signatures'])} signatures, bands {','.join(d['bands'])}")
    for c in d["classes"]:
        rows = [r for r in d["signatures"] if r["class"] == c["name"]]
        macro = f" -> {c['macroclass']}" if c.get("macroclass") else ""
        print(f"  {c['id']:>3} {c['name']}{macro}: {len(rows)} signature(s), {sum(r['pixels'] for r in rows)} px")
    if args.out:
        print(f"written: {args.out}")
    return 0
