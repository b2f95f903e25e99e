"""The big Sentinel-2-like scene the window benchmarks share (tile_speed.py, ui_responsiveness.py).

A SIDE x SIDE x 12-band uint16 GeoTIFF (Sentinel-2 DN, 512 px tiles, uncompressed, no
overviews: the worst case for the map), written once into a folder the caller keeps, and
sample polygons over three kinds of its fields. Also the memory figures: the app's own
process and its whole process tree (QtWebEngine's processes are its children).
"""
import os
import resource
from pathlib import Path

import numpy as np

BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]
CRS = "EPSG:32643"
ORIGIN = (600000, 3300000)
CELL = (37, 41)        # a field is 37 rows x 41 columns (370 x 410 m)
KINDS = 17             # field kinds: the DN of every band rises with the kind


def scene_path(folder, side: int) -> Path:
    return Path(folder) / f"s2_{side}_12b.tif"


def field_kind(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return (rows // CELL[0] * 7 + cols // CELL[1] * 13) % KINDS


def make_scene(path: Path, side: int) -> None:
    """Write the scene to ``path`` unless it is there already (through the atomic writer)."""
    import rasterio
    from affine import Affine

    from desktop_app.core.atomic import atomic_path

    if path.exists():
        return
    with atomic_path(path) as tmp, rasterio.open(
            tmp, "w", driver="GTiff", width=side, height=side, count=12, dtype="uint16", crs=CRS,
            transform=Affine(10, 0, ORIGIN[0], 0, -10, ORIGIN[1]), nodata=0, tiled=True, blockxsize=512,
            blockysize=512) as ds:
        cols = np.arange(side)
        for r in range(0, side, 512):
            rows = np.arange(r, min(side, r + 512))[:, None]
            field = field_kind(rows, cols).astype(np.uint16)
            for b in range(12):
                ds.write((900 + 150 * b + 90 * field + (rows * 3 + cols * 5 + b) % 60).astype(np.uint16),
                         b + 1, window=((r, r + rows.shape[0]), (0, side)))
        ds.descriptions = tuple(BANDS)


def sample_polygons(side: int, kinds=(2, 8, 14), per_class: int = 3) -> dict:
    """GeoJSON (WGS84) training polygons: ``per_class`` fields of each kind, spread over the
    scene, each polygon well inside its field."""
    from affine import Affine
    from shapely.geometry import box, mapping

    from desktop_app.core.geo import WGS84, as_crs, transform_geometry

    t = Affine(10, 0, ORIGIN[0], 0, -10, ORIGIN[1])
    rows_n, cols_n = side // CELL[0], side // CELL[1]
    feats = []
    for k, kind in enumerate(kinds):
        found = 0
        for i in range(rows_n * cols_n):
            # Walk the field grid on a coarse diagonal so the polygons land all over the scene.
            R, C = (i * 97 + k * 11) % rows_n, (i * 61 + k * 5) % cols_n
            if field_kind(np.array(R * CELL[0]), np.array(C * CELL[1])) != kind:
                continue
            r0, c0 = R * CELL[0] + 6, C * CELL[1] + 6
            x0, y1 = t * (c0, r0)
            x1, y0 = t * (c0 + CELL[1] - 12, r0 + CELL[0] - 12)
            g = transform_geometry(box(x0, y0, x1, y1), as_crs(CRS), WGS84)
            feats.append({"type": "Feature", "properties": {"class": f"kind {kind}"}, "geometry": mapping(g)})
            found += 1
            if found == per_class:
                break
    return {"type": "FeatureCollection", "features": feats}


def rss_mb() -> float:
    """The app's own process (this one), MB resident now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def peak_mb() -> float:
    """The app's own process, highest resident MB so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree_mb() -> dict:
    """MB resident in this process and all its descendants (QtWebEngine's renderer, GPU and
    utility processes are children of the app: memory the user sees the app take), by name.

    Sums RSS: pages shared between the processes (the Qt libraries) count once per
    process, so this is an upper bound of what the tree adds to the machine."""
    import psutil

    me = psutil.Process()
    out: dict = {}
    for p in [me, *me.children(recursive=True)]:
        try:
            mb = p.memory_info().rss / 2 ** 20
            name = "app" if p.pid == me.pid else _role(p)
        except psutil.Error:         # a child that just ended
            continue
        out[name] = out.get(name, 0.0) + mb
    return out


def _role(p) -> str:
    """A child's role: QtWebEngine's --type=renderer/gpu-process/utility, else its name."""
    for arg in p.cmdline():
        if arg.startswith("--type="):
            return arg[7:]
    return p.name()


def memory_line() -> str:
    """'app X MB, tree Y MB (renderer ..., gpu-process ...)' for the benchmarks' figures."""
    tree = tree_mb()
    parts = ", ".join(f"{k} {v:.0f}" for k, v in sorted(tree.items(), key=lambda kv: -kv[1]) if k != "app")
    split = _rss_split()
    return (f"app {tree.get('app', rss_mb()):.0f} MB (anonymous {split.get('RssAnon', 0):.0f}, file-backed "
            f"{split.get('RssFile', 0):.0f}), tree {sum(tree.values()):.0f} MB ({parts})")


def _rss_split() -> dict:
    """This process's RssAnon / RssFile / RssShmem in MB: file-backed pages (libraries, memory-mapped
    score cache and levels) are the kernel's to drop under pressure; anonymous ones are not."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Rss"):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return out
