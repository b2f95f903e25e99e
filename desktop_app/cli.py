"""`satseg` command line: the same core engine as the desktop app, for batch work.

Each subcommand lives in ``desktop_app/commands/<name>.py`` and provides
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Bad input ends with a one-line message on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .core.errors import SatSegError, cli_text
from .core.jobs import Cancelled

COMMAND_MODULES = [
    "demo_scene",
    "info",
    "export",
    "classify",
    "classify_ee",
    "ee_tasks",
    "train",
    "catalogue",
    "accuracy",
    "fetch",
    "postprocess",
    "sample_design",
    "change",
    "cluster",
    "sam",
]


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="satseg",
        description="SatSeg: land-use / land-cover segmentation of Sentinel-2 imagery (batch engine).",
    )
    parser.add_argument("--version", action="version", version=f"satseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, sub


def _add_command(sub, module_name: str) -> None:
    mod = importlib.import_module(f".commands.{module_name}", __package__)
    p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
    mod.add_arguments(p)
    p.set_defaults(_run=mod.run)


def _literal_names(module_name: str) -> Optional[tuple[str, str]]:
    """(NAME, HELP) of a command module read from its source, without importing it.

    Importing every command (and so scipy, rasterio, ...) just to list them made
    `satseg --help` take seconds. None when the source is not at hand (a frozen
    build) or the constants are not plain strings: the caller then imports.
    """
    import ast

    path = Path(__file__).with_name("commands") / f"{module_name}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in ("NAME", "HELP") and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return (found["NAME"], found["HELP"]) if len(found) == 2 else None


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The satseg parser. With ``argv``, only the command it names is imported (the others are
    listed by name and help); without, every command is imported in full."""
    parser, sub = _top_parser()
    words = [a for a in (argv or []) if not a.startswith("-")]
    chosen = words[0] if argv is not None and words else None
    for module_name in COMMAND_MODULES:
        names = _literal_names(module_name) if argv is not None else None
        if names is None or names[0] == chosen:
            _add_command(sub, module_name)
        else:
            sub.add_parser(names[0], help=names[1], add_help=False)   # listed; imported when chosen
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        status = int(args._run(args) or 0)
        sys.stdout.flush()  # surface a closed pipe here, not as a warning at exit
        return status
    except SatSegError as exc:
        print(f"satseg: error: {cli_text(exc)}", file=sys.stderr)   # advice names flags here
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("satseg: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the reader left: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
