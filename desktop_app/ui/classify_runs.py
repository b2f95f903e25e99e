"""Running a classification and re-deciding it when the thresholds change.

Mixed into MainWindow. A run trains and predicts on a worker; a threshold change
predicts again with the fitted classifier (no refit) and redraws only the masks
that changed. What a result looks like on the map is result_layers.py.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from . import pipeline
from .layers_panel import mask_layer_id


class ClassifyRunsMixin:
    """Mixed into MainWindow; uses its panels, model, runner and document."""

    def _on_classifier_bands(self, bands: list) -> None:
        self.model_panel.set_band_count(len(bands))   # threshold starting values depend on it
        if self.result is not None:
            self.model_panel.hint.setText("Classifier bands changed: press Run to train again.")

    def _run_problem(self) -> Optional[str]:
        if self.doc is None:
            return "Open an image first (File ▸ Open image or the demo scene)."
        trained = [c for c in self.model.classes() if self.model.polygon_count(c.id, "training")]
        if len(trained) < 2:
            have = f" (only '{trained[0].name}' has polygons)" if trained else ""
            return ("Classification needs training polygons for at least two classes" + have +
                    ". Add a class and draw its polygons.")
        if not self.bands_panel.classifier_bands():
            return "Check at least one band for the classifier in the Bands panel."
        return None

    def _request(self) -> pipeline.RunRequest:
        return pipeline.RunRequest(self.doc, self.model.to_sample_set(), self.bands_panel.classifier_bands(),
                                   self.model_panel.method(), self.model_panel.options(),
                                   self.model_panel.thresholds())

    def run_classification(self) -> None:
        if self.ee_choice.isChecked():
            from .ee_classify_box import run_on_earth_engine

            run_on_earth_engine(self)
            return
        problem = self._run_problem()
        if problem:
            self.notify(problem, "warning")
            self.classification_finished.emit("failed")
            return
        req = self._request()
        self._rethreshold_pending = False
        self.runner.cancel("predict")
        self.model_panel.set_running(True)
        self.runner.start("classify", lambda job: pipeline.run(req, job), label="Classifying",
                          on_done=self._show_result, on_error=self._run_failed)

    def rethreshold(self) -> None:
        """Thresholds changed: predict again with the fitted classifier (no refit)."""
        res = self.result
        if res is None or res.request.method != self.model_panel.method():
            return
        if res.classifier is None:
            # A result reopened from a project has no fitted classifier: train once on the
            # samples, so a threshold change re-decides the map as it does before a save.
            if self.model_panel.thresholds() != res.request.thresholds and not self.runner.busy("classify"):
                self.run_classification()
            return
        if self.runner.busy("classify"):
            self._rethreshold_pending = True  # the running fit picks them up when it ends
            return
        req = replace(res.request, thresholds=self.model_panel.thresholds())
        fitted, cache, shown = (res.training, res.classifier), res.score_cache, res.overlays
        self.runner.start("predict", lambda job: pipeline.run(req, job, fitted=fitted, cache=cache, previous=shown),
                          label="Applying thresholds",
                          on_done=self._show_result, on_error=self._run_failed)

    def _run_failed(self, msg: str) -> None:
        self.notify(f"Classification failed: {msg}", "error")

    def clear_result(self) -> None:
        self.document.set_result(None)   # the panels follow through the document (_on_document_changed)
        self.map.bridge.send("clear_masks")
        self.map.scheme_handler.drop_tiles(prefix="mask-")   # a big image's mask tiles (and its class array)

    def _show_result(self, res: pipeline.RunResult) -> None:
        if self._closed or self.doc is None or res.request.doc is not self.doc:
            return  # the image changed (or the window closed) while this ran
        before = self.result
        shown = None if res.refit or before is None else before.overlays
        if shown is not None and not pipeline.uses_tiles(res.request.doc):
            # A threshold change: the map first (only the masks that changed), then the
            # panels and tables; a layer row the result adds (Unclassified) gets its mask after.
            had = set(self.layers_panel.rows)
            self._send_masks(res.overlays, shown)
            self.document.set_result(res)
            self._send_masks({c: o for c, o in res.overlays.items() if mask_layer_id(c) not in had})
        else:
            self.document.set_result(res)    # unsaved work; the panels follow through the document
            self._send_masks(res.overlays)   # after the observer made the layer rows the masks are drawn into
        if res.refit:
            self.model.set_pixel_counts(res.pixels_per_class)
            suggest = getattr(res.classifier, "default_threshold", None)
            if suggest is not None:
                values = {c.name: suggest(c.id) for c in res.classes}
                self.model_panel.set_suggested_thresholds({k: v for k, v in values.items() if v is not None})
        for w in res.warnings:
            self.notify(w, "info")
        unclassified = res.areas.unclassified.pixels
        if res.classifier is not None:
            # A saved model applied is not refitted either, but for the user it is a classification.
            rethresholded = not res.refit and before is not None and before.classifier is res.classifier
            self.status.showMessage(
                f"{'Thresholds applied' if rethresholded else 'Classified'} in {res.seconds:.1f} s "
                f"({res.classifier.label}); unclassified pixels: {unclassified:,}", 15000)
