"""The SAM-2 stage in the window: runs the panel's requests on the task runner (progress, Cancel),
shows SAM results as the window's result (masks, layers, areas, exports like the classifier's) and
keeps the SAM state in the document, so a project saves and restores it. Rules: docs/sam.md.
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.document import SAM
from .sam_panel import SamPanel

# Triton (torch's GPU kernel compiler; the app never compiles models) brings its own LLVM. Loaded
# after QtWebEngine has started it crashes the process (segfault in libtriton, seen when torch.optim
# imports torch._dynamo). torch runs without it, so the app hides it before any SAM work.
sys.modules.setdefault("triton", None)

DEMO_ENV = "SATSEG_SAM_RANDOM_INIT"   # "1": offer random weights (demonstrations, screenshots)


def image_id(doc) -> str:
    """Feature-cache identity of the open image: its files, or the bytes of an in-memory image."""
    from ..core.sam.features import image_identity

    if doc.raster is None and doc.path:
        return image_identity(doc.path)
    h = hashlib.sha256(str(doc.raster.shape).encode())
    h.update(memoryview(doc.raster.data).cast("B"))
    return h.hexdigest()


def as_result(req, array, classes, kind: str, original=None):
    """A RunResult showing a SAM class array (worker thread): masks, areas, validation accuracy."""
    from ..core.areas import class_areas
    from ..core.display import mask_overlays
    from . import pipeline

    doc = req.doc
    overlays = mask_overlays(array, doc.transform, doc.crs, classes, max_size=pipeline.DISPLAY_MAX)
    areas = class_areas(array, doc.transform, doc.crs, classes)
    accuracy = pipeline.validation_accuracy(req, array, classes)
    res = pipeline.RunResult(req, None, array, list(classes), overlays, areas, accuracy, {}, refit=False)
    res.original = original          # the classifier's result (Clean map's Restore and SAM's "Classifier")
    res.sam_kind = kind
    return res


class SamTools:
    def __init__(self, window) -> None:
        self.window = window
        self.panel = SamPanel()
        window.add_panel("dock_sam", "SAM-2", self.panel,
                         "Refine the mask with SAM-2, fine-tune on it, segment new scenes without samples")
        self.results: dict = {}        # kind -> RunResult shown for it (classifier, refined, segmented)
        self.device = "cpu"
        p = self.panel
        p.import_requested.connect(self.import_model)
        p.remove_requested.connect(self.remove_model)
        p.refine_requested.connect(self.refine)
        p.finetune_requested.connect(self.finetune)
        p.segment_requested.connect(self.segment)
        p.choose_model_dir_requested.connect(self.choose_model_dir)
        p.show_requested.connect(self.show)
        p.settings_changed.connect(self._store_settings)
        window.image_loaded.connect(self._new_image)
        window.classification_finished.connect(lambda _o: self._context())
        window.document.observe(self._on_document)
        # SAM buttons wait while a SAM task runs (other kinds of work do not block them)
        window.runner.task_started.connect(lambda *_a: self.panel.set_busy(window.runner.busy("sam")))
        window.runner.task_finished.connect(lambda *_a: self.panel.set_busy(window.runner.busy("sam")))
        self.refresh_models()
        # Asking torch for CUDA imports it (seconds): done on a worker, never while the window opens.
        window.runner.start("sam-device", lambda job: _device(), label="Checking for a GPU", on_done=self._device)

    # ------------------------------------------------------------ models
    def refresh_models(self) -> None:
        from ..core.sam.models import HOW_TO_GET, list_models

        names = [m.name for m in list_models()]
        demo = os.environ.get(DEMO_ENV) == "1"
        hint = "" if names else ("No SAM-2 model is installed. " + HOW_TO_GET)
        if not names and demo:
            hint += " (Random weights are offered for a demonstration only.)"
        s = self.window.document.sam
        self.panel.set_models(names, self.device, hint, demo, "__random_init__" if s.random_init else s.model)
        self._context()

    def _device(self, device: str) -> None:
        self.device = device
        self.panel.device_label.setText(device.upper() if device == "cpu" else f"{device.upper()} (GPU)")

    def import_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import a SAM-2 checkpoint", "",
                                              "PyTorch checkpoints (*.pt *.pth);;All files (*)")
        if not path:
            return
        from ..core.sam.models import import_checkpoint

        def done(info) -> None:
            self.refresh_models()
            self.window.notify(f"Imported {info.name}: SAM-2 {info.version} {info.size}", "info")

        self.window.runner.start("sam", lambda job: import_checkpoint(path, None, job), label="Importing SAM-2",
                                 on_done=done, on_error=lambda m: self.window.notify(m, "error"))

    def remove_model(self, name: str) -> None:
        if not name:
            return
        if not self.window.quiet and QMessageBox.question(
                self.window, "Remove model", f"Remove the SAM-2 model '{name}' from this computer?") \
                != QMessageBox.StandardButton.Yes:
            return
        from ..core.sam.models import remove_model

        remove_model(name)
        self.refresh_models()

    # ------------------------------------------------------------ context and state
    def classifier_result(self):
        """The classifier's result, also while a SAM result is shown; None when there is none."""
        res = self.window.result
        if getattr(res, "sam_kind", None) is not None:
            return res.original
        return res

    def _context(self) -> None:
        res = self.classifier_result()
        self.panel.set_context(self.window.doc is not None, res is not None and getattr(res, "sam_kind", None) is None)

    def _new_image(self) -> None:
        self.results.clear()
        self.panel.refine_info.setText("")
        self.panel.set_available("refined", False)
        self.panel.set_available("segmented", False)
        self.panel.set_shown("classifier")
        self.panel.show_scores(None)
        self._context()

    def _store_settings(self) -> None:
        s = self.window.document.sam
        self.window.document.set_sam(replace(s, **self.panel.settings()))

    def _update_state(self, **changes) -> None:
        self.window.document.set_sam(replace(self.window.document.sam, **changes))

    def _on_document(self, what: str) -> None:
        if what != SAM:
            return
        s = self.window.document.sam
        self.panel.apply_settings(s)
        self.panel.set_available("refined", bool(s.refined and Path(s.refined).is_file()))
        self.panel.set_available("segmented", bool(s.segmented and Path(s.segmented).is_file()))
        self.panel.show_scores(s.scores)
        if s.losses and not self.panel._loss:
            self.panel.show_losses(s.losses)

    def results_dir(self) -> Path:
        from ..core import paths

        folder = self.window.document.project_folder
        out = (folder / "results" / "sam") if folder else paths.data_home() / "sam-results"
        out.mkdir(parents=True, exist_ok=True)
        return out

    def _problem(self) -> Optional[str]:
        if self.window.doc is None:
            return "Open an image first."
        if self.classifier_result() is None:
            return "Run the classifier first: SAM-2 refines its mask."
        return None

    # ------------------------------------------------------------ work
    def refine(self) -> None:
        problem = self._problem()
        if problem:
            self.window.notify(problem, "info")
            return
        from ..core.sam.refine import refine_image

        w, res, st = self.window, self.classifier_result(), self.panel.settings()
        doc, out = w.doc, self.results_dir() / "refined.tif"

        score_cache = getattr(res, "score_cache", None)

        def work(job):
            logits = None
            if score_cache is not None:        # the kept scores of this classification (docs/sam.md, "Prompts")
                from ..core.sam.score_logits import ScoreLogits

                logits = ScoreLogits(score_cache, job)
            with doc.worker_image() as image:
                arr, summary = refine_image(_source(image, doc), image_id(doc), res.class_array, res.classes, out,
                                            st["model"], st["random_init"], st["recipe"], st["window"],
                                            iou_min=st["iou_min"], agreement_min=st["agreement_min"],
                                            logits=logits, job=job.sub(0, 0.9))
            return summary, as_result(res.request, arr, res.classes, "refined", res)

        def done(value) -> None:
            summary, shown = value
            self.results["refined"] = shown
            self._update_state(refined=summary["path"], shown="refined")
            self.panel.refine_info.setText(
                f"{summary['accepted']} of {summary['prompts']} SAM masks accepted; "
                + ", ".join(f"{k} {100 * v:.1f} %" for k, v in summary["changed_share"].items()) + " changed; "
                + f"prompts from the {summary['mask_input']['from']}"
                + _demo(summary))
            self.panel.set_available("refined", True)
            self._show(shown, "refined")
            w.status.showMessage(f"Refined with SAM-2 in {summary['seconds']:.1f} s: {summary['accepted']} of "
                                 f"{summary['prompts']} masks accepted{_demo(summary)}", 15000)
            self.score()

        w.runner.start("sam", work, label="Refining with SAM-2", on_done=done,
                       on_error=lambda m: w.notify(f"Refine failed: {m}", "error"))

    def finetune(self) -> None:
        problem = self._problem()
        if problem:
            self.window.notify(problem, "info")
            return
        from ..core.sam.finetune import finetune_image

        w, res, st = self.window, self.classifier_result(), self.panel.settings()
        doc, out = w.doc, self.results_dir() / "model"
        refined = self.results.get("refined")
        target = refined.class_array if refined is not None else res.class_array
        classifier = res.class_array if refined is not None else None
        samples = res.request.samples if res.request.samples.with_role("validation") else None
        bands = list(res.request.bands or doc.band_names)
        self.panel.clear_losses()
        emit = self.panel.loss_point.emit

        def work(job):
            with doc.worker_image() as image:
                return finetune_image(_source(image, doc), image_id(doc), target, res.classes, out, classifier,
                                      samples, st["model"], st["random_init"], st["steps"], st["recipe"],
                                      st["window"], head_bands=bands, job=job, on_loss=emit,
                                      training_image=doc.path or "demo scene")

        def done(summary) -> None:
            kept = summary["kept"]
            sc = summary["scores"][kept]
            oa = "–" if sc["overall_accuracy"] is None else f"{sc['overall_accuracy']:.3f}"
            self.panel.finetune_info.setText(f"Kept {kept} (OA {oa} on {sc['basis']}); saved in {summary['path']}")
            self._update_state(finetuned=summary["path"], losses=summary["losses"])
            self.panel.set_model_dir(summary["path"])
            self.segment()   # the fine-tuned result of this image, for the map and the scores

        w.runner.start("sam", work, label="Fine-tuning SAM-2", on_done=done,
                       on_error=lambda m: w.notify(f"Fine-tuning failed: {m}", "error"))

    def choose_model_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Choose a fine-tuned SAM-2 model folder",
                                                self.panel.model_dir() or "")
        if path:
            from ..core.errors import SatSegError
            from ..core.sam.saved import read_meta

            try:
                read_meta(path)
            except SatSegError as exc:
                self.window.notify(str(exc), "error")
                return
            self.panel.set_model_dir(path)
            self._update_state(finetuned=path)

    def segment(self) -> None:
        w = self.window
        model_dir = self.panel.model_dir()
        if w.doc is None or not model_dir:
            return
        from ..core.sam.segment import segment_image
        from . import pipeline

        doc, out = w.doc, self.results_dir() / "segmented.tif"
        base = self.classifier_result()
        # a new scene may have no samples and no classification: the result needs only the image
        req = base.request if base is not None else pipeline.RunRequest(doc, w.model.to_sample_set(),
                                                                         list(doc.band_names), "sam", {}, None)
        project_classes = w.model.classes() or None

        def work(job):
            with doc.worker_image() as image:
                arr, summary = segment_image(_source(image, doc), image_id(doc), model_dir, out,
                                             classes=project_classes, job=job.sub(0, 0.9))
            from ..core.classes import read_class_raster

            classes = read_class_raster(out)[3]
            return summary, as_result(req, arr, classes, "segmented", base)

        def done(value) -> None:
            summary, shown = value
            if not w.model.classes():
                # a new scene without classes takes the model's (ids, names, colours): the legend,
                # the class list and the exports then name them (docs/sam.md, "In the app")
                w.model.from_geojson({"type": "FeatureCollection", "features": []}, classes=shown.classes)
            self.results["segmented"] = shown
            self._update_state(segmented=summary["path"], shown="segmented")
            self.panel.set_available("segmented", True)
            self._show(shown, "segmented")
            # what the map now shows (a class list the model brought is no drawing in progress)
            w.status.showMessage(f"Segmented {doc.title} with the fine-tuned model in {summary['seconds']:.1f} s"
                                 + _demo(summary), 15000)
            self.score()

        w.runner.start("sam", work, label="Segmenting with the fine-tuned model", on_done=done,
                       on_error=lambda m: w.notify(f"Segment failed: {m}", "error"))

    # ------------------------------------------------------------ showing and scoring
    def _show(self, res, kind: str) -> None:
        self.window._show_result(res)
        self.panel.set_shown(kind)

    def show(self, kind: str) -> None:
        if kind == "classifier":
            res = self.classifier_result()
            if res is not None:
                self._show(res, kind)
                self._update_state(shown=kind)
            return
        if kind in self.results:
            self._show(self.results[kind], kind)
            self._update_state(shown=kind)
            return
        path = getattr(self.window.document.sam, kind, None)
        base = self.classifier_result()
        if not path or base is None:
            return
        from ..core.classes import read_class_raster

        def work(job):
            arr, _t, _c, classes = read_class_raster(path)
            return as_result(base.request, arr, classes, kind, base)

        def done(res) -> None:
            self.results[kind] = res
            self._show(res, kind)
            self._update_state(shown=kind)

        self.window.runner.start("sam", work, label="Showing the SAM-2 result", on_done=done,
                                 on_error=lambda m: self.window.notify(m, "error"))

    def score(self) -> None:
        base = self.classifier_result()
        if base is None or base.class_array is None or not base.request.samples.with_role("validation"):
            self.panel.show_scores(None)
            return
        from ..core.sam.scores import compare

        doc = base.request.doc
        arrays = {"classifier": (base.class_array, doc.transform, doc.crs, base.classes)}
        labels = {"refined": "refined", "segmented": "fine-tuned"}
        for kind, res in self.results.items():
            if kind in labels:
                arrays[labels[kind]] = (res.class_array, doc.transform, doc.crs, res.classes)
        samples = base.request.samples

        def done(table) -> None:
            self.panel.show_scores(table)
            self._update_state(scores=table)

        self.window.runner.start("sam-scores", lambda job: compare(arrays, samples), label="Scoring",
                                 on_done=done, on_error=lambda m: self.window.notify(f"Scoring: {m}", "error"))


def _demo(summary: dict) -> str:
    return " — RANDOM WEIGHTS (demonstration)" if summary.get("random_init") else ""


def _device() -> str:
    from ..core.sam.runtime import pick_device

    return pick_device()


def _source(image, doc):
    """An ImageSource for the core: big images already are one; in-memory ones are wrapped."""
    from ..core.sources.base import ImageSource
    from ..core.sources.memory import MemorySource

    return image if isinstance(image, ImageSource) else MemorySource(image, doc.path or doc.title)


def install_sam_tools(window) -> SamTools:
    return SamTools(window)
