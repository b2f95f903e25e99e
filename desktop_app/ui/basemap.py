"""The offline basemap in the window: an MBTiles / GeoPackage tile file served through satseg://.

The tiles are read from the file (core/scale/basemap.py) on the scheme handler's tile
threads; the page shows them under the imagery. The demo scene comes with a small one
(core/scale/demo_basemap.py), made once into the user cache.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

FILTER = "Offline basemaps (*.mbtiles *.gpkg);;All files (*)"


def choose_offline_basemap(win) -> None:
    path, _ = QFileDialog.getOpenFileName(win, "Offline basemap (MBTiles or GeoPackage)", "", FILTER)
    if path:
        add_offline_basemap(win, path)


def add_offline_basemap(win, path: str, remember: bool = True) -> None:
    """Open the tile file on a worker and show it; a bad file gets a one-line message.

    ``remember``: the user chose it, so the project saves it (a project being opened
    already names it).
    """
    from ..core.scale.basemap import open_tile_file

    path = str(Path(path).absolute())   # stored in the project relative to it when inside it

    def shown(tf) -> None:
        if win._closed:
            return
        win.offline_basemap = tf
        if remember:
            win.document.set_basemap(path)
        url = win.map.publish_tiles("basemap", tf)
        win.map.bridge.send("set_offline_basemap", url=url, min_zoom=tf.min_zoom, max_zoom=tf.max_zoom,
                            attribution=tf.name, bounds=tf.bounds)
        win.status.showMessage(f"Offline basemap: {Path(tf.path).name} ({tf.kind}, zoom {tf.min_zoom}–{tf.max_zoom})",
                               8000)

    win.runner.start("basemap", lambda job: open_tile_file(path), label="Opening basemap", on_done=shown,
                     on_error=lambda msg: win.notify(f"Cannot use the basemap: {msg}", "error"))


def show_demo_basemap(win) -> None:
    """The demo's small basemap (drawn into the user cache while the demo scene was made)."""
    from ..core.errors import SatSegError
    from ..core.scale.basemap import open_tile_file
    from ..core.scale.demo_basemap import default_path

    path = default_path()
    if not path.is_file():
        return
    try:
        tf = open_tile_file(str(path))   # an SQLite open and two small queries: no worker needed
    except SatSegError as exc:
        win.notify(f"Demo basemap: {exc}", "warning")
        return
    win.offline_basemap = tf
    url = win.map.publish_tiles("basemap", tf)
    win.map.bridge.send("set_offline_basemap", url=url, min_zoom=tf.min_zoom, max_zoom=tf.max_zoom,
                        attribution=tf.name, bounds=tf.bounds)
