"""The document's result on screen: class masks (pictures or tiles), the legend, the Results tables.

Mixed into MainWindow; classify_runs.py makes the results, this module shows them.
"""
from __future__ import annotations

from typing import Optional

from ..core.display import UNCLASSIFIED_COLOR
from . import pipeline
from .layers_panel import mask_layer_id

# A threshold change shows the new masks first; the area and accuracy tables follow this much later
# (the page fetches the masks through the UI thread, docs/performance.md).
TABLES_DELAY_MS = 120


class ResultLayersMixin:
    """Mixed into MainWindow; uses its map, layers and results panels and ``_tables_timer``."""

    def legend_items(self) -> list[dict]:
        """The map legend: every class colour, and 'Unclassified' when the result has such pixels."""
        items = [{"name": c.name, "color": c.color} for c in self.model.classes()]
        if self.result is not None and self.result.areas.unclassified.pixels > 0:
            items.append({"name": "Unclassified", "color": UNCLASSIFIED_COLOR})
        return items

    def _send_legend(self) -> None:
        self._legend_shown = self.legend_items()
        self.map.bridge.send("set_legend", items=self._legend_shown)

    def _send_masks(self, overlays: dict, shown: Optional[dict] = None) -> None:
        res = self.result
        if res is not None and pipeline.uses_tiles(res.request.doc):
            self._send_mask_tiles(res)
            return
        for cid, ov in overlays.items():
            lid = mask_layer_id(cid)
            if lid not in self.layers_panel.rows:
                continue   # e.g. 'Unclassified' when no pixel is: no layer, nothing to draw
            if shown is not None and getattr(shown.get(cid), "png", None) is ov.png:
                continue   # a threshold change left this class's mask as it was: the map keeps it
            url = self._write_overlay(lid, ov.png)
            self.map.bridge.send("set_mask", id=lid, url=url, bounds=[list(ov.bounds[0]), list(ov.bounds[1])],
                                 opacity=self.layers_panel.opacity(lid), visible=self.layers_panel.visible(lid))

    def _send_mask_tiles(self, res) -> None:
        """Big images: each class mask as full-resolution tiles drawn on demand (docs/performance.md)."""
        from ..core.scale.tiles import ClassTiles, native_zoom

        doc = res.request.doc
        tiles = ClassTiles(res.class_array, doc.transform, doc.crs)
        zoom = native_zoom(doc.transform, doc.crs, doc.width, doc.height)
        items = [(c.id, c.color) for c in res.classes] + [(0, UNCLASSIFIED_COLOR)]
        for cid, color in items:
            lid = mask_layer_id(cid)
            if lid not in self.layers_panel.rows:
                continue
            url = self.map.publish_tiles(lid, tiles.layer(cid, color))
            self.map.bridge.send("set_mask", id=lid, url=url, bounds=self._last_image_bounds, tiles=True,
                                 max_native_zoom=zoom, opacity=self.layers_panel.opacity(lid),
                                 visible=self.layers_panel.visible(lid))

    def _recolor_masks(self) -> None:
        """A class got a new colour: redraw the masks from the stored class array (no re-run)."""
        res = self.result
        by_id = {c.id: c for c in self.model.classes()}
        classes = [by_id.get(c.id, c) for c in res.classes]
        if [c.color for c in classes] == [c.color for c in res.classes] and \
                [c.name for c in classes] == [c.name for c in res.classes]:
            return
        res.classes = classes

        def done(overlays) -> None:
            if self.result is res:
                self.layers_panel.set_masks(classes, unclassified=res.areas.unclassified.pixels > 0)
                self._send_masks(overlays)

        self.runner.start("recolor", lambda job: pipeline.recolor_overlays(res, classes), label="Redrawing masks",
                          on_done=done)

    def _show_result_panels(self) -> None:
        """Layers, legend and Results panel describe the document's result (none: cleared)."""
        res = self.result
        if res is None:
            self.layers_panel.clear_masks()
        else:
            self.layers_panel.set_masks(res.classes, unclassified=res.areas.unclassified.pixels > 0)
        if self.legend_items() != self._legend_shown:
            self._send_legend()
        if self.results_panel is None:
            return
        self.results_panel.set_export_enabled(res is not None)
        if res is not None and not res.refit:
            # A threshold change: the tables follow a moment later, so the page's requests
            # for the new masks are not kept waiting on the UI thread (docs/performance.md).
            self._tables_timer.start()
        else:
            self._fill_result_tables()

    def _fill_result_tables(self) -> None:
        self._tables_timer.stop()
        res = self.result
        self.results_panel.show_areas(None if res is None else res.areas)
        self.results_panel.show_accuracy(None if res is None else res.accuracy)
