"""Area report of a class raster as CSV and JSON.

CSV header ``class,class_id,color,pixels,area_m2,area_ha,area_km2,percent``:
one row per class (zero-pixel classes included), then ``unclassified`` (id 0)
and ``nodata`` (id 255). ``percent`` is the share of the classified area and
is left empty for the unclassified and nodata rows (they are not classified
area); the JSON carries the same rows plus totals.
"""
from __future__ import annotations

import csv
import io
import json
import os

from .areas import AreaRow, AreaTable
from .atomic import write_text_atomic

CSV_HEADER = ["class", "class_id", "color", "pixels", "area_m2", "area_ha", "area_km2", "percent"]


def _csv_row(r: AreaRow) -> list[str]:
    return [
        r.class_name, str(r.class_id), r.color, str(r.pixels),
        f"{r.area_m2:.2f}", f"{r.area_ha:.6f}", f"{r.area_km2:.8f}",
        "" if r.percent is None else f"{r.percent:.4f}",
    ]


def area_csv_text(table: AreaTable) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in table.all_rows():
        writer.writerow(_csv_row(r))
    return buf.getvalue()


def write_area_csv(table: AreaTable, path: str | os.PathLike) -> str:
    """Write the area report as CSV (atomically); returns the path."""
    write_text_atomic(path, area_csv_text(table))
    return str(path)


def write_area_json(table: AreaTable, path: str | os.PathLike) -> str:
    """Write the area report as JSON (atomically); returns the path."""
    write_text_atomic(path, json.dumps(table.to_dict(), indent=2) + "\n")
    return str(path)


def write_area_report(table: AreaTable, path: str | os.PathLike) -> str:
    """CSV or JSON by the file's suffix (``.json`` -> JSON, anything else -> CSV)."""
    if str(path).lower().endswith(".json"):
        return write_area_json(table, path)
    return write_area_csv(table, path)


def format_area_table(table: AreaTable) -> str:
    """A plain-text table for the terminal."""
    lines = [f"{'class':<20} {'id':>3} {'pixels':>12} {'area_ha':>14} {'area_km2':>12} {'percent':>8}"]
    for r in table.all_rows():
        pct = "" if r.percent is None else f"{r.percent:.2f}"
        lines.append(f"{r.class_name[:20]:<20} {r.class_id:>3} {r.pixels:>12} {r.area_ha:>14.4f} "
                     f"{r.area_km2:>12.6f} {pct:>8}")
    lines.append(f"areas on the {table.ellipsoid} ellipsoid; percent = share of the classified area")
    lines.extend(f"warning: {w}" for w in table.warnings)
    return "\n".join(lines)
