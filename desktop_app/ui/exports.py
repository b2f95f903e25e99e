"""Exports of the last result from the Results panel, run as jobs (GeoJSON, KML, GeoTIFF, CSV)."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from ..core.errors import SatSegError

FILTERS = {"geojson": "GeoJSON (*.geojson)", "kml": "KML (*.kml)", "geotiff": "GeoTIFF (*.tif)", "csv": "CSV (*.csv)"}


class ExportsMixin:
    """Mixed into MainWindow; writes ``self.result`` off the UI thread."""

    def export_dialog(self, kind: str) -> None:
        if self.result is None:
            self.notify("Run a classification first; there is nothing to export yet.", "warning")
            return
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind}", "", FILTERS.get(kind, ""))
        if path:
            self.export_result(kind, path)

    def export_result(self, kind: str, path: str) -> None:
        """Write the last result (off the UI thread); a message says where it went."""
        res = self.result
        if res is None:
            self.notify("Run a classification first; there is nothing to export yet.", "warning")
            return
        from ..core.atomic import check_writable

        try:
            check_writable(path)   # before any work: a folder or a read-only place is refused at once
        except SatSegError as exc:
            self.notify(f"Export failed: {exc}", "error")
            return

        def work(job):
            from ..core import export_raster, export_vector, report, vectorize

            if kind == "geotiff":
                export_raster.export_class_geotiff(path, res.class_array, res.request.doc.transform,
                                                   res.request.doc.crs, res.classes, job=job)
            elif kind == "csv":
                report.write_area_csv(res.areas, path)
            elif kind in ("geojson", "kml"):
                feats = vectorize.vectorize_classes(res.class_array, res.request.doc.transform, res.request.doc.crs,
                                                    res.classes, job=job.sub(0, 0.8))
                writer = export_vector.write_geojson if kind == "geojson" else export_vector.write_kml
                writer(feats, res.request.doc.crs, path, job=job.sub(0.8, 1.0))
            else:
                raise SatSegError(f"unknown export kind '{kind}'")
            return path

        self.runner.start("export", work, label=f"Exporting {kind}",
                          on_done=lambda p: self.notify(f"Exported {kind} to {p}", "info"),
                          on_error=lambda msg: self.notify(f"Export failed: {msg}", "error"))
