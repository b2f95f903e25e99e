"""Change between two class maps: a from–to matrix and a change raster.

The AFTER map is resampled by nearest neighbour onto the BEFORE map's grid
(classes are labels, never averaged). Classes are matched by name; a name
found only in AFTER is appended. Each from–to pair that occurs gets one id
(1..254) in the change raster, in order of (from, to); the raster is a
SatSeg class raster named "from → to" with a colour table: the "to" class
colour for a change, the class colour faded towards grey for no change.
Pixels that are nodata or unclassified on either date are nodata (255).
Areas are true ground areas on the BEFORE grid (``core.areas``).
See docs/analysis.md, "Change".
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..classes import NODATA, ClassInfo, hex_to_rgb, read_class_raster
from ..errors import SatSegError
from ..jobs import Job, ensure_job


@dataclass
class ChangeResult:
    names: list[str]              # matched class names (rows/columns of the matrix)
    pixels: np.ndarray            # (K, K) int: [from, to]
    area_m2: np.ndarray           # (K, K)
    pairs: list[ClassInfo]        # change raster ids -> "from → to"
    compared_pixels: int
    warnings: list[str]

    def to_dict(self) -> dict:
        return {
            "classes": list(self.names),
            "matrix_axes": "rows = before (from), columns = after (to)",
            "pixels": self.pixels.astype(int).tolist(),
            "area_m2": [[round(float(v), 2) for v in row] for row in self.area_m2],
            "area_ha": [[round(float(v) / 1e4, 6) for v in row] for row in self.area_m2],
            "changed_pixels": int(self.pixels.sum() - np.trace(self.pixels)),
            "compared_pixels": self.compared_pixels,
            "pairs": [c.to_dict() for c in self.pairs], "warnings": list(self.warnings),
        }

    def csv_text(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["from", "to", "change_id", "pixels", "area_m2", "area_ha"])
        ids = {c.name: c.id for c in self.pairs}
        for i, a in enumerate(self.names):
            for j, b in enumerate(self.names):
                if self.pixels[i, j]:
                    w.writerow([a, b, ids[f"{a} → {b}"], int(self.pixels[i, j]), f"{self.area_m2[i, j]:.2f}",
                                f"{self.area_m2[i, j] / 1e4:.6f}"])
        return buf.getvalue()


def _fade(color: str) -> str:
    r, g, b = hex_to_rgb(color)
    return "#%02x%02x%02x" % tuple(int(v * 0.35 + 150 * 0.65) for v in (r, g, b))


def _on_grid(path_after, shape, transform, crs):
    """AFTER resampled (nearest) onto the BEFORE grid; SatSegError when they do not overlap."""
    from rasterio.coords import disjoint_bounds
    from rasterio.transform import array_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    arr, t2, crs2, classes2 = read_class_raster(path_after)
    if crs2 is None or crs is None:
        raise SatSegError("both maps need a CRS to be compared")
    b1 = array_bounds(shape[0], shape[1], transform)
    b2 = transform_bounds(crs2, crs, *array_bounds(arr.shape[0], arr.shape[1], t2))
    if disjoint_bounds(b1, b2) or b1[0] >= b2[2] or b2[0] >= b1[2] or b1[1] >= b2[3] or b2[1] >= b1[3]:
        raise SatSegError("the two maps do not overlap")
    if arr.shape == tuple(shape) and t2 == transform and crs2 == crs:
        return arr, classes2, False
    out = np.full(shape, NODATA, np.uint8)
    reproject(arr, out, src_transform=t2, src_crs=crs2, src_nodata=NODATA, dst_transform=transform, dst_crs=crs,
              dst_nodata=NODATA, resampling=Resampling.nearest)
    return out, classes2, True


def change_maps(before_path, after_path, job: Optional[Job] = None):
    """(ChangeResult, change array, transform, crs) for two class rasters."""
    from ..areas import pixel_areas

    job = ensure_job(job)
    a, transform, crs, classes_a = read_class_raster(before_path)
    job.step(0.1, "reading the second map")
    b, classes_b, resampled = _on_grid(after_path, a.shape, transform, crs)
    warnings = ["the second map was resampled (nearest neighbour) onto the first map's grid"] if resampled else []
    names = [c.name for c in classes_a] + [c.name for c in classes_b if c.name not in {x.name for x in classes_a}]
    colors = {c.name: c.color for c in classes_b}
    colors.update({c.name: c.color for c in classes_a})
    index = {n: k for k, n in enumerate(names)}
    K = len(names)
    lut_a = np.full(256, -1, np.int64)
    lut_b = np.full(256, -1, np.int64)
    for c in classes_a:
        lut_a[c.id] = index[c.name]
    for c in classes_b:
        lut_b[c.id] = index[c.name]
    only_a = sorted({c.name for c in classes_a} - {c.name for c in classes_b})
    only_b = sorted({c.name for c in classes_b} - {c.name for c in classes_a})
    if only_a or only_b:
        warnings.append("classes matched by name; only in the first map: " + (", ".join(only_a) or "none")
                        + "; only in the second: " + (", ".join(only_b) or "none"))
    job.step(0.3, "counting from–to pairs")
    ia, ib = lut_a[a], lut_b[b]
    both = (ia >= 0) & (ib >= 0)
    if not both.any():
        raise SatSegError("the two maps have no classified pixel in common")
    pair = np.where(both, ia * K + ib, -1)
    pa = pixel_areas(transform, crs, 0, 0, a.shape[0], a.shape[1])
    flat = pair[both]
    counts = np.bincount(flat, minlength=K * K).reshape(K, K)
    areas = np.bincount(flat, weights=pa[both], minlength=K * K).reshape(K, K)
    occurring = np.flatnonzero(counts.ravel())
    if len(occurring) > 254:
        raise SatSegError(f"{len(occurring)} from–to pairs occur; a change raster holds at most 254")
    lut_pair = np.full(K * K, NODATA, np.uint8)
    pairs = []
    for new_id, p in enumerate(occurring, start=1):
        i, j = divmod(int(p), K)
        lut_pair[p] = new_id
        color = colors[names[j]] if i != j else _fade(colors[names[i]])
        pairs.append(ClassInfo(new_id, f"{names[i]} → {names[j]}", color))
    out = np.full(a.shape, NODATA, np.uint8)
    out[both] = lut_pair[flat]
    job.step(1.0, "change computed")
    return ChangeResult(names, counts, areas, pairs, int(both.sum()), warnings), out, transform, crs


def change_file(before_path, after_path, out_path, report_path=None, job: Optional[Job] = None) -> ChangeResult:
    """Write the change raster (and the CSV report) atomically."""
    from ..atomic import check_writable, write_text_atomic
    from ..classes import write_class_raster

    job = ensure_job(job)
    check_writable(out_path)
    if report_path:
        check_writable(report_path)
    result, out, transform, crs = change_maps(before_path, after_path, job.sub(0, 0.8))
    write_class_raster(out_path, out, transform, crs, result.pairs, extra_tags={"SATSEG_CHANGE": "from → to"})
    if report_path:
        write_text_atomic(report_path, result.csv_text())
    job.step(1.0, "written")
    return result
