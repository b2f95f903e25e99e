"""Offline basemaps: MBTiles (TMS rows) and GeoPackage tiles (rows from the north) read as XYZ tiles."""
import sqlite3

import pytest

from desktop_app.core.errors import SatSegError
from desktop_app.core.scale.basemap import image_mime, open_tile_file
from desktop_app.core.scale.demo_basemap import write_demo_basemap

W = 20037508.342789244


def test_demo_mbtiles_serves_xyz_tiles_over_the_demo_scene(tmp_path):
    path = write_demo_basemap(tmp_path / "demo.mbtiles", 77.70, 29.47, zooms=range(11, 13))
    tf = open_tile_file(str(path))
    assert (tf.kind, tf.min_zoom, tf.max_zoom) == ("MBTiles", 11, 12)
    # XYZ tile under the demo centre at z12, computed independently of the module (Web Mercator formula).
    import math

    z = 12
    x = int((77.70 + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(29.47))) / math.pi) / 2 * 2 ** z)
    png = tf.tile(z, x, y)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and image_mime(png) == "image/png"
    # Stored TMS row = 2^z - 1 - y: the raw row is there, the unflipped one is not.
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                       (z, x, 2 ** z - 1 - y)).fetchone()[0] == 1
    assert tf.tile(z, x, y + 100) is None and tf.tile(5, 0, 0) is None
    assert path.parent.joinpath("demo.mbtiles").is_file() and len(list(tmp_path.iterdir())) == 1   # no temp left


def test_geopackage_tiles_rows_count_from_the_north(tmp_path):
    path = tmp_path / "b.gpkg"
    con = sqlite3.connect(path)
    con.executescript(f"""
        CREATE TABLE gpkg_contents (table_name TEXT, data_type TEXT, identifier TEXT, min_x REAL, min_y REAL,
                                    max_x REAL, max_y REAL, srs_id INTEGER);
        CREATE TABLE gpkg_tile_matrix_set (table_name TEXT, srs_id INTEGER, min_x REAL, min_y REAL,
                                           max_x REAL, max_y REAL);
        CREATE TABLE roads (id INTEGER PRIMARY KEY, zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                            tile_data BLOB);
        INSERT INTO gpkg_contents VALUES ('roads', 'tiles', 'Roads', 0, 0, 1, 1, 3857);
        INSERT INTO gpkg_tile_matrix_set VALUES ('roads', 3857, {-W}, {-W}, {W}, {W});
    """)
    con.execute("INSERT INTO roads (zoom_level, tile_column, tile_row, tile_data) VALUES (3, 5, 2, ?)",
                (b"\xff\xd8jpeg",))
    con.commit()
    con.close()
    tf = open_tile_file(str(path))
    assert tf.kind == "GeoPackage" and tf.tile(3, 5, 2) == b"\xff\xd8jpeg" and tf.tile(3, 5, 5) is None
    assert image_mime(tf.tile(3, 5, 2)) == "image/jpeg"


def test_files_that_are_not_tile_files_get_a_clear_message(tmp_path):
    bad = tmp_path / "notes.mbtiles"
    bad.write_text("hello")
    with pytest.raises(SatSegError, match="not an MBTiles or GeoPackage"):
        open_tile_file(str(bad))
    with pytest.raises(SatSegError, match="does not exist"):
        open_tile_file(str(tmp_path / "missing.mbtiles"))
    utm = tmp_path / "utm.gpkg"
    con = sqlite3.connect(utm)
    con.executescript("""
        CREATE TABLE gpkg_contents (table_name TEXT, data_type TEXT, identifier TEXT, min_x REAL, min_y REAL,
                                    max_x REAL, max_y REAL, srs_id INTEGER);
        CREATE TABLE gpkg_tile_matrix_set (table_name TEXT, srs_id INTEGER, min_x REAL, min_y REAL,
                                           max_x REAL, max_y REAL);
        INSERT INTO gpkg_contents VALUES ('t', 'tiles', 't', 0, 0, 1, 1, 32643);
        INSERT INTO gpkg_tile_matrix_set VALUES ('t', 32643, 500000, 3000000, 600000, 3100000);
    """)
    con.close()
    with pytest.raises(SatSegError, match="Web Mercator"):
        open_tile_file(str(utm))
