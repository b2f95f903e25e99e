/* SatSeg map page: Leaflet + Leaflet-Geoman driven from Python over one QWebChannel.
 *
 * Events go to Python as JSON strings through bridge.receive(json); Python sends
 * commands as JSON strings through the bridge's `command` signal into dispatch().
 * The page announces {type: "ready"} once the channel and the map exist; Python
 * queues its commands until then.
 *
 * The map never decides anything about samples: a drawn polygon is reported with a
 * temporary id, Python validates it, stores it in its sample model and sends it back
 * with its real id and class colour. So undo/redo in Python simply re-sends layers.
 */
(function () {
  "use strict";

  var bridge = null;
  var map = null;
  var imageLayer = null;
  var masks = {};          // id -> {layer, visible}
  var polygons = {};       // id -> Leaflet layer
  var roiLayer = null;
  var basemap = null;
  var offlineBasemap = null;  // tiles from an MBTiles/GeoPackage file, served by Python
  var samplesVisible = true;
  var drawKind = "sample";  // "sample" or "roi"
  var drawColor = "#e31a1c";
  var nextTemp = 1;
  var lastMove = 0;
  var legend = null;       // Leaflet control listing the class colours
  var overlays = {};       // id -> Leaflet layer: previews and points drawn by Python's tools
  var pickMode = false;    // a Python tool (region growing) wants map clicks

  function send(type, payload) {
    var msg = Object.assign({ type: type }, payload || {});
    if (bridge) { bridge.receive(JSON.stringify(msg)); }
  }

  function hint(text) {
    var el = document.getElementById("draw-hint");
    el.textContent = text || "";
    el.className = text ? "hint" : "hint hidden";
  }

  // User text (class names, labels) for Leaflet content: a node whose text is never parsed as HTML.
  function textElement(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  function toBounds(b) { return L.latLngBounds([b[0][0], b[0][1]], [b[1][0], b[1][1]]); }

  function polygonStyle(color, role) {
    return {
      color: color, fillColor: color, weight: 2, opacity: 1, fillOpacity: 0.25,
      dashArray: role === "validation" ? "6 4" : null
    };
  }

  function layerFromGeometry(geometry, style) {
    var layer = L.GeoJSON.geometryToLayer({ type: "Feature", properties: {}, geometry: geometry });
    if (layer.setStyle) { layer.setStyle(style); }
    return layer;
  }

  function geometryOf(layer) { return layer.toGeoJSON().geometry; }

  // While Geoman draws, edits, drags or removes, a click belongs to that tool, not to a popup.
  function toolActive() {
    var pm = map.pm;
    return pm.globalDrawModeEnabled() || pm.globalEditModeEnabled() || pm.globalRemovalModeEnabled() ||
      pm.globalDragModeEnabled() || pm.globalCutModeEnabled();
  }

  // Popup of a sample polygon: its class and a Training / Validation choice. The page only
  // asks; Python changes the role in its model and sends the polygon back restyled.
  function rolePopupContent(layer) {
    var box = L.DomUtil.create("div", "satseg-role");
    var title = L.DomUtil.create("div", "satseg-role-class", box);
    title.textContent = layer.satsegClass || "Sample polygon";   // textContent: class names are user text
    var row = L.DomUtil.create("div", "satseg-role-buttons", box);
    [["training", "Training"], ["validation", "Validation"]].forEach(function (r) {
      var current = layer.satsegRole === r[0];
      var b = L.DomUtil.create("button", current ? "active" : "", row);
      b.type = "button";
      b.textContent = r[1];
      b.title = r[0] === "training" ? "Teach the classifier with this polygon"
        : "Keep this polygon apart to measure accuracy";
      b.setAttribute("data-role", r[0]);
      L.DomEvent.on(b, "click", function (ev) {
        L.DomEvent.stop(ev);
        map.closePopup();
        if (!current) { send("set_role", { id: layer.satsegId, role: r[0] }); }
      });
    });
    return box;
  }

  function openRolePopup(layer, latlng) {
    L.popup({ className: "satseg-role-popup", minWidth: 120 })
      .setLatLng(latlng || layer.getBounds().getCenter())
      .setContent(rolePopupContent(layer))
      .openOn(map);
  }

  function watchEdits(layer, kind) {
    layer.on("pm:edit", function () {
      send("draw_edited", { kind: kind, id: layer.satsegId, geometry: geometryOf(layer) });
    });
  }

  // ---- commands from Python ------------------------------------------------
  var commands = {
    ping: function (c) { send("pong", { token: c.token }); },

    set_image: function (c) {
      if (imageLayer) { map.removeLayer(imageLayer); }
      var opacity = c.opacity === undefined ? 1 : c.opacity;
      if (c.tiles) {
        // Big images: XYZ tiles drawn on demand by Python (satseg://app/tiles/...), real
        // pixels at every zoom; a new URL (band/stretch change) re-asks only the visible tiles.
        imageLayer = L.tileLayer(c.url, { pane: "imagery", opacity: opacity, bounds: toBounds(c.bounds),
          maxNativeZoom: c.max_native_zoom, maxZoom: 22, tileSize: 256, keepBuffer: 1 });
        imageLayer.getBounds = function () { return toBounds(c.bounds); };
      } else {
        imageLayer = L.imageOverlay(c.url, toBounds(c.bounds),
          { pane: "imagery", opacity: opacity, interactive: false });
      }
      imageLayer.satsegVisible = c.visible !== false;
      if (imageLayer.satsegVisible) { imageLayer.addTo(map); }
      if (c.fit) { map.fitBounds(toBounds(c.bounds)); }
    },
    clear_image: function () { if (imageLayer) { map.removeLayer(imageLayer); imageLayer = null; } },

    set_mask: function (c) {
      commands.remove_mask(c);
      var opacity = c.opacity === undefined ? 0.7 : c.opacity;
      var layer = c.tiles
        ? L.tileLayer(c.url, { pane: "masks", opacity: opacity, bounds: toBounds(c.bounds),
                               maxNativeZoom: c.max_native_zoom, maxZoom: 22, keepBuffer: 1 })
        : L.imageOverlay(c.url, toBounds(c.bounds), { pane: "masks", opacity: opacity, interactive: false });
      masks[c.id] = { layer: layer, visible: c.visible !== false };
      if (masks[c.id].visible) { layer.addTo(map); }
    },
    remove_mask: function (c) {
      var m = masks[c.id];
      if (m) { map.removeLayer(m.layer); delete masks[c.id]; }
    },
    clear_masks: function () {
      Object.keys(masks).forEach(function (id) { commands.remove_mask({ id: id }); });
    },

    set_layer_opacity: function (c) {
      var layer = c.id === "image" ? imageLayer : (masks[c.id] && masks[c.id].layer);
      if (layer) { layer.setOpacity(c.opacity); }
    },
    set_layer_visible: function (c) {
      var layer, holder;
      if (c.id === "image") { layer = imageLayer; holder = imageLayer; }
      else if (c.id === "samples") {
        samplesVisible = !!c.visible;
        Object.keys(polygons).forEach(function (id) {
          if (c.visible) { polygons[id].addTo(map); } else { map.removeLayer(polygons[id]); }
        });
        return;
      } else if (masks[c.id]) { layer = masks[c.id].layer; holder = masks[c.id]; }
      if (!layer) { return; }
      if (c.id === "image") { holder.satsegVisible = c.visible; } else { holder.visible = c.visible; }
      if (c.visible) { layer.addTo(map); } else { map.removeLayer(layer); }
    },

    add_polygon: function (c) {
      commands.remove_polygon(c);
      var layer = layerFromGeometry(c.geometry, polygonStyle(c.color, c.role));
      layer.satsegId = c.id;
      layer.satsegColor = c.color;
      layer.satsegRole = c.role;
      layer.satsegClass = c.class_name;
      // Leaflet writes a string tooltip with innerHTML; an element is inserted as it is, so
      // the class name (user text, maybe from an imported file) stays text.
      if (c.label) { layer.bindTooltip(textElement(c.label), { sticky: true, className: "satseg-label" }); }
      layer.on("click", function (e) {
        if (!toolActive()) { openRolePopup(layer, e.latlng); }
      });
      watchEdits(layer, "sample");
      polygons[c.id] = layer;
      if (samplesVisible) { layer.addTo(map); }
    },
    // A changed polygon is simply drawn again (add_polygon replaces a layer with the same id).
    update_polygon: function (c) { commands.add_polygon(c); },
    remove_polygon: function (c) {
      var layer = polygons[c.id];
      if (layer) { map.removeLayer(layer); delete polygons[c.id]; }
    },
    clear_polygons: function () {
      Object.keys(polygons).forEach(function (id) { commands.remove_polygon({ id: id }); });
    },

    set_roi: function (c) {
      if (roiLayer) { map.removeLayer(roiLayer); roiLayer = null; }
      if (!c.geometry) { return; }
      roiLayer = layerFromGeometry(c.geometry,
        { color: "#ffd400", weight: 2, fill: false, dashArray: "8 6" });
      roiLayer.satsegId = "roi";
      watchEdits(roiLayer, "roi");
      roiLayer.addTo(map);
    },

    set_draw_style: function (c) {
      if (c.kind) { drawKind = c.kind; }
      if (c.color) { drawColor = c.color; }
      var opts = drawKind === "roi"
        ? { color: "#ffd400", fillOpacity: 0, dashArray: "8 6" }
        : polygonStyle(drawColor, "training");
      map.pm.setPathOptions(opts);
      map.pm.setGlobalOptions({ pathOptions: opts, templineStyle: { color: opts.color },
        hintlineStyle: { color: opts.color, dashArray: [5, 5] } });
      hint(c.hint || "");
    },
    start_draw: function (c) {
      if (c.kind) { commands.set_draw_style({ kind: c.kind, color: c.color, hint: c.hint }); }
      map.pm.enableDraw(c.shape || "Polygon");
    },
    stop_draw: function () { map.pm.disableDraw(); hint(""); },

    fit_bounds: function (c) { map.fitBounds(toBounds(c.bounds)); },

    // Legend: one row per class (colour and name); class names are user text, so textContent only.
    set_legend: function (c) {
      var box = legend.getContainer();
      while (box.firstChild) { box.removeChild(box.firstChild); }
      (c.items || []).forEach(function (it) {
        var row = L.DomUtil.create("div", "satseg-legend-row", box);
        var sw = L.DomUtil.create("span", "satseg-legend-swatch", row);
        sw.style.background = it.color;
        var name = L.DomUtil.create("span", "satseg-legend-name", row);
        name.textContent = it.name;
      });
      box.style.display = (c.items && c.items.length) ? "" : "none";
    },

    // Vector overlays of Python's tools (region-growing preview, validation points). Feature
    // properties may carry color; nothing in them is ever parsed as HTML.
    set_overlay: function (c) {
      commands.remove_overlay(c);
      var style = { color: c.color || "#ffffff", weight: c.weight || 2, opacity: 1,
                    fillOpacity: c.fill === undefined ? 0.3 : c.fill, dashArray: c.dash || null };
      var layer = L.geoJSON(c.geojson, {
        interactive: false,
        style: function (f) {
          var p = (f && f.properties) || {};
          var own = {};
          if (p.color) { own.color = p.color; own.fillColor = p.color; }
          if (p.fill) { own.fillColor = p.fill; }
          if (p.fill_opacity !== undefined) { own.fillOpacity = p.fill_opacity; }
          return Object.assign({}, style, own);
        },
        pointToLayer: function (f, latlng) {
          var p = (f && f.properties) || {};
          return L.circleMarker(latlng, Object.assign({}, style, {
            radius: p.radius || c.radius || 5, fillColor: p.fill || p.color || style.color,
            fillOpacity: p.fill_opacity === undefined ? 0.9 : p.fill_opacity, color: p.color || style.color }));
        }
      });
      layer.addTo(map);
      overlays[c.id] = layer;
    },
    remove_overlay: function (c) {
      if (overlays[c.id]) { map.removeLayer(overlays[c.id]); delete overlays[c.id]; }
    },
    set_pick_mode: function (c) {
      pickMode = !!c.on;
      map.getContainer().style.cursor = pickMode ? "crosshair" : "";
      hint(pickMode ? (c.hint || "") : "");
    },
    pan_by: function (c) { map.panBy([c.x, c.y], { animate: false }); },
    set_view: function (c) { map.setView([c.lat, c.lon], c.zoom || map.getZoom()); },

    set_offline_basemap: function (c) {
      if (offlineBasemap) { map.removeLayer(offlineBasemap); offlineBasemap = null; }
      if (!c.url) { return; }
      // Under the imagery (tile pane); zoomed past its deepest tiles, those are enlarged.
      // Hidden below the file's first level (scaling its tiles down would ask for thousands),
      // asked only inside the file's bounds when it says them.
      var opts = { minZoom: c.min_zoom, maxZoom: 22, maxNativeZoom: c.max_zoom, attribution: c.attribution || "" };
      if (c.bounds) { opts.bounds = L.latLngBounds([c.bounds[1], c.bounds[0]], [c.bounds[3], c.bounds[2]]); }
      offlineBasemap = L.tileLayer(c.url, opts);
      offlineBasemap.addTo(map);
    },
    set_basemap: function (c) {
      // The only network access the page ever makes, and only when the user asks.
      if (c.online && !basemap) {
        basemap = L.tileLayer(c.url || "https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
          maxZoom: 19, attribution: "&copy; OpenStreetMap contributors"
        }).addTo(map);
      } else if (!c.online && basemap) {
        map.removeLayer(basemap);
        basemap = null;
      }
    }
  };

  function dispatch(json) {
    var c;
    try {
      c = JSON.parse(json);
      if (!commands[c.type]) { throw new Error("unknown command " + c.type); }
      commands[c.type](c);
    } catch (err) {
      send("js_error", { message: String(err), command: c ? c.type : json.slice(0, 80) });
    }
  }

  // ---- test hooks --------------------------------------------------------------
  // Only when the embedding sets window.SATSEG_TEST_HOOKS before this script runs (MapView
  // does that for tests only, see map_view.py); the shipped page exposes nothing on window.

  // A read-only summary of what the map shows.
  function snapshot() {
    var out = { polygons: {}, masks: {}, image: null, roi: null, basemap: !!basemap, zoom: map.getZoom(),
                offlineBasemap: !!offlineBasemap };
    Object.keys(polygons).forEach(function (id) {
      var l = polygons[id];
      out.polygons[id] = { color: l.options.color, dashArray: l.options.dashArray || null,
                           role: l.satsegRole || null, geometry: geometryOf(l) };
    });
    Object.keys(masks).forEach(function (id) {
      var m = masks[id];
      var img = m.layer._image;
      var loaded = m.layer.isLoading ? (map.hasLayer(m.layer) && !m.layer.isLoading())   // tile layer
        : !!(img && img.complete && img.naturalWidth > 0);                               // one picture
      out.masks[id] = { opacity: m.layer.options.opacity, visible: m.visible && map.hasLayer(m.layer),
                        url: m.layer._url, loaded: loaded };
    });
    if (imageLayer) {
      out.image = { opacity: imageLayer.options.opacity, visible: map.hasLayer(imageLayer),
                    bounds: imageLayer.getBounds().toBBoxString() };
    }
    if (roiLayer) { out.roi = geometryOf(roiLayer); }
    out.overlays = {};
    Object.keys(overlays).forEach(function (id) { out.overlays[id] = overlays[id].toGeoJSON(); });
    out.pickMode = pickMode;
    return JSON.stringify(out);
  }

  // Tests simulate a user drawing: the layer goes through the same pm:create path.
  function simulateDraw(geometry, shape) {
    var layer = layerFromGeometry(geometry, polygonStyle(drawColor, "training"));
    layer.addTo(map);
    map.fire("pm:create", { layer: layer, shape: shape || "Polygon" });
  }

  // Tests open a polygon's popup as a click would, then click its buttons in the DOM.
  function showRolePopup(id) {
    var layer = polygons[id];
    if (!layer || !map.hasLayer(layer)) { return false; }
    layer.fire("click", { latlng: layer.getBounds().getCenter() });
    return !!document.querySelector(".satseg-role");
  }

  // ---- map -----------------------------------------------------------------
  function buildMap() {
    map = L.map("map", { zoomControl: true, preferCanvas: false, attributionControl: true })
      .setView([20, 78], 4);
    map.createPane("imagery").style.zIndex = 250;
    map.createPane("masks").style.zIndex = 350;
    L.control.scale({ imperial: false }).addTo(map);
    var Legend = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", "satseg-legend");
        div.style.display = "none";
        L.DomEvent.disableClickPropagation(div);
        return div;
      }
    });
    legend = new Legend({ position: "bottomright" }).addTo(map);

    map.pm.addControls({
      position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
      drawCircle: false, drawText: false, cutPolygon: false, rotateMode: false,
      drawPolygon: true, drawRectangle: true, editMode: true, dragMode: true, removalMode: true
    });
    // Python checks geometry too and explains; this just stops most mistakes while drawing.
    map.pm.setGlobalOptions({ allowSelfIntersection: false, snappable: true });

    map.on("pm:create", function (e) {
      var layer = e.layer;
      var geometry = geometryOf(layer);
      if (drawKind === "roi") {
        map.removeLayer(layer);
        commands.set_roi({ geometry: geometry });
        send("draw_created", { kind: "roi", id: "roi", shape: e.shape, geometry: geometry });
        return;
      }
      var id = "tmp-" + (nextTemp++);
      layer.satsegId = id;
      polygons[id] = layer;
      send("draw_created", { kind: "sample", id: id, shape: e.shape, geometry: geometry });
    });
    map.on("pm:remove", function (e) {
      var id = e.layer && e.layer.satsegId;
      if (!id) { return; }
      if (id === "roi") { roiLayer = null; send("draw_removed", { kind: "roi", id: id }); return; }
      delete polygons[id];
      send("draw_removed", { kind: "sample", id: id });
    });
    map.on("pm:drawend", function () { hint(""); });
    map.on("mousemove", function (e) {
      var now = Date.now();
      if (now - lastMove < 40) { return; }
      lastMove = now;
      send("cursor", { lat: e.latlng.lat, lon: e.latlng.lng });
    });
    map.on("mouseout", function () { send("cursor", {}); });
    map.on("click", function (e) {
      if (pickMode && !toolActive()) { send("map_click", { lat: e.latlng.lat, lon: e.latlng.lng }); }
    });
  }

  if (window.SATSEG_TEST_HOOKS === true) {
    window.satseg = { snapshot: snapshot, simulateDraw: simulateDraw, showRolePopup: showRolePopup,
                      click: function (lat, lon) { map.fire("click", { latlng: L.latLng(lat, lon) }); } };
  }

  function connect() {
    buildMap();
    if (typeof QWebChannel === "undefined" || typeof qt === "undefined") {
      // Opened in a plain browser: the map works, there is just nobody to talk to.
      return;
    }
    new QWebChannel(qt.webChannelTransport, function (channel) {
      bridge = channel.objects.bridge;
      bridge.command.connect(dispatch);
      send("ready", { leaflet: L.version });
    });
  }

  window.addEventListener("error", function (e) {
    send("js_error", { message: String(e.message), source: e.filename, line: e.lineno });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
