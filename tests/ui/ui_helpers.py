"""Helpers for the window tests (drawing on the page, reading it back, running jobs)."""
import json


def open_demo(qtbot, win, size=300):
    with qtbot.waitSignal(win.image_displayed, timeout=60000):
        win.open_demo(size)
    return win


def snapshot(qtbot, win) -> dict:
    """What the Leaflet page shows right now (polygons, masks, image), read from the page itself."""
    box = {}
    win.map.snapshot(lambda d: box.setdefault("s", d))
    qtbot.waitUntil(lambda: "s" in box, timeout=10000)
    return box["s"]


def run_js(qtbot, win, code: str):
    """Run ``code`` in the map page and return its value."""
    box = {}
    win.map.page().runJavaScript(code, 0, lambda v: box.setdefault("v", v))
    qtbot.waitUntil(lambda: "v" in box, timeout=5000)
    return box["v"]


def simulate_draw(qtbot, win, geometry: dict, shape: str = "Polygon") -> dict:
    """Draw on the page through Geoman's pm:create path; returns the draw_created event."""
    with qtbot.waitSignal(win.map.bridge.draw_created, timeout=10000) as sig:
        win.map.page().runJavaScript(f"window.satseg.simulateDraw({json.dumps(geometry)}, {json.dumps(shape)})")
    return sig.args[0]


def run_and_wait(qtbot, win, timeout=120000) -> str:
    with qtbot.waitSignal(win.classification_finished, timeout=timeout) as sig:
        win.run_classification()
    return sig.args[0]
