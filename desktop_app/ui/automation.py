"""Unattended runs of the real window: --smoke-test and --screenshot.

Both follow the window's own signals (image loaded, picture on the map,
classification finished) rather than sleeping a guessed time, and give up
with exit status 1 after a timeout so a broken build never hangs CI.
"""
from __future__ import annotations

import sys
import time

from PySide6.QtCore import QObject, QTimer

RENDER_SETTLE_MS = 1500   # let Chromium paint the newest overlays before grabbing



def save_png(widget, path) -> bool:
    """A screenshot of ``widget`` as PNG, through the atomic writer (docs/data-safety.md)."""
    from PySide6.QtCore import QBuffer, QIODevice

    from ..core.atomic import write_bytes_atomic
    from ..core.errors import SatSegError

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buf, "PNG"):
        return False
    try:
        write_bytes_atomic(path, bytes(buf.data()))
    except SatSegError:
        return False
    return True

class _Driver(QObject):
    timeout_s = 300

    def __init__(self, win, app) -> None:
        super().__init__(win)
        self.win, self.app = win, app
        self.exit_code = 1
        self.t0 = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.fail(f"timed out after {self.timeout_s} s"))

    def start(self) -> None:
        self._timer.start(self.timeout_s * 1000)
        self.win.message_shown.connect(self._on_message)

    def _on_message(self, level: str, text: str) -> None:
        if level == "error":
            self.fail(text)

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f} s] {text}", flush=True)

    def fail(self, why: str) -> None:
        print(f"satseg-app: error: {why}", file=sys.stderr, flush=True)
        self.exit_code = 1
        # Quit from the event loop: fail() may run before app.exec() has started.
        QTimer.singleShot(0, self._quit)

    def succeed(self) -> None:
        self.exit_code = 0
        QTimer.singleShot(0, self._quit)

    def _quit(self) -> None:
        self._timer.stop()
        self.win.dirty = False
        self.win.model.mark_saved()   # nothing to ask about: an unattended run changes nothing of value
        self.win.close()
        self.app.quit()


class SmokeTest(_Driver):
    """Map page loads, one bridge round trip, the demo scene is classified."""

    def __init__(self, win, app, demo_size: int = 1000) -> None:
        super().__init__(win, app)
        self.demo_size = demo_size
        self._pong = False
        self._loaded = False

    def start(self) -> None:
        super().start()
        b = self.win.map.bridge
        b.ready.connect(lambda: self.say("map page ready (Leaflet loaded from local files)"))
        b.pong.connect(self._on_pong)
        b.send("ping", token="smoke")  # queued until the page is ready
        self.win.image_loaded.connect(self._on_loaded)
        self.win.classification_finished.connect(self._on_classified)

    def _on_pong(self, token: str) -> None:
        if token == "smoke":
            self._pong = True
            self.say("bridge round trip ok")
            self._maybe_run()

    def _on_loaded(self) -> None:
        self._loaded = True
        self.say(f"demo scene loaded: {self.win.doc.width} x {self.win.doc.height} px, "
                 f"{len(self.win.model.polygons)} sample polygons")
        self._maybe_run()

    def _maybe_run(self) -> None:
        if self._pong and self._loaded and not self.win.runner.busy("classify") and self.win.result is None:
            self.win.run_classification()

    def _on_classified(self, outcome: str) -> None:
        res = self.win.result
        if outcome != "done" or res is None:
            self.fail(f"classification {outcome}")
            return
        classified = sum(r.pixels for r in res.areas.rows) if hasattr(res.areas, "rows") else 0
        self.say(f"classified with {res.classifier.label} in {res.seconds:.1f} s; "
                 f"{classified:,} pixels in {len(res.classes)} classes")
        if classified == 0:
            self.fail("the classification put no pixel in any class")
            return
        blocked = list(self.win.map.guard.blocked)
        if blocked:
            self.fail(f"the map page made network requests: {blocked[:3]}")
            return
        self.say("smoke test passed")
        self.succeed()


class Screenshot(_Driver):
    """Load, optionally run the default classifier, grab the window into a PNG."""

    def __init__(self, win, app, path: str, run_classifier: bool, demo_size: int = 1000) -> None:
        super().__init__(win, app)
        self.path = path
        self.run_classifier = run_classifier

    def start(self) -> None:
        super().start()
        self.win.image_displayed.connect(self._on_displayed)
        self.win.classification_finished.connect(self._on_classified)
        self._done_display = False

    def _on_displayed(self) -> None:
        if self._done_display:
            return
        self._done_display = True
        if self.run_classifier:
            # The state after loading goes to <name>-loaded.png, then the default classifier runs.
            QTimer.singleShot(RENDER_SETTLE_MS, self._shoot_loaded)
        else:
            QTimer.singleShot(RENDER_SETTLE_MS, self._shoot)

    def _where_is_the_image(self, then) -> None:
        """Say where the image overlay sits in the screenshot (window pixels) and its lat/lon bounds.

        Lets a check find known places of the scene in the picture (tests compare class
        colours there), so a blank or misplaced map fails instead of passing on file size.
        """
        import json

        from PySide6.QtCore import QPoint

        js = ("(function () { var e = document.querySelector('.leaflet-imagery-pane img');"
              " if (!e) { return ''; } var r = e.getBoundingClientRect();"
              " return JSON.stringify([r.left, r.top, r.width, r.height]); })()")

        def got(rect) -> None:
            if rect:
                x, y, w, h = json.loads(rect)
                off = self.win.map.mapTo(self.win, QPoint(0, 0))
                self.say("image on screen: " + json.dumps(
                    {"x": off.x() + x, "y": off.y() + y, "width": w, "height": h,
                     "bounds": getattr(self.win, "_last_image_bounds", None)}))
            then()

        self.win.map.page().runJavaScript(js, 0, got)

    def _shoot_loaded(self) -> None:
        self._where_is_the_image(self._save_loaded)

    def _save_loaded(self) -> None:
        from pathlib import Path

        p = Path(self.path)
        loaded = p.with_name(f"{p.stem}-loaded{p.suffix or '.png'}")
        if save_png(self.win, loaded):
            self.say(f"screenshot after loading saved to {loaded}")
        self.win.run_classification()

    def _on_classified(self, outcome: str) -> None:
        if outcome != "done":
            self.fail(f"classification {outcome}")
            return
        QTimer.singleShot(RENDER_SETTLE_MS, self._shoot)

    def _shoot(self) -> None:
        self._where_is_the_image(self._save)

    def _save(self) -> None:
        if not save_png(self.win, self.path):
            self.fail(f"cannot write {self.path}")
            return
        self.say(f"screenshot saved to {self.path}")
        self.succeed()
