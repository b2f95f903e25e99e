"""The classifier flags shared by ``satseg classify`` and ``satseg train``.

One flag per option of the core's option table (core/classifiers/options.py),
so the CLI can set everything the Model panel can, with the same defaults.
"""
from __future__ import annotations

import argparse

from ..core.classifiers import DEFAULT_METHOD, METHODS
from ..core.classifiers.options import all_options, options_for
from ..core.errors import SatSegError


def add_method_arguments(p, method_required: bool = False) -> None:
    p.add_argument("--method", choices=list(METHODS), default=None if method_required else DEFAULT_METHOD,
                   required=method_required, help=f"classifier (default {DEFAULT_METHOD})")
    p.add_argument("--seed", type=int, default=0, help="seed for the pixel cap and random methods (default 0)")
    g = p.add_argument_group("method options (each applies to the methods named; defaults as in the app)")
    for o in all_options().values():
        if o.key == "seed":
            continue
        methods = [m for m in METHODS if any(x.key == o.key for x in options_for(m))]
        where = f"[{', '.join(methods)}] "
        default = "no limit" if o.zero_means_none else o.default
        if o.kind == "bool":
            g.add_argument(o.flag, dest=f"opt_{o.key}", action=argparse.BooleanOptionalAction, default=None,
                           help=f"{where}{o.tip} (default {'on' if o.default else 'off'})")
        elif o.kind == "choice":
            g.add_argument(o.flag, dest=f"opt_{o.key}", choices=[c[0] for c in o.choices], default=None,
                           help=f"{where}{o.tip} (default {default})")
        else:
            g.add_argument(o.flag, dest=f"opt_{o.key}", type=int if o.kind == "int" else float, default=None,
                           metavar="N" if o.kind == "int" else "X", help=f"{where}{o.tip} (default {default})")


def method_options(args) -> dict:
    """The options given on the command line for ``args.method``; a flag of another method is an error."""
    mine = {o.key for o in options_for(args.method)}
    out = {}
    for key in all_options():
        value = getattr(args, f"opt_{key}", None)
        if value is None:
            continue
        if key not in mine:
            raise SatSegError(f"--{key.replace('_', '-')} does not apply to --method {args.method}")
        out[key] = value
    if "seed" in mine:
        out["seed"] = args.seed
    return out
