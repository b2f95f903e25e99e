"""Application entry point: parse flags, build the main window, run Qt."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="satseg-app", description="SatSeg desktop application")
    p.add_argument("--demo", action="store_true", help="open the bundled demo scene")
    p.add_argument("--image", help="open a GeoTIFF / Sentinel-2 folder at start")
    p.add_argument("--screenshot", metavar="PNG", help="render the window after loading, save it, exit 0")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SatSeg")
    app.setOrganizationName("SatSeg")
    win = MainWindow()
    win.resize(1280, 820)
    win.show()
    if args.demo:
        win.open_demo()
    elif args.image:
        win.open_image_path(args.image)
    if args.screenshot:
        def shoot() -> None:
            win.grab().save(args.screenshot)
            app.quit()

        QTimer.singleShot(500, shoot)
    return app.exec()
