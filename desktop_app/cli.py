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
from typing import Optional, Sequence

from . import __version__
from .core.errors import SatSegError
from .core.jobs import Cancelled

COMMAND_MODULES = [
    "demo_scene",
    "info",
    "export",
    "classify",
    "accuracy",
    "fetch",
    "postprocess",
    "sample_design",
    "change",
    "cluster",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="satseg",
        description="SatSeg: land-use / land-cover segmentation of Sentinel-2 imagery (batch engine).",
    )
    parser.add_argument("--version", action="version", version=f"satseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        mod = importlib.import_module(f".commands.{name}", __package__)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = int(args._run(args) or 0)
        sys.stdout.flush()  # surface a closed pipe here, not as a warning at exit
        return status
    except SatSegError as exc:
        print(f"satseg: error: {exc}", file=sys.stderr)
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
