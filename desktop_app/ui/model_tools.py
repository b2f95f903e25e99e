"""Model quality and reuse in the window (issue 17): polygon-grouped cross-validation, the
winning-score histogram of a class, saving a trained model and applying a saved one.

The box sits in the Model panel under the thresholds; the model and catalogue actions are in the
Classify menu. Work runs on the window's task runner; the bodies below are Qt-free.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout,
)

HISTOGRAM_SAMPLE = 200_000   # most winning scores kept per class for the histogram
BINS = 40


# ------------------------------------------------------------------ work (Qt-free)
def cross_validate_task(req, k: int, job):
    from ..core.classifiers.validation import cross_validate
    from ..core.samples import collect_training

    with req.doc.worker_image() as image:
        training = collect_training(image, req.samples, bands=req.bands, job=job.sub(0, 0.2))
    return cross_validate(training, req.method, req.options, k, "polygon", job=job.sub(0.2, 1.0))


def winning_scores_task(doc, clf, job) -> dict[int, np.ndarray]:
    """Per class: the winning scores (before thresholds) of a sample of the pixels it wins."""
    from ..core.classify import classify_blocks

    rng = np.random.default_rng(0)
    parts: dict[int, list[np.ndarray]] = {}
    with doc.worker_image() as image:
        for _w, (labels, scores) in classify_blocks(image, clf, None, 512, job, with_scores=True):
            for cid in np.unique(labels):
                if cid in (0, 255):
                    continue
                s = scores[labels == cid]
                parts.setdefault(int(cid), []).append(s[np.isfinite(s)])
    out = {}
    for cid, chunks in parts.items():
        s = np.concatenate(chunks)
        out[cid] = s if len(s) <= HISTOGRAM_SAMPLE else rng.choice(s, HISTOGRAM_SAMPLE, replace=False)
    return out


# ------------------------------------------------------------------ widget
class ModelQualityBox(QGroupBox):
    cross_validate_requested = Signal(int)
    histogram_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Model quality", parent)
        self.cv_button = QPushButton("Cross-validate", self)
        self.cv_button.setToolTip("Train on all but one fold of the training polygons and test on the held-out fold, "
                                  "for every fold. Folds are grouped by polygon: no polygon is in two folds.")
        self.folds = QSpinBox(self)
        self.folds.setRange(2, 20)
        self.folds.setValue(5)
        self.folds.setSuffix(" folds")
        self.cv_label = QLabel("Not cross-validated yet.", self)
        self.cv_label.setWordWrap(True)
        self.cv_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hist_button = QPushButton("Score histogram", self)
        self.hist_button.setToolTip("Winning score of every pixel a class wins (before thresholds): "
                                    "where to put its threshold")
        self.hist_class = QComboBox(self)
        self.hist_class.setToolTip("Class whose pixels the histogram shows")
        self.plot = pg.PlotWidget(self, background="w")
        self.plot.setMinimumHeight(140)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("left", "pixels")
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)   # radians stay radians, not "×0.001"
        self.plot.hide()
        row = QHBoxLayout()
        row.addWidget(self.cv_button)
        row.addWidget(self.folds)
        row2 = QHBoxLayout()
        row2.addWidget(self.hist_button)
        row2.addWidget(self.hist_class, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.cv_label)
        lay.addLayout(row2)
        lay.addWidget(self.plot)
        self.cv_button.clicked.connect(lambda: self.cross_validate_requested.emit(self.folds.value()))
        self.hist_button.clicked.connect(self.histogram_requested)
        self.hist_class.currentIndexChanged.connect(lambda _i: self.draw_histogram())
        self.scores: dict[int, np.ndarray] = {}
        self.unit = ""
        self.threshold: dict[str, float] = {}

    def show_cv(self, r: dict) -> None:
        per_fold = ", ".join(f"{f['overall_accuracy']:.3f}" for f in r["per_fold"])
        text = (f"{r['folds']}-fold: overall accuracy {r['overall_accuracy']:.3f}, kappa {r['kappa']:.3f} "
                f"(folds {per_fold}).\n{r['note'][0].upper()}{r['note'][1:]}.")
        for w in r["warnings"]:
            text += f"\n{w}"
        self.cv_label.setText(text)

    def set_scores(self, scores: dict[int, np.ndarray], classes, unit: str, thresholds: Optional[dict]) -> None:
        self.scores, self.unit, self.threshold = scores, unit, dict(thresholds or {})
        self._classes = {c.id: c for c in classes}
        current = self.hist_class.currentText()
        self.hist_class.blockSignals(True)
        self.hist_class.clear()
        for c in classes:
            if c.id in scores:
                self.hist_class.addItem(c.name, c.id)
        i = self.hist_class.findText(current)
        self.hist_class.setCurrentIndex(max(i, 0))
        self.hist_class.blockSignals(False)
        self.plot.show()
        self.draw_histogram()

    def draw_histogram(self) -> None:
        self.plot.clear()
        cid = self.hist_class.currentData()
        if cid is None or cid not in self.scores:
            return
        s = self.scores[cid]
        counts, edges = np.histogram(s, bins=BINS)
        c = self._classes[cid]
        color = QColor(c.color)
        self.plot.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=color,
                                          pen=pg.mkPen(color.darker(130))))
        # The unit without its "(lower is closer)" remark, small: the panel is narrow.
        self.plot.setLabel("bottom", self.unit.split(" (")[0], **{"font-size": "8pt"})
        if c.name in self.threshold:
            self.plot.addItem(pg.InfiniteLine(self.threshold[c.name], pen=pg.mkPen("k", width=2, style=Qt.DashLine)))
        self.plot.setToolTip(f"{c.name}: {len(s):,} pixels; dashed line = its threshold when on")


# ------------------------------------------------------------------ wiring
class ModelTools:
    def __init__(self, window) -> None:
        self.window = window
        self.box = ModelQualityBox()
        body = window.model_panel.layout()
        body.insertWidget(body.count() - 1, self.box)      # above the panel's closing stretch
        self.box.cross_validate_requested.connect(self.cross_validate)
        self.box.histogram_requested.connect(self.histogram)
        # The spectral plot shows every signature: redraw it when the signature mode changes.
        window.model_panel.method_changed.connect(lambda _m: window._schedule_signatures())
        for form in window.model_panel.forms.values():
            combo = form.widgets.get("signatures")
            if combo is not None:
                combo.currentIndexChanged.connect(lambda _i: window._schedule_signatures())
        self.act_save = window._action(self._classify_menu(), "&Save trained model…", self.save_model,
                                       tip="Save the trained classifier (.satseg-model) to apply it to other scenes")
        self.act_apply = window._action(self._classify_menu(), "&Apply saved model…", self.apply_model,
                                        tip="Classify this image with a model saved earlier, without samples")
        self.act_save_sigs = window._action(self._classify_menu(), "Save signature &catalogue…", self.save_catalogue,
                                            tip="Save the signatures of the last run as a JSON catalogue")
        self.act_merge_sigs = window._action(self._classify_menu(), "&Merge signature catalogues…",
                                             self.merge_catalogues,
                                             tip="Merge catalogues from several scenes into one (classes matched "
                                                 "by name; bands must agree)")
        self.act_use_sigs = window._action(self._classify_menu(), "Classify with signature catalo&gue…",
                                           self.apply_catalogue,
                                           tip="Fit the chosen statistics method on a signature catalogue and "
                                               "classify this image, without samples")

    def _classify_menu(self):
        for action in self.window.menuBar().actions():
            if action.text() == "&Classify":
                return action.menu()
        return self.window.menuBar().addMenu("&Classify")

    # -- cross-validation -------------------------------------------------------------
    def cross_validate(self, k: int) -> None:
        w = self.window
        problem = w._run_problem()
        if problem:
            w.notify(problem, "warning")
            return
        req = w._request()
        self.box.cv_label.setText(f"Cross-validating ({k} folds)…")
        w.runner.start("cv", lambda job: cross_validate_task(req, k, job), label="Cross-validating",
                       on_done=self.box.show_cv,
                       on_error=lambda msg: self.box.cv_label.setText(f"Cross-validation failed: {msg}"))

    # -- score histogram -----------------------------------------------------------------
    def histogram(self) -> None:
        w = self.window
        res = w.result
        if res is None or res.classifier is None:
            w.notify("Run a classification first: the histogram shows its scores.", "warning")
            return
        clf, doc = res.classifier, w.doc
        thresholds = w.model_panel.thresholds()

        def done(scores) -> None:
            self.box.set_scores(scores, res.classes, clf.score_name, thresholds)

        w.runner.start("scores", lambda job: winning_scores_task(doc, clf, job), label="Scoring pixels",
                       on_done=done, on_error=lambda msg: w.notify(f"Score histogram: {msg}", "error"))

    # -- models ---------------------------------------------------------------------------
    def save_model(self, path: Optional[str] = None) -> Optional[str]:
        w = self.window
        res = w.result
        if res is None or res.classifier is None:
            w.notify("Run a classification first: there is no trained model to save.", "warning")
            return None
        from ..core.classifiers.model_file import SUFFIX, save_model
        from ..core.errors import SatSegError

        if path is None:
            path, _ = QFileDialog.getSaveFileName(w, "Save trained model", "model" + SUFFIX,
                                                  f"SatSeg model (*{SUFFIX})")
            if not path:
                return None
            if not path.endswith(SUFFIX):
                path += SUFFIX
        try:
            training = res.training.report() if res.training is not None else None
            # As `satseg train` saves it: the index bands the model uses (computed again where it is applied)
            # and how the image's pixels were read (the user's baseline or its metadata).
            doc, clf = res.request.doc, res.classifier
            indices = [i.to_dict() for i in doc.indices if i.name in clf.band_names]
            save_model(clf, path, training, indices, baseline=doc.baseline_record)
        except SatSegError as exc:
            w.notify(str(exc), "error")
            return None
        w.status.showMessage(f"Model saved: {path}", 8000)
        return path

    def apply_model(self, path: Optional[str] = None) -> None:
        w = self.window
        if w.doc is None:
            w.notify("Open an image first.", "warning")
            return
        from ..core.classifiers.model_file import SUFFIX, load_model
        from ..core.errors import SatSegError

        if path is None:
            path, _ = QFileDialog.getOpenFileName(w, "Apply saved model", "", f"SatSeg model (*{SUFFIX})")
            if not path:
                return
        try:
            clf = load_model(path)
            added = self._add_model_indices(clf)
            missing = [b for b in clf.band_names if b not in w.doc.band_names]
            if missing:
                raise SatSegError(f"the model was trained on bands {', '.join(clf.band_names)}; this image lacks "
                                  f"{', '.join(missing)}")
        except SatSegError as exc:
            w.notify(str(exc), "error")
            return
        note = ""
        if added:
            note = f"Added index band{'s' if len(added) > 1 else ''} {', '.join(added)} to the image for the model"
            w.notify(note, "info")
        self._apply(clf, "Applying saved model", note)

    def _add_model_indices(self, clf) -> list[str]:
        """Add the index bands a saved model uses that the image lacks, as the Bands panel's index box adds
        them; their names. `satseg classify --model` computes the same indices (docs/classifiers.md)."""
        from ..core.analysis.indices import check_indices, parse_index_list
        from ..core.errors import SatSegError
        from .doc_indices import base_band_names

        w, doc = self.window, self.window.doc
        saved = [i for i in getattr(clf, "model_indices", None) or [] if i["name"] in clf.band_names]
        wanted = parse_index_list(",".join(f"{i['name']}={i['formula']}" for i in saved))   # as the CLI reads them
        own = {i.name: i for i in doc.indices}
        for i in wanted:
            if i.name in own and own[i.name].formula != i.formula:
                raise SatSegError(f"the model's {i.name} is {i.formula}, this image's is {own[i.name].formula}; "
                                  f"untick {i.name} in the Bands panel's indices and apply the model again")
        new = [i for i in wanted if i.name not in doc.band_names]
        # Bands the model reads directly come first: their one-line message names every missing band.
        direct = [b for b in clf.band_names if b not in doc.band_names and b not in {i.name for i in new}]
        if not new or direct:
            return []
        try:
            check_indices(base_band_names(doc), new)
        except SatSegError as exc:       # the spectral bands an index needs are missing
            raise SatSegError(f"this model's {exc}") from None
        tools = w.analysis_tools
        tools.indices.set_indices(list(doc.indices) + new)
        tools.apply_indices(tools.indices.indices())
        return [i.name for i in new if i.name in doc.band_names]

    def _apply(self, clf, label: str, note: str = "") -> None:
        from . import pipeline

        w = self.window
        req = replace(w._request(), bands=list(clf.band_names), method=clf.name, options=dict(clf.options),
                      thresholds=None)

        def done(res) -> None:
            w._show_result(res)
            if note and w.result is res:     # the result's own line, and what was added to the image
                w.status.showMessage(f"{w.status.currentMessage()}. {note}.", 15000)

        w.model_panel.set_running(True)
        w.runner.start("classify", lambda job: pipeline.run(req, job, fitted=(None, clf)),
                       label=label, on_done=done, on_error=w._run_failed)

    # -- signature catalogues -----------------------------------------------------------------
    def save_catalogue(self, path: Optional[str] = None) -> Optional[str]:
        w = self.window
        res = w.result
        clf = None if res is None else res.classifier
        if clf is None or not clf.from_signatures:
            w.notify("Run a statistics method (minimum distance, spectral angle, Mahalanobis, maximum likelihood, "
                     "parallelepiped) first: its signatures are what a catalogue holds.", "warning")
            return None
        from ..core.classifiers.catalogue import catalogue_from_signatures, save_catalogue
        from ..core.errors import SatSegError

        if path is None:
            path, _ = QFileDialog.getSaveFileName(w, "Save signature catalogue", "signatures.json",
                                                  "Signature catalogue (*.json)")
            if not path:
                return None
        try:
            save_catalogue(catalogue_from_signatures(clf.input_signatures, w.doc.title if w.doc else ""), path)
        except SatSegError as exc:
            w.notify(str(exc), "error")
            return None
        w.status.showMessage(f"Signature catalogue saved: {path}", 8000)
        return path

    def merge_catalogues(self, paths: Optional[list[str]] = None, out: Optional[str] = None) -> Optional[str]:
        """Merge several catalogues into one file, with the CLI's core function (classes matched by name)."""
        w = self.window
        from ..core.atomic import check_outputs
        from ..core.classifiers.catalogue import load_catalogue, merge_catalogues, save_catalogue
        from ..core.errors import SatSegError

        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(w, "Merge signature catalogues (choose two or more)", "",
                                                    "Signature catalogue (*.json)")
            if not paths:
                return None
        if len(paths) < 2:
            w.notify("Choose at least two signature catalogues to merge.", "warning")
            return None
        if out is None:
            out, _ = QFileDialog.getSaveFileName(w, "Save merged signature catalogue", "merged-signatures.json",
                                                 "Signature catalogue (*.json)")
            if not out:
                return None
        try:
            check_outputs({"The merged catalogue": out}, paths)   # before any work; never over an input
            cat = merge_catalogues([load_catalogue(p) for p in paths])
            save_catalogue(cat, out)
        except SatSegError as exc:
            w.notify(f"The catalogues were not merged: {exc}", "error")
            return None
        w.status.showMessage(f"Merged {len(paths)} catalogues ({len(cat.signatures.classes)} classes, "
                             f"{cat.signatures.n} signatures): {out}", 8000)
        return out

    def apply_catalogue(self, path: Optional[str] = None) -> None:
        w = self.window
        if w.doc is None:
            w.notify("Open an image first.", "warning")
            return
        from ..core.classifiers import make_classifier
        from ..core.classifiers.catalogue import load_catalogue
        from ..core.errors import SatSegError

        if path is None:
            path, _ = QFileDialog.getOpenFileName(w, "Classify with signature catalogue", "",
                                                  "Signature catalogue (*.json)")
            if not path:
                return
        try:
            clf = make_classifier(w.model_panel.method(), **w.model_panel.options())
            if not clf.from_signatures:
                raise SatSegError(f"{clf.label} is trained on pixels; choose a statistics method to use a catalogue")
            clf.fit_signatures(load_catalogue(path).signatures)
            missing = [b for b in clf.band_names if b not in w.doc.band_names]
            if missing:
                raise SatSegError(f"the catalogue's bands are {', '.join(clf.band_names)}; this image lacks "
                                  f"{', '.join(missing)}")
        except SatSegError as exc:
            w.notify(str(exc), "error")
            return
        self._apply(clf, "Classifying with the catalogue")


def install_model_tools(window) -> ModelTools:
    return ModelTools(window)
