"""Exports of the last result from the Results panel, run as jobs (GeoJSON, KML, GeoTIFF, CSV)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..core.errors import SatSegError
from .export_dialog import ExportDialog, ExportOptions, suggested_name


class ExportsMixin:
    """Mixed into MainWindow; writes ``self.result`` off the UI thread."""

    def export_dialog(self, kind: str) -> None:
        if self.result is None:
            self.notify("Run a classification first; there is nothing to export yet.", "warning")
            return
        opts = self._ask_export_options(kind)
        if opts is not None:
            self.export_result(kind, opts.path, opts)

    def _ask_export_options(self, kind: str) -> Optional[ExportOptions]:
        """The dialog (a seam tests replace): a name from image and method, in the image's folder."""
        doc = self.result.request.doc
        folder = Path(doc.path).parent if getattr(doc, "path", None) else Path.home()
        dialog = ExportDialog(kind, str(folder / suggested_name(kind, doc.title, self.result.request.method)), self)
        return dialog.options() if dialog.exec() == ExportDialog.DialogCode.Accepted else None

    def export_result(self, kind: str, path: str, opts: Optional[ExportOptions] = None) -> None:
        """Write the last result (off the UI thread, with progress and Cancel); a message says where it went."""
        opts = opts or ExportOptions(path)
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
            from ..core.analysis.postprocess import sieve
            from ..core.areas import class_areas

            doc = res.request.doc
            array = res.class_array
            if opts.min_area > 1:   # the same clean-up as `satseg export --min-area` (raster, areas, polygons)
                job.step(0.02, "removing small patches")
                array = sieve(array, opts.min_area, opts.small)
            if kind == "geotiff":
                export_raster.export_class_geotiff(path, array, doc.transform, doc.crs, res.classes, job=job)
            elif kind == "csv":
                areas = res.areas if array is res.class_array else class_areas(array, doc.transform, doc.crs,
                                                                               res.classes, job=job.sub(0.1, 0.9))
                report.write_area_csv(areas, path)
            elif kind in ("geojson", "kml"):
                feats = vectorize.vectorize_classes(array, doc.transform, doc.crs, res.classes,
                                                    simplify_m=opts.simplify_m, per_patch=opts.per_patch,
                                                    job=job.sub(0.05, 0.8))
                if kind == "geojson":
                    export_vector.write_geojson(feats, doc.crs, path, job=job.sub(0.8, 1.0))
                else:
                    export_vector.write_kml(feats, doc.crs, path, opacity=opts.kml_opacity, job=job.sub(0.8, 1.0))
            else:
                raise SatSegError(f"unknown export kind '{kind}'")
            return path

        self.runner.start("export", work, label=f"Exporting {kind}",
                          on_done=lambda p: self.notify(f"Exported {kind} to {p}", "info"),
                          on_error=lambda msg: self.notify(f"Export failed: {msg}", "error"))
