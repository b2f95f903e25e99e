"""What the commands share in how they report: the --json flag, the JSON object, the warning lines."""
from __future__ import annotations

import json
import sys

from ..core.errors import cli_text

JSON_HELP = "print one JSON object"


def add_json_argument(p, help: str = JSON_HELP) -> None:
    p.add_argument("--json", action="store_true", help=help)


def print_json(args, result) -> bool:
    """With --json, ``result`` as one JSON object on stdout and True (the command is done); else False."""
    if not args.json:
        return False
    print(json.dumps(result))
    return True


def print_warnings(warnings) -> None:
    """One 'warning: …' line each, on stderr: stdout stays the report."""
    for w in warnings:
        print(f"warning: {cli_text(w)}", file=sys.stderr)
