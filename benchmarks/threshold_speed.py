"""Threshold change in the real window until the map shows it (issue 12; prints figures, no pass/fail).

    QTWEBENGINE_DISABLE_SANDBOX=1 xvfb-run -a -s "-screen 0 1366x768x24" \\
        .venv/bin/python benchmarks/threshold_speed.py [--big SIDE] [--changes N]

- demo: the demo scene (1000 x 1000 px, 12 bands), classified with the default method;
  then N threshold changes from the Model panel, each timed from the change until every
  visible mask on the Leaflet page shows the new picture (loaded by the page; the page is
  asked every few milliseconds from an event loop, never by busy polling, which would take
  a core and the GIL from the app being measured).
- big SIDE (default 10980): a synthetic SIDE x SIDE x 4-band float32 GeoTIFF on disk, opened,
  classified, then the same measurement; its kept scores go to the user cache (memory-mapped).
Also printed: the process's peak and current resident memory (the score cache is on disk), and
the whole process tree's (QtWebEngine's processes are the app's children).
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("SATSEG_HOME", tempfile.mkdtemp(prefix="satseg-bench-"))
os.environ["SATSEG_MAP_TEST_HOOKS"] = "1"       # the page's snapshot() says when an overlay is loaded
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import PySide6.QtWebEngineWidgets  # noqa: E402,F401
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402

from benchmarks.big_scene import memory_line, peak_mb, rss_mb  # noqa: E402
from benchmarks.ui_responsiveness import settle, wait_for  # noqa: E402


def snapshot(win) -> dict:
    """What the page shows; waits in an event loop (no busy polling that would take the GIL
    and a core from the app being measured)."""
    box, loop = {}, QEventLoop()

    def got(d):
        box["s"] = d
        loop.quit()

    win.map.snapshot(got)
    if "s" not in box:
        loop.exec()
    return box["s"]


def pause(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


# The page is asked what it shows every POLL_MS (plus the answer's round trip): the figures
# are "until the map shows it" to within a few milliseconds.
POLL_MS = 4


def shown_urls(win) -> dict:
    s = snapshot(win)
    return {k: (m["url"], m["loaded"]) for k, m in s.get("masks", {}).items() if m["visible"]}


def time_change(win, values: dict) -> float:
    before = {k: u for k, (u, _) in shown_urls(win).items()}
    t0 = time.perf_counter()
    win.model_panel.set_thresholds(values)
    while True:
        now = shown_urls(win)
        if now and all(loaded for _, loaded in now.values()) and \
                any(before.get(k) != u for k, (u, _) in now.items()):
            if not win.runner.busy("predict"):
                return time.perf_counter() - t0
        if time.perf_counter() - t0 > 600:
            return float("nan")
        pause(POLL_MS)


def measure(win, label: str, changes: int) -> None:
    res = win.result
    names = [c.name for c in res.classes]
    suggested = win.model_panel._suggested.get(win.model_panel.method(), {})
    times = []
    for i in range(changes):
        f = (0.5, 0.8, 1.2, 0.65, 1.0)[i % 5]
        values = {n: round(float(suggested.get(n, 3.0)) * f, 3) for n in names}
        times.append(time_change(win, values))
        settle(win, 300)
    ms = np.array(times) * 1000
    print(f"{label}: threshold change -> map shows it: median {np.median(ms):.0f} ms, "
          f"best {ms.min():.0f} ms, worst {ms.max():.0f} ms over {len(ms)} changes; "
          f"RSS now {rss_mb():.0f} MB, peak {peak_mb():.0f} MB; {memory_line()}; score cache "
          f"{res.score_cache.nbytes / 2 ** 20:.0f} MB {'on disk' if res.score_cache.on_disk else 'in memory'}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)


def classify(win) -> float:
    t0 = time.perf_counter()
    win.run_classification()
    outcome = wait_for(win.classification_finished, 3600)
    settle(win, 500)
    if not outcome or outcome[0] != "done":
        raise SystemExit(f"classification did not finish: {outcome}")
    return time.perf_counter() - t0


def big_scene(folder: Path, side: int) -> tuple[Path, dict]:
    """A SIDE² x 4-band float32 GeoTIFF of three classes in coarse patches, and six square polygons."""
    from benchmarks.synthetic import class_map, class_model, pixels_for, transform_for
    from desktop_app.core.geo import WGS84, transform_geometry
    from desktop_app.core.geotiff import GeoTiffWriter
    from rasterio.crs import CRS
    from rasterio.windows import Window
    from shapely.geometry import box, mapping

    bands, crs = ["B2", "B3", "B4", "B8"], CRS.from_epsg(32643)
    means, chols = class_model(4, 3, 0)
    path, t = folder / f"big{side}.tif", transform_for()
    truth = class_map(side, side, 3, 0, coarse=256)
    if not path.exists():
        with GeoTiffWriter(path, width=side, height=side, count=4, dtype="float32", transform=t, crs=crs,
                           band_names=bands) as w:
            for r in range(0, side, 1024):
                lab = truth[r:r + 1024]
                w.write(pixels_for(lab.ravel(), means, chols, r).reshape(4, *lab.shape), window=Window(0, r, side, lab.shape[0]))
    feats, rng = [], np.random.default_rng(0)
    for k in (1, 2, 3):
        found = 0
        while found < 2:
            r, c = rng.integers(0, side - 40, 2)
            if (truth[r:r + 40, c:c + 40] == k).all():
                x0, y0 = t * (c, r)
                x1, y1 = t * (c + 40, r + 40)
                g = transform_geometry(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), crs, WGS84)
                feats.append({"type": "Feature", "properties": {"class": f"class{k}"}, "geometry": mapping(g)})
                found += 1
    return path, {"type": "FeatureCollection", "features": feats}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--big", type=int, default=10980, help="side of the synthetic scene (0: demo only)")
    p.add_argument("--changes", type=int, default=5)
    p.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "satseg-threshold-bench"))
    args = p.parse_args(argv)
    from desktop_app.ui.app import make_app
    from desktop_app.ui.main_window import MainWindow

    app = make_app()
    print(f"Qt platform: {app.platformName()}; os.cpu_count() = {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    win = MainWindow(settings=QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat),
                     quiet=True)
    win.resize(1366, 768)
    win.show()
    wait_for(win.map.bridge.ready, 60)
    win.open_demo(1000)
    wait_for(win.image_displayed, 600)
    settle(win)
    print(f"demo: classified in {classify(win):.1f} s (window, whole run)", flush=True)
    measure(win, "demo 1000x1000x12", args.changes)
    if args.big:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        path, fc = big_scene(folder, args.big)
        print(f"big scene {path} ready in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        win.open_path(str(path))
        wait_for(win.image_displayed, 3600)
        settle(win, 500)
        print(f"big: opened and shown in {time.perf_counter() - t0:.1f} s; RSS {rss_mb():.0f} MB", flush=True)
        win.model.from_geojson(fc)
        settle(win, 500)
        print(f"big: classified in {classify(win):.1f} s; RSS {rss_mb():.0f} MB, peak {peak_mb():.0f} MB",
              flush=True)
        measure(win, f"big {args.big}x{args.big}x4", args.changes)
    win.model.mark_saved()
    win.document.mark_saved()
    win.close()


if __name__ == "__main__":
    main()
