"""Tools panel box: unsupervised start with k-means clusters, then name them as classes.

"Cluster" shows K clusters as the result (MiniBatch k-means, docs/analysis.md "Clusters").
Typing a class name next to each cluster and pressing "Make classes" renames them; clusters
given the same name merge; the names become classes of the sample list. "Add samples" puts a
small training polygon (≤ 15 px around an inner point) in the largest patches of each class.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from .classes_panel import swatch

SAMPLE_RADIUS_PX = 15
PATCHES_PER_CLASS = 3


def cluster_result(doc, samples, k: int, seed: int, bands, job=None):
    """A RunResult whose classes are the K clusters (worker thread)."""
    from ..core.analysis.clusters import cluster_raster
    from ..core.areas import class_areas
    from ..core.display import mask_overlays
    from . import pipeline

    with doc.worker_image() as image:
        if doc.raster is not None:
            labels, classes, _centres, names = cluster_raster(image, k, bands or None, seed=seed, job=job)
        else:
            # A big image: clustered block by block into a class raster, then read back (uint8).
            import tempfile
            from pathlib import Path

            from ..core.analysis.clusters import cluster_image
            from ..core.classes import read_class_raster

            with tempfile.TemporaryDirectory(prefix="satseg-clusters-") as tmp:
                summary = cluster_image(image, k, Path(tmp) / "clusters.tif", bands=bands or None, seed=seed, job=job)
                labels, _, _, classes = read_class_raster(Path(tmp) / "clusters.tif")
            names = summary["bands"]
    req = pipeline.RunRequest(doc, samples, names, "kmeans", {"k": k, "seed": seed}, None)
    overlays = mask_overlays(labels, doc.transform, doc.crs, classes, max_size=pipeline.DISPLAY_MAX)
    areas = class_areas(labels, doc.transform, doc.crs, classes)
    return pipeline.RunResult(req, None, labels, classes, overlays, areas, None, {}, refit=False)


def seed_polygons(array, transform, crs, class_id: int, n: int = PATCHES_PER_CLASS, radius_px: int = SAMPLE_RADIUS_PX):
    """Small WGS84 polygons inside the ``n`` largest patches of ``class_id``."""
    import shapely
    from rasterio import features

    from ..core.geo import WGS84, transform_geometry

    mask = (array == class_id)
    if not mask.any():
        return []
    polys = [shapely.geometry.shape(g) for g, v in features.shapes(mask.astype(np.uint8), mask=mask,
                                                                   transform=transform, connectivity=4) if v]
    polys.sort(key=lambda p: p.area, reverse=True)
    r = radius_px * abs(transform.a)
    out = []
    for p in polys[:n]:
        inner = p.intersection(p.representative_point().buffer(r))
        if inner.area >= 9 * abs(transform.a * transform.e):     # at least ~9 pixels
            out.append(shapely.geometry.mapping(transform_geometry(inner, crs, WGS84)))
    return out


class ClustersBox(QGroupBox):
    def __init__(self, window, parent=None) -> None:
        super().__init__("Unsupervised start: k-means clusters", parent)
        self.window = window
        self.result = None
        self.k = QSpinBox()
        self.k.setRange(2, 30)
        self.k.setValue(6)
        self.k.setPrefix("K = ")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setPrefix("seed ")
        self.run_btn = QPushButton("Cluster")
        self.run_btn.setToolTip("MiniBatch k-means on a pixel sample (classifier bands), then every pixel")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Cluster", "Pixels", "Class name"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(120)
        self.table.horizontalHeaderItem(2).setToolTip("Type a class name; clusters with the same name merge")
        self.apply_btn = QPushButton("Make classes")
        self.apply_btn.setToolTip("Rename the clusters; the same name merges clusters; names become classes")
        self.samples_btn = QPushButton("Add samples")
        self.samples_btn.setToolTip(f"A training polygon in each of the {PATCHES_PER_CLASS} largest patches per class")
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.k)
        row.addWidget(self.seed)
        row.addWidget(self.run_btn)
        row2 = QHBoxLayout()
        row2.addWidget(self.apply_btn)
        row2.addWidget(self.samples_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.table)
        lay.addLayout(row2)
        lay.addWidget(self.info)
        self.run_btn.clicked.connect(self.run)
        self.apply_btn.clicked.connect(self.make_classes)
        self.samples_btn.clicked.connect(self.add_samples)
        self._update()

    def _update(self) -> None:
        self.apply_btn.setEnabled(self.result is not None)
        self.samples_btn.setEnabled(self.window.result is not None and self.window.result.request.method != "kmeans")

    def run(self) -> None:
        w = self.window
        if w.doc is None:
            return
        doc, samples = w.doc, w.model.to_sample_set()
        bands, k, seed = w.bands_panel.classifier_bands(), self.k.value(), self.seed.value()

        def done(res) -> None:
            self.result = res
            w._show_result(res)
            # The map legend lists the sample classes; while clusters are shown it lists the clusters.
            w.map.bridge.send("set_legend", items=[{"name": c.name, "color": c.color} for c in res.classes])
            self._fill(res)
            self.info.setText(f"{k} clusters on {len(res.request.bands)} bands. Name them, then Make classes.")
            self._update()

        w.runner.start("classify", lambda job: cluster_result(doc, samples, k, seed, bands, job),
                       label="Clustering", on_done=done,
                       on_error=lambda msg: w.notify(f"Clustering failed: {msg}", "error"))

    def _fill(self, res) -> None:
        rows = res.areas.rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            c = QTableWidgetItem(r.class_name)
            c.setIcon(swatch(r.color))
            c.setFlags(Qt.ItemFlag.ItemIsEnabled)
            px = QTableWidgetItem(f"{r.pixels:,}")
            px.setFlags(Qt.ItemFlag.ItemIsEnabled)
            px.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, 0, c)
            self.table.setItem(i, 1, px)
            self.table.setItem(i, 2, QTableWidgetItem(r.class_name))

    def names(self) -> dict[int, str]:
        return {c.id: (self.table.item(i, 2).text() if self.table.item(i, 2) else c.name).strip()
                for i, c in enumerate(self.result.classes)}

    def make_classes(self) -> None:
        """Clusters -> classes of the sample list; the shown map uses the classes' ids and colours."""
        from ..core.analysis.clusters import relabel
        from ..core.areas import class_areas
        from ..core.display import mask_overlays
        from . import pipeline

        res, w = self.result, self.window
        if res is None:
            return
        names = self.names()
        merged, new_classes = relabel(res.class_array, res.classes, names)
        model = w.model
        lut = np.arange(256, dtype=np.uint8)
        for c in new_classes:
            existing = model.class_by_name(c.name)
            cid = existing.id if existing else model.add_class(c.name, c.color)
            lut[c.id] = cid
        array = lut[merged]
        classes = [model.class_info(int(lut[c.id])) for c in new_classes]
        doc = res.request.doc
        out = replace(res, class_array=array, classes=classes,
                      overlays=mask_overlays(array, doc.transform, doc.crs, classes, max_size=pipeline.DISPLAY_MAX),
                      areas=class_areas(array, doc.transform, doc.crs, classes),
                      request=replace(res.request, method="clusters", samples=model.to_sample_set()))
        w._show_result(out)
        w._send_legend()
        self.info.setText(f"{len(res.classes)} clusters → {len(classes)} classes: "
                          + ", ".join(c.name for c in classes) + ". Add samples, or export the map.")
        self._update()

    def add_samples(self) -> None:
        res, w = self.window.result, self.window
        if res is None:
            return
        doc = res.request.doc
        added = 0
        for c in res.classes:
            for geom in seed_polygons(res.class_array, doc.transform, doc.crs, c.id):
                if w.model.add_polygon(geom, class_id=c.id, role="training"):
                    added += 1
        self.info.setText(f"{added} training polygons added (Ctrl+Z undoes each). Check them, then Run.")
