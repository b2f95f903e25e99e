"""Offline basemaps: XYZ tiles read from an MBTiles or GeoPackage file (SQLite), no network.

Field staff need roads and villages under their samples where there is no connection.
Both formats are SQLite databases of ready-made tile images (PNG/JPEG/WebP):

* MBTiles 1.3: table ``tiles(zoom_level, tile_column, tile_row, tile_data)`` with the row
  counted from the *south* (TMS), so XYZ y = 2^z − 1 − tile_row; ``metadata`` gives
  name, format, bounds, minzoom and maxzoom.
* GeoPackage tiles: a tile table listed in ``gpkg_contents`` (data_type 'tiles') with
  the row counted from the *north*, on a tile matrix set that must be Web Mercator
  (EPSG:3857) over the whole world, so its tiles are the XYZ tiles.

The file is opened read-only (``mode=ro``): the user's file is never changed.
docs/performance.md, "Offline basemap".
"""
from __future__ import annotations

import math
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import SatSegError

WORLD = 20037508.342789244


@dataclass
class TileFile:
    path: str
    kind: str                         # "MBTiles" | "GeoPackage"
    table: str
    min_zoom: int
    max_zoom: int
    bounds: Optional[list] = None     # [west, south, east, north] in degrees
    name: str = ""
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def _db(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:   # one connection per thread (sqlite3 objects stay on their thread)
            con = self._local.con = _connect(self.path)
        return con

    def tile(self, z: int, x: int, y: int) -> Optional[bytes]:
        """The stored image of XYZ tile z/x/y, or None."""
        if not self.min_zoom <= z <= self.max_zoom:
            return None
        row = (2 ** z - 1 - y) if self.kind == "MBTiles" else y
        got = self._db().execute(
            f'SELECT tile_data FROM "{self.table}" WHERE zoom_level=? AND tile_column=? AND tile_row=?',
            (z, x, row)).fetchone()
        return bytes(got[0]) if got else None

    def __call__(self, z: int, x: int, y: int) -> Optional[bytes]:
        return self.tile(z, x, y)


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def open_tile_file(path: str) -> TileFile:
    """Open an MBTiles or GeoPackage tile file; SatSegError in the user's words when it is not one."""
    p = Path(path)
    if not p.is_file():
        raise SatSegError(f"basemap file {path} does not exist")
    try:
        con = _connect(str(p))
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    except sqlite3.DatabaseError:
        raise SatSegError(f"{p.name} is not an MBTiles or GeoPackage file (not an SQLite database)") from None
    try:
        if "gpkg_contents" in names:
            return _geopackage(con, str(p))
        if "tiles" in names:
            return _mbtiles(con, str(p))
    except sqlite3.DatabaseError as exc:
        raise SatSegError(f"{p.name} is damaged ({exc})") from None
    finally:
        con.close()
    raise SatSegError(f"{p.name} holds no map tiles (neither an MBTiles nor a GeoPackage tile file)")


def _mbtiles(con, path: str) -> TileFile:
    meta = {}
    if con.execute("SELECT 1 FROM sqlite_master WHERE name='metadata'").fetchone():
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
    lo, hi = con.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
    if lo is None:
        raise SatSegError(f"{Path(path).name} has no tiles")
    bounds = None
    if meta.get("bounds"):
        try:
            bounds = [float(v) for v in meta["bounds"].split(",")]
        except ValueError:
            bounds = None
    return TileFile(path, "MBTiles", "tiles", int(lo), int(hi), bounds, meta.get("name", Path(path).stem))


def _geopackage(con, path: str) -> TileFile:
    rows = con.execute("SELECT table_name, identifier, min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents "
                       "WHERE data_type='tiles'").fetchall()
    if not rows:
        raise SatSegError(f"{Path(path).name} is a GeoPackage without a tile layer")
    table, ident, *_ = rows[0]
    tms = con.execute("SELECT srs_id, min_x, min_y, max_x, max_y FROM gpkg_tile_matrix_set WHERE table_name=?",
                      (table,)).fetchone()
    srs, x0, y0, x1, y1 = tms
    world = all(math.isclose(a, b, abs_tol=1.0) for a, b in ((x0, -WORLD), (y0, -WORLD), (x1, WORLD), (y1, WORLD)))
    if int(srs) != 3857 or not world:
        raise SatSegError(f"{Path(path).name}: only GeoPackage tiles on the Web Mercator world grid (EPSG:3857, "
                          "the grid of web maps) can be used as a basemap")
    lo, hi = con.execute(f'SELECT MIN(zoom_level), MAX(zoom_level) FROM "{table}"').fetchone()
    if lo is None:
        raise SatSegError(f"{Path(path).name} has no tiles")
    return TileFile(path, "GeoPackage", table, int(lo), int(hi), None, ident or table)


def image_mime(data: bytes) -> str:
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"
