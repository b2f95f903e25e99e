"""A small offline basemap (MBTiles) around the demo scene, so the basemap feature shows out of the box.

Drawn here, not downloaded: a light ground, a highway, village roads, a canal and village
blocks with their names, at zooms 10–13 over the demo scene and a margin around it. The
places are invented for the synthetic scene (it is not a map of Muzaffarnagar).
"""
from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

from ..atomic import atomic_path
from .tiles import ORIGIN, TILE

GROUND, ROAD, HIGHWAY, WATER, VILLAGE, TEXT = "#f2efe9", "#ffffff", "#f6b26b", "#9ecae1", "#d9c9b6", "#5b4a3a"


def _features(lon0: float, lat0: float):
    """(kind, [(lon, lat), ...], label) around the centre (lon0, lat0); offsets in degrees."""
    d = 0.01
    out = [("highway", [(lon0 - 12 * d, lat0 - 9 * d), (lon0 + 12 * d, lat0 + 8 * d)], "NH 58")]
    for k in (-8, -3, 4, 9):
        out.append(("road", [(lon0 + k * d, lat0 - 12 * d), (lon0 + k * d + 2 * d, lat0 + 12 * d)], ""))
    for k in (-7, 2, 8):
        out.append(("road", [(lon0 - 12 * d, lat0 + k * d), (lon0 + 12 * d, lat0 + k * d - d)], ""))
    out.append(("water", [(lon0 - 12 * d, lat0 + 5 * d), (lon0 - 2 * d, lat0 + 3 * d), (lon0 + 12 * d, lat0 + 6 * d)],
                "Ganga canal"))
    for name, (a, b) in {"Rampur": (-6, 6), "Kheri": (5, -5), "Sikri": (-9, -6), "Bhainsi": (8, 7),
                         "Nagla": (1, 10), "Jolly": (10, -10), "Purkazi": (-10, 10)}.items():
        out.append(("village", [(lon0 + a * d, lat0 + b * d)], name))
    return out


def _px(lon: float, lat: float, z: int, x: int, y: int) -> tuple[float, float]:
    mx = math.radians(lon) * 6378137.0
    my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
    size = 2 * ORIGIN / 2 ** z
    return (mx + ORIGIN - x * size) / size * TILE, (ORIGIN - my - y * size) / size * TILE


def _tile_png(feats, z: int, x: int, y: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (TILE, TILE), GROUND)
    draw = ImageDraw.Draw(img)
    scale = max(1, 2 ** (z - 11))
    for kind, pts, label in feats:
        xy = [_px(lon, lat, z, x, y) for lon, lat in pts]
        if kind == "village":
            (cx, cy), r = xy[0], 6 * scale
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=VILLAGE, outline=TEXT)
            if z >= 11:
                draw.text((cx + r + 3, cy - 6), label, fill=TEXT)
        else:
            width = {"highway": 4, "road": 2, "water": 3}[kind] * scale
            colour = {"highway": HIGHWAY, "road": ROAD, "water": WATER}[kind]
            if kind == "road":
                draw.line(xy, fill="#c8c0b4", width=width + 2)
            draw.line(xy, fill=colour, width=width)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def default_path() -> Path:
    from ..paths import data_home

    return data_home() / "cache" / "basemap" / "demo.mbtiles"


def ensure_demo_basemap() -> Path:
    """The demo scene's basemap in the user cache, drawn the first time (~40 tiles, a fraction of a second)."""
    from ..demo_scene import CENTER_LAT, CENTER_LON

    path = default_path()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_demo_basemap(path, CENTER_LON, CENTER_LAT)
    return path


def write_demo_basemap(path, lon0: float, lat0: float, zooms=range(10, 14), margin_deg: float = 0.1) -> Path:
    """Write the MBTiles file (atomically); returns its path."""
    feats = _features(lon0, lat0)
    with atomic_path(path) as tmp:
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
            con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                        "tile_data BLOB)")
            con.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
            w, s, e, n = lon0 - margin_deg, lat0 - margin_deg, lon0 + margin_deg, lat0 + margin_deg
            con.executemany("INSERT INTO metadata VALUES (?, ?)", [
                ("name", "SatSeg demo basemap"), ("format", "png"), ("type", "baselayer"),
                ("bounds", f"{w},{s},{e},{n}"), ("minzoom", str(min(zooms))), ("maxzoom", str(max(zooms))),
                ("attribution", "invented places for the synthetic demo scene")])
            for z in zooms:
                (x0, y0), (x1, y1) = (_tile_xy(w, n, z), _tile_xy(e, s, z))
                for x in range(x0, x1 + 1):
                    for y in range(y0, y1 + 1):
                        con.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                                    (z, x, 2 ** z - 1 - y, _tile_png(feats, z, x, y)))
            con.commit()
        finally:
            con.close()
    return Path(path)


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    px, py = _px(lon, lat, z, 0, 0)
    return int(px // TILE), int(py // TILE)
