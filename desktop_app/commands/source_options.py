"""Options about how an input image is read, shared by the commands that open one."""
from __future__ import annotations


def add_baseline_argument(p) -> None:
    p.add_argument("--baseline", metavar="VERSION",
                   help="Sentinel-2 processing baseline of a band folder, e.g. 04.00 or 02.14, for folders "
                        "without metadata: 04.00 and later subtract the 1000 DN offset (-0.1 reflectance); "
                        "overrides the metadata when given")


def source_warnings(src) -> list[str]:
    """The source's warnings in the command line's words (the unknown-baseline one names --baseline)."""
    from ..core.errors import cli_text

    return [cli_text(w) for w in getattr(src, "warnings", [])]
