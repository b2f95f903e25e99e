"""The offline basemap in the window: an MBTiles / GeoPackage tile file served through satseg://.

The tiles are read from the file (core/scale/basemap.py) on the scheme handler's tile
threads; the page shows them under the imagery. The demo scene comes with a small one
(core/scale/demo_basemap.py), made once into the user cache.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

FILTER = "Offline basemaps (*.mbtiles *.gpkg);;All files (*)"


def demo_basemap_path() -> Path:
    from ..core.paths import data_home

    return data_home() / "cache" / "basemap" / "demo.mbtiles"


def choose_offline_basemap(win) -> None:
    path, _ = QFileDialog.getOpenFileName(win, "Offline basemap (MBTiles or GeoPackage)", "", FILTER)
    if path:
        add_offline_basemap(win, path)


def add_offline_basemap(win, path: str) -> None:
    """Open the tile file on a worker and show it; a bad file gets a one-line message."""
    from ..core.scale.basemap import open_tile_file

    def shown(tf) -> None:
        if win._closed:
            return
        win.offline_basemap = tf
        url = win.map.publish_tiles("basemap", tf)
        win.map.bridge.send("set_offline_basemap", url=url, min_zoom=tf.min_zoom, max_zoom=tf.max_zoom,
                            attribution=tf.name)
        win.status.showMessage(f"Offline basemap: {Path(tf.path).name} ({tf.kind}, zoom {tf.min_zoom}–{tf.max_zoom})",
                               8000)

    win.runner.start("basemap", lambda job: open_tile_file(path), label="Opening basemap", on_done=shown,
                     on_error=lambda msg: win.notify(f"Cannot use the basemap: {msg}", "error"))


def show_demo_basemap(win) -> None:
    """The demo's small basemap (made the first time, into the user cache)."""
    from ..core.demo_scene import CENTER_LAT, CENTER_LON
    from ..core.scale.basemap import open_tile_file
    from ..core.scale.demo_basemap import write_demo_basemap

    def make(job):
        path = demo_basemap_path()
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_demo_basemap(path, CENTER_LON, CENTER_LAT)
        return open_tile_file(str(path))

    def shown(tf) -> None:
        if not win._closed:
            win.offline_basemap = tf
            url = win.map.publish_tiles("basemap", tf)
            win.map.bridge.send("set_offline_basemap", url=url, min_zoom=tf.min_zoom, max_zoom=tf.max_zoom,
                                attribution=tf.name)

    win.runner.start("basemap", make, label="Drawing the demo basemap", on_done=shown,
                     on_error=lambda msg: win.notify(f"Demo basemap: {msg}", "warning"))
