"""Application entry point: flags, QApplication, the main window, automation modes.

``--screenshot PNG`` and ``--smoke-test`` drive the real window end to end
(map page, bridge, demo scene, default classifier) and exit 0 on success, so
packaged builds and CI can check the whole app without a person.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional, Sequence

SMOKE_TIMEOUT_S = 300
SCREENSHOT_SIZE = (1366, 768)   # the most common field-laptop screen; screenshots are comparable between runs
# How long a Python thread may keep the GIL while another waits for it (Python's default: 5 ms).
# The UI thread needs the GIL many times a frame; each time a worker is running Python it
# waits up to this long, so 1 ms keeps the window fed (docs/performance.md, "Who waits for whom").
GIL_SWITCH_INTERVAL_S = 0.001
# glibc gives each thread that meets a locked heap an arena of its own (up to 8 per core) and
# keeps what is freed in each; with the app's worker, tile and chunk threads that held ~400 MB
# of freed memory on the big scene. Two arenas cost no measurable speed (docs/performance.md).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8   # mallopt parameter number, glibc's malloc.h


def window_size(text: str) -> tuple[int, int]:
    """'1366x768' -> (1366, 768), for --window-size."""
    w, sep, h = text.lower().replace("×", "x").partition("x")
    try:
        size = (int(w), int(h))
    except ValueError:
        size = None
    if not sep or size is None or min(size) < 200 or max(size) > 10000:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 1366x768 (got '{text}')")
    return size


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="satseg-app", description="SatSeg desktop application")
    p.add_argument("--demo", action="store_true", help="open the demo scene with its sample polygons")
    p.add_argument("--project", metavar="PATH", help="open a project folder")
    p.add_argument("--image", metavar="PATH", help="open a GeoTIFF / Sentinel-2 folder")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window after loading (and, with --demo, after running the default "
                        "classifier), save it to PNG and exit 0")
    p.add_argument("--smoke-test", action="store_true",
                   help="load the map page, round-trip one bridge message, classify the demo scene, exit 0")
    p.add_argument("--window-size", metavar="WxH", type=window_size,
                   help=f"window size in pixels, e.g. 1366x768 (default: the size of the last session; "
                        f"--screenshot uses {SCREENSHOT_SIZE[0]}x{SCREENSHOT_SIZE[1]})")
    p.add_argument("--demo-size", type=int, default=1000, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _prepare_environment() -> None:
    # QtWebEngine refuses to start as root without this (and dies silently).
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    # The map view draws through Qt Quick's software renderer. With the default OpenGL path,
    # every repaint of any widget (a progress bar step) composites the whole window through
    # GL on the UI thread: 20-250 ms each on Mesa's llvmpipe, the longest UI stalls measured
    # (benchmarks/ui_responsiveness.py). SATSEG_MAP_GPU=1 keeps Qt's GPU path.
    if os.environ.get("SATSEG_MAP_GPU") != "1":
        os.environ.setdefault("QT_QUICK_BACKEND", "software")


def limit_malloc_arenas(n: int = MALLOC_ARENAS) -> bool:
    """At most ``n`` glibc malloc arenas for the threads started from now on (True when set).

    Called before Qt and the workers start their threads; a user's MALLOC_ARENA_MAX wins.
    Other C libraries (macOS, Windows, musl) have no such knob: nothing to do there."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    import ctypes

    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, n))
    except (OSError, AttributeError):      # not glibc
        return False


def make_app():
    from PySide6.QtWidgets import QApplication

    _prepare_environment()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    limit_malloc_arenas()
    from .web_scheme import register_scheme

    register_scheme()   # QtWebEngine wants custom schemes before the application exists
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SatSeg")
    app.setOrganizationName("SatSeg")
    from pathlib import Path

    from PySide6.QtGui import QIcon

    # resources/ beside the package, or inside the PyInstaller bundle (as map_view.web_root)
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    app.setWindowIcon(QIcon(str(base / "resources" / "icons" / "satseg.png")))
    return app


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _prepare_environment()
    from .qt_platform import check_xcb

    problem = check_xcb()
    if problem:
        print(f"satseg-app: error: {problem}", file=sys.stderr)
        return 2
    app = make_app()
    from .main_window import MainWindow

    automated = bool(args.screenshot or args.smoke_test)
    settings = None
    if automated:
        # Unattended runs neither read nor change the user's saved window layout.
        import tempfile

        from PySide6.QtCore import QSettings

        settings = QSettings(os.path.join(tempfile.mkdtemp(prefix="satseg-auto-"), "settings.ini"),
                             QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, quiet=automated)
    size = args.window_size or (SCREENSHOT_SIZE if args.screenshot else None)
    if size:
        win.resize(*size)
    win.show()
    if args.smoke_test:
        from .automation import SmokeTest

        runner = SmokeTest(win, app, args.demo_size)
    elif args.screenshot:
        from .automation import Screenshot

        runner = Screenshot(win, app, args.screenshot, run_classifier=args.demo, demo_size=args.demo_size)
    else:
        runner = None
    if runner is not None:
        runner.start()   # listen before anything loads: an error while opening ends the run at once
    if not automated:
        from . import project_io

        # After a crash: offer the autosave of the project being opened, or of the untitled session.
        if project_io.offer_recovery(win, args.project):
            args.project = args.demo = args.image = None
    if args.project:
        win.open_project(args.project)
    elif args.demo or args.smoke_test:
        win.open_demo(args.demo_size)
    elif args.image:
        win.open_path(args.image)
    code = app.exec()
    if runner is not None:
        return runner.exit_code
    return code
