"""The map page and its QWebChannel bridge, both ways, offline."""
import json

from PySide6.QtCore import Qt

from ui_helpers import run_js, simulate_draw, snapshot

SQUARE = {"type": "Polygon", "coordinates": [[[77.69, 29.46], [77.70, 29.46], [77.70, 29.47], [77.69, 29.47],
                                               [77.69, 29.46]]]}


def test_commands_sent_before_the_page_is_ready_are_queued(qtbot):
    from desktop_app.ui.map_view import MapView

    view = MapView()
    qtbot.addWidget(view)
    view.bridge.send("ping", token="early")          # the page does not exist yet
    assert not view.bridge.is_ready
    with qtbot.waitSignal(view.bridge.pong, timeout=20000) as sig:
        view.load_map()
    assert sig.args == ["early"]
    view.shutdown()


def test_python_command_changes_the_map(qtbot, window):
    window.map.bridge.send("add_polygon", id="p1", geometry=SQUARE, color="#e31a1c", role="training", label="x")
    snap = snapshot(qtbot, window)
    assert snap["polygons"]["p1"]["color"] == "#e31a1c"
    ring = snap["polygons"]["p1"]["geometry"]["coordinates"][0]
    assert [77.69, 29.46] in [[round(x, 6), round(y, 6)] for x, y in ring]
    window.map.bridge.send("remove_polygon", id="p1")
    assert "p1" not in snapshot(qtbot, window)["polygons"]


def test_drawn_polygon_arrives_in_python_as_geojson_and_takes_the_class_colour(qtbot, window):
    cid = window.model.add_class("wetland", "#00aaff")
    window.model.set_current_class(cid)
    ev = simulate_draw(qtbot, window, SQUARE)
    assert ev["kind"] == "sample"
    assert ev["geometry"]["type"] == "Polygon"
    xs = sorted({round(p[0], 6) for p in ev["geometry"]["coordinates"][0]})
    assert xs == [77.69, 77.70]
    # The model holds it, and the map shows it under the model's id in the class colour.
    qtbot.waitUntil(lambda: len(window.model.polygons) == 1)
    pid = next(iter(window.model.polygons))
    qtbot.waitUntil(lambda: pid in snapshot(qtbot, window)["polygons"], timeout=5000)
    snap = snapshot(qtbot, window)
    assert snap["polygons"][pid]["color"] == "#00aaff"
    assert not any(k.startswith("tmp-") for k in snap["polygons"])   # the page's temporary layer is gone
    # Undo removes it from the map as well.
    window.model.undo_stack.undo()
    qtbot.waitUntil(lambda: pid not in snapshot(qtbot, window)["polygons"], timeout=5000)


def test_edit_and_delete_on_the_map_reach_the_model(qtbot, window):
    cid = window.model.add_class("water")
    window.model.set_current_class(cid)
    simulate_draw(qtbot, window, SQUARE)
    pid = next(iter(window.model.polygons))
    bigger = {"type": "Polygon", "coordinates": [[[77.69, 29.46], [77.71, 29.46], [77.71, 29.48], [77.69, 29.48],
                                                   [77.69, 29.46]]]}
    window.map.bridge.receive(json.dumps({"type": "draw_edited", "kind": "sample", "id": pid, "geometry": bigger}))
    assert window.model.polygon(pid).geometry.bounds == (77.69, 29.46, 77.71, 29.48)
    window.map.bridge.receive(json.dumps({"type": "draw_removed", "kind": "sample", "id": pid}))
    assert window.model.polygon(pid) is None


def test_roi_drawn_on_the_map_is_kept(qtbot, window):
    window.map.bridge.send("set_draw_style", kind="roi")
    ev = simulate_draw(qtbot, window, SQUARE, "Rectangle")
    assert ev["kind"] == "roi"
    assert window.roi["type"] == "Polygon"
    assert "km²" in window.imagery_panel.roi_label.text()
    assert snapshot(qtbot, window)["roi"] is not None
    assert window.model.polygons == {}   # an ROI is not a sample


def test_map_page_loads_offline_without_any_network_request(qtbot, demo_window):
    win = demo_window
    snap = snapshot(qtbot, win)
    assert snap["basemap"] is False and snap["image"] is not None
    assert win.map.guard.blocked == []
    assert win.map.map_page.console_errors == []
    assert win.map.bridge.errors == []


def test_requests_to_the_internet_are_blocked_and_logged(qtbot, window):
    # The page's content policy already refuses other hosts; a tile request to the basemap host
    # passes it, and with the basemap off the interceptor stops and records it.
    window.map.page().runJavaScript("new Image().src = 'https://tile.openstreetmap.org/0/0/0.png';")
    qtbot.waitUntil(lambda: any("tile.openstreetmap.org" in u for u in window.map.guard.blocked), timeout=10000)


HOSTILE = '<img src=x onerror="window.pwned = 1; document.title = \'pwned\'">'


def test_a_class_name_is_text_on_the_map_never_html(qtbot, window):
    # A class name can come from an imported KML / GeoJSON: it must not become an element.
    cid = window.model.add_class(HOSTILE, "#e31a1c")
    pid = window.model.add_polygon(SQUARE, cid)
    window.map.bridge.send("fit_bounds", bounds=[[29.46, 77.69], [29.47, 77.70]])
    qtbot.waitUntil(lambda: pid in snapshot(qtbot, window)["polygons"], timeout=5000)
    # Hover the polygon as the mouse would: Leaflet opens its tooltip with the label.
    hovered = run_js(qtbot, window, """(function () {
        var path = document.querySelector('.leaflet-overlay-pane path.leaflet-interactive');
        if (!path) { return false; }
        var r = path.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        ['mouseover', 'mousemove'].forEach(function (t) {
            path.dispatchEvent(new MouseEvent(t, {bubbles: true, clientX: x, clientY: y}));
        });
        return true;
    })()""")
    assert hovered is True
    qtbot.waitUntil(lambda: run_js(qtbot, window, "document.querySelectorAll('.leaflet-tooltip').length") == 1,
                    timeout=5000)
    assert run_js(qtbot, window, "document.querySelector('.leaflet-tooltip').textContent") == f"{HOSTILE} (training)"
    # No element was made from the name (innerHTML would have created the <img> at once) ...
    assert run_js(qtbot, window, "document.querySelectorAll('.leaflet-tooltip img, img[src=x]').length") == 0
    # ... and its handler never ran (it would have run by the time the page answers twice more).
    qtbot.wait(200)
    assert run_js(qtbot, window, "typeof window.pwned + ' | ' + document.title") == "undefined | SatSeg map"


def test_the_page_cannot_read_local_files(qtbot, window, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    from PySide6.QtCore import QUrl

    url = QUrl.fromLocalFile(str(secret)).toString()
    outcome = run_js(qtbot, window, f"""(function () {{
        try {{ var x = new XMLHttpRequest(); x.open('GET', {json.dumps(url)}, false); x.send();
               return 'read: ' + x.responseText; }}
        catch (e) {{ return 'refused'; }}
    }})()""")
    assert outcome == "refused"
    # Nor can it walk out of the web folder through its own scheme.
    outcome = run_js(qtbot, window, """(function () {
        try { var x = new XMLHttpRequest(); x.open('GET', 'satseg://app/%2e%2e/%2e%2e/pyproject.toml', false);
              x.send(); return 'read: ' + x.status; }
        catch (e) { return 'refused'; }
    })()""")
    assert outcome == "refused"


def test_the_shipped_page_has_no_test_hooks(qtbot):
    from desktop_app.ui.map_view import MapView

    view = MapView(test_hooks=False)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.bridge.ready, timeout=20000):
        view.load_map()
    box = {}
    view.map_page.runJavaScript("typeof window.satseg", 0, lambda v: box.setdefault("v", v))
    qtbot.waitUntil(lambda: "v" in box, timeout=5000)
    assert box["v"] == "undefined"
    view.shutdown()


def test_online_basemap_is_opt_in(qtbot, window):
    assert snapshot(qtbot, window)["basemap"] is False
    window.imagery_panel.basemap.setChecked(True)
    assert window.map.guard.online_hosts == {"tile.openstreetmap.org"}
    qtbot.waitUntil(lambda: snapshot(qtbot, window)["basemap"] is True, timeout=5000)
    window.imagery_panel.basemap.setChecked(False)
    qtbot.waitUntil(lambda: snapshot(qtbot, window)["basemap"] is False, timeout=5000)
    assert window.map.guard.online_hosts == set()


def test_hidden_sample_layer_stays_hidden_for_new_polygons(qtbot, window):
    window.layers_panel.set_visible("samples", False)
    window.map.bridge.send("add_polygon", id="p2", geometry=SQUARE, color="#123456", role="validation", label="y")
    box = {}
    window.map.page().runJavaScript(
        "(function(){var n=0; document.querySelectorAll('path.leaflet-interactive').forEach(function(){n++;});"
        "return n;})()", 0, lambda n: box.setdefault("n", n))
    qtbot.waitUntil(lambda: "n" in box, timeout=5000)
    assert box["n"] == 0
    window.layers_panel.set_visible("samples", True)
    box.clear()
    window.map.page().runJavaScript(
        "document.querySelectorAll('path.leaflet-interactive').length", 0, lambda n: box.setdefault("n", n))
    qtbot.waitUntil(lambda: "n" in box, timeout=5000)
    assert box["n"] == 1


def test_messages_quoting_a_class_name_are_plain_text(qtbot, window):
    window.model.add_class("<b>water</b>")
    window.quiet = False                      # this once, show the dialog a person would see
    try:
        window.notify("Cannot classify: class '<b>water</b>' has no training pixels", "warning")
        box = window._dialogs[-1]
        assert box.textFormat() == Qt.TextFormat.PlainText and "'<b>water</b>'" in box.text()
    finally:
        window.quiet = True
        for box in list(window._dialogs):
            box.close()
    assert window.classes_panel.status.textFormat() == Qt.TextFormat.PlainText
