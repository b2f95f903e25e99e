"""Full-resolution map tiles of a big scene in the real window (issue 12; prints figures, no pass/fail).

    QTWEBENGINE_DISABLE_SANDBOX=1 xvfb-run -a -s "-screen 0 1366x768x24" \\
        .venv/bin/python benchmarks/tile_speed.py [--side 10980] [--pans 8]

Writes (once, kept in --keep) a SIDE x SIDE x 12-band uint16 GeoTIFF (Sentinel-2 DN, 512 px
tiles, no overviews: the worst case), opens it in the window and prints:
- open -> first picture: File ▸ Open until the map has the image layer;
- first full-resolution view: from opening until every tile of a view at the image's own
  pixel size (native zoom, the centre) is loaded by the page;
- later tiles: each pan by a screen width at native zoom until its tiles are loaded,
  divided by the tiles it needed; and the tile render time on the tile threads;
- the longest UI-thread stall (10 ms timer) during all that, and the process RSS.
The reduced levels for zoomed-out views are built in the background meanwhile.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("SATSEG_HOME", tempfile.mkdtemp(prefix="satseg-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import PySide6.QtWebEngineWidgets  # noqa: E402,F401
from PySide6.QtCore import QSettings  # noqa: E402

from benchmarks.big_scene import make_scene, memory_line, peak_mb, rss_mb, scene_path  # noqa: E402
from benchmarks.ui_responsiveness import Ticks, settle, until_loaded, wait_for  # noqa: E402



def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--side", type=int, default=10980)
    p.add_argument("--pans", type=int, default=8)
    p.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "satseg-tile-bench"))
    args = p.parse_args(argv)
    folder = Path(args.keep)
    folder.mkdir(parents=True, exist_ok=True)
    path = scene_path(folder, args.side)
    t = time.perf_counter()
    make_scene(path, args.side)
    print(f"scene {path} ({path.stat().st_size / 2 ** 30:.1f} GB, {time.perf_counter() - t:.0f} s to make)",
          flush=True)
    from desktop_app.core.scale import tiles as core_tiles
    from desktop_app.ui.app import make_app
    from desktop_app.ui.main_window import MainWindow

    renders = []
    real = core_tiles.ImageTiles.__call__

    def timed(self, z, x, y):
        t1 = time.perf_counter()
        out = real(self, z, x, y)
        renders.append((z, time.perf_counter() - t1))
        return out

    core_tiles.ImageTiles.__call__ = timed
    app = make_app()
    print(f"Qt platform: {app.platformName()}; cores {os.cpu_count()}; load {os.getloadavg()[0]:.1f}", flush=True)
    win = MainWindow(settings=QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat),
                     quiet=True)
    win.resize(1366, 768)
    win.show()
    wait_for(win.map.bridge.ready, 60)
    with Ticks(os.environ.get("SATSEG_TRACE") == "1") as ticks:
        ui_cpu0 = time.thread_time()     # the UI thread's own CPU time (load on the machine does not change it)
        t0 = time.perf_counter()
        win.open_path(str(path))
        wait_for(win.image_displayed, 600)
        shown = time.perf_counter() - t0
        (s, w), (n, e) = win._last_image_bounds
        zoom = core_tiles.native_zoom(win.doc.transform, win.doc.crs, win.doc.width, win.doc.height)
        win.map.bridge.send("set_view", lat=(s + n) / 2, lon=(w + e) / 2, zoom=zoom)
        first = until_loaded(win, t0)
        n_first = len(renders)
        pans = []
        for i in range(args.pans):
            before = len(renders)
            t1 = time.perf_counter()
            dx = 900 if i % 2 == 0 else -450
            win.map.bridge.send("pan_by", x=dx, y=(150 if i % 3 == 0 else -100))
            dt = until_loaded(win, t1)
            pans.append((dt, len(renders) - before))
        settle(win, 500)
        ui_cpu = time.thread_time() - ui_cpu0
        wall = time.perf_counter() - t0
    print(f"open -> image layer on the map: {shown:.2f} s")
    print(f"first full-resolution view (zoom {zoom}, {n_first} tiles): {first:.2f} s after opening "
          f"(target <= 3 s)")
    per_tile = [dt / k for dt, k in pans if k]
    if per_tile:
        print(f"later views: {len(pans)} pans, median {np.median([d for d, _ in pans]):.2f} s for "
              f"{np.median([k for _, k in pans]):.0f} new tiles, i.e. {1000 * np.median(per_tile):.0f} ms a tile "
              f"(target <= 150 ms a tile)")
    r = np.array([d for z, d in renders if z >= zoom - 1]) * 1000
    if len(r):
        print(f"tile render on a tile thread (full-resolution zooms): median {np.median(r):.0f} ms, "
              f"p95 {np.percentile(r, 95):.0f} ms over {len(r)} tiles")
    g = ticks.gaps()
    ticks.print_samples()
    print(f"UI thread CPU time: {ui_cpu:.2f} s over {wall:.1f} s")
    print(f"longest UI-thread stall: {g.max():.0f} ms (target < 200 ms); RSS {rss_mb():.0f} MB, "
          f"peak {peak_mb():.0f} MB; {memory_line()} (target <= 2048 MB)")
    busy = win.runner.busy("overviews")
    print(f"reduced levels for zoomed-out views: {'still building' if busy else 'built'}")
    win.model.mark_saved()
    win.document.mark_saved()
    win.close()


if __name__ == "__main__":
    main()
