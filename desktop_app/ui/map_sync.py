"""The window's side of the map: drawings into the sample model, the model onto the map.

The page never owns samples: a drawn polygon comes in with a temporary id, is
checked against the image footprint, goes into the :class:`SampleModel`, and
the model's signals draw it back with its real id and class colour (so
undo/redo and imports show up the same way). Also the ROI and the cursor
read-out in the status bar.
"""
from __future__ import annotations

from typing import Optional

import shapely

from ..core.display import pixel_at
from ..core.errors import SatSegError
from ..core.geo import WGS84, transform_geometry, transform_points


class MapSyncMixin:
    """Mixed into MainWindow; uses its map, model, panels and status bar."""

    _last_image_bounds = None

    def _on_map_ready(self) -> None:
        self._send_draw_style()

    def _send_draw_style(self, announce: bool = False) -> None:
        """The colour new sample polygons get on the map; ``announce``: also name class and role."""
        info = self.model.class_info(self.model.current_class())
        self.map.bridge.send("set_draw_style", kind="sample", color=info.color if info else "#888888", hint="")
        if info and announce:
            self.status.showMessage(f"Drawing {self.classes_panel.drawing_role()} polygons for '{info.name}'", 5000)

    def _on_classes_changed(self) -> None:
        classes = self.model.classes()
        self.model_panel.set_classes(classes)
        self._send_draw_style()
        self._send_legend()
        if self.result is not None:
            self._recolor_masks()


    def _send_polygon(self, pid: str) -> None:
        if self.model.polygon(pid) is None:
            return
        feat = self.model.polygon_feature(pid)
        p = feat["properties"]
        self.map.bridge.send("add_polygon", id=pid, geometry=feat["geometry"], color=p["color"], role=p["role"],
                             class_name=p["class"], label=f"{p['class']} ({p['role']})")

    def _on_role_requested(self, ev: dict) -> None:
        """Training/Validation picked in a polygon's popup: an undoable model edit.

        The model's polygon_changed redraws the polygon (solid or dashed) through
        _send_polygon, so the page never restyles on its own.
        """
        pid, role = ev.get("id"), ev.get("role")
        if self.model.polygon(pid) is None:
            return
        if self.model.set_role(pid, role):
            self.status.showMessage(f"Polygon marked as {role}.", 4000)
        else:
            self.notify(f"Unknown polygon role '{role}' (use training or validation).", "warning")

    def start_draw(self, shape: str, kind: str) -> None:
        if kind == "sample" and self.model.class_info(self.model.current_class()) is None:
            self.notify("Add a class in 'Classes & samples' first, then draw its polygons.", "warning")
            return
        info = self.model.class_info(self.model.current_class())
        hint = ("Click to place corners; click the first point to finish" if shape == "Polygon"
                else "Drag a rectangle")
        self.map.bridge.send("start_draw", shape=shape, kind=kind,
                             color=info.color if (info and kind == "sample") else None,
                             hint=f"{'ROI' if kind == 'roi' else info.name}: {hint}")

    def _footprint_wgs84(self):
        if self._footprint is None and self.doc is not None:
            from rasterio.transform import array_bounds

            box = shapely.box(*array_bounds(self.doc.height, self.doc.width, self.doc.transform))
            self._footprint = transform_geometry(shapely.segmentize(box, box.length / 80),
                                                 self.doc.crs, WGS84)
        return self._footprint

    def polygons_outside_image(self, pids) -> int:
        """How many of these sample polygons miss the open image entirely (0 when no image is open)."""
        foot = self._footprint_wgs84()
        if foot is None:
            return 0
        geoms = [self.model.polygon(pid).geometry for pid in pids if self.model.polygon(pid) is not None]
        return int((~shapely.intersects(foot, geoms)).sum()) if geoms else 0

    def _check_inside_image(self, geometry: dict, what: str) -> bool:
        """False (with a message) when a drawn polygon misses the image entirely."""
        foot = self._footprint_wgs84()
        if foot is None:
            return True
        try:
            geom = shapely.geometry.shape(geometry)
        except Exception:
            return True  # the sample model explains malformed geometry
        if not geom.intersects(foot):
            self.notify(f"The {what} lies outside the image, so it has no pixels to learn from; it was not "
                        "added. Draw it over the image.", "warning")
            return False
        if not geom.buffer(0).within(foot):
            self.notify(f"Part of the {what} lies outside the image; only the part inside is used.", "info")
        return True

    def _on_draw_created(self, ev: dict) -> None:
        if ev.get("kind") == "roi":
            self.set_roi(ev.get("geometry"), send=False)
            self._send_draw_style()
            return
        tmp = ev.get("id")
        # The map mirrors the model: drop the page's temporary layer; the model adds the real one.
        self.map.bridge.send("remove_polygon", id=tmp)
        if not self._check_inside_image(ev["geometry"], "new polygon"):
            return
        self.model.add_polygon(ev["geometry"], role=self.classes_panel.drawing_role())

    def _on_draw_edited(self, ev: dict) -> None:
        if ev.get("kind") == "roi":
            self.set_roi(ev.get("geometry"), send=False)
            return
        pid = ev.get("id")
        if self.model.polygon(pid) is None:
            return
        if not self._check_inside_image(ev["geometry"], "edited polygon"):
            self._send_polygon(pid)  # put the stored shape back
            return
        self.model.edit_polygon(pid, ev["geometry"])

    def _on_draw_removed(self, ev: dict) -> None:
        if ev.get("kind") == "roi":
            self.set_roi(None, send=False)
        elif self.model.polygon(ev.get("id")) is not None:
            self.model.delete_polygon(ev["id"])

    def set_roi(self, geometry: Optional[dict], send: bool = True) -> None:
        self.document.set_roi(geometry)   # the Imagery panel follows through the document (_show_roi)
        if send:
            self.map.bridge.send("set_roi", geometry=geometry)

    def _show_roi(self) -> None:
        geometry, desc = self.document.roi, None
        if geometry:
            from ..core.areas import geodesic_area

            desc = f"ROI: {geodesic_area(shapely.geometry.shape(geometry)) / 1e6:.2f} km²"
        self.imagery_panel.set_roi(desc)

    def _on_cursor(self, pos) -> None:
        if pos is None:
            self.status.show_cursor(None, None)
            self.status.show_values(None, None)
            return
        lon, lat = pos
        if self.doc is None:
            self.status.show_cursor(lon, lat)
            return
        x, y = transform_points([lon], [lat], WGS84, self.doc.crs)
        epsg = self.doc.crs.to_epsg()
        self.status.show_cursor(lon, lat, f"EPSG:{epsg}" if epsg else "raster CRS", float(x[0]), float(y[0]))
        rc = pixel_at(self.doc.transform, self.doc.crs, self.doc.width, self.doc.height, lon, lat)
        if rc is None:
            self.status.show_values(None, None)
            return
        try:
            values = self.doc.pixel_values(*rc)
        except SatSegError:
            values = None
        extra = self._class_under(rc)
        if values is None:
            self.status.values.setText(f"px {rc[0]},{rc[1]}  nodata")
            return
        names = self.bands_panel.display_bands() or self.doc.band_names[:3]
        idx = [self.doc.band_names.index(n) for n in names if n in self.doc.band_names]
        self.status.show_values(rc[0], rc[1], [self.doc.band_names[i] for i in idx], [float(values[i]) for i in idx],
                                extra)

    def _class_under(self, rc) -> str:
        if self.result is None or self.result.class_array.shape != (self.doc.height, self.doc.width):
            return ""
        v = int(self.result.class_array[rc])
        if v == 0:
            return "→ unclassified"
        for c in self.result.classes:
            if c.id == v:
                return f"→ {c.name}"
        return ""

    def _on_basemap(self, on: bool) -> None:
        self.act_basemap.setChecked(on)
        self.map.set_online_basemap(on)

    def zoom_to_image(self) -> None:
        if self._last_image_bounds is not None:
            self.map.bridge.send("fit_bounds", bounds=self._last_image_bounds)
