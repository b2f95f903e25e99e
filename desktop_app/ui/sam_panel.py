"""The SAM-2 panel: model, input recipe, Refine, Fine-tune (live loss plot), Segment, scores.

A plain widget: it shows state and emits what the user asked for; ``ui.sam_tools`` runs the
work on the window's task runner and feeds results back. Rules: docs/sam.md.
"""
from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from ..core.sam.refine import AGREEMENT_MIN, IOU_MIN
from .sam_scores import ScoreTable

RANDOM_INIT = "__random_init__"
RECIPES = [("true_colour", "True colour (B4, B3, B2)"), ("false_colour", "False colour (B8, B4, B3)"),
           ("swir", "SWIR (B12, B8, B4)")]
SHOW = [("classifier", "Classifier"), ("refined", "Refined by SAM-2"), ("segmented", "Segmented (fine-tuned)")]
LOSS_COLOURS = {"full": "#d62728", "tokens": "#1f77b4"}


def _label(text: str = "") -> QLabel:
    lab = QLabel(text)
    lab.setTextFormat(Qt.TextFormat.PlainText)   # file and model names are shown as text, never HTML
    lab.setWordWrap(True)
    return lab


class SamPanel(QWidget):
    import_requested = Signal()
    remove_requested = Signal(str)
    refine_requested = Signal()
    finetune_requested = Signal()
    segment_requested = Signal()
    choose_model_dir_requested = Signal()
    show_requested = Signal(str)          # classifier | refined | segmented
    settings_changed = Signal()
    loss_point = Signal(str, int, float)  # variant, step, loss (emitted from the worker thread)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)

        box = QGroupBox("Model")
        form = QFormLayout(box)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Installed SAM-2 checkpoints (imported once; never downloaded)")
        row = QHBoxLayout()
        self.import_btn = QPushButton("Import…")
        self.import_btn.setToolTip("Import a SAM-2 / SAM-2.1 checkpoint file (.pt) you have")
        self.remove_btn = QPushButton("Remove")
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.import_btn)
        row.addWidget(self.remove_btn)
        form.addRow(row)
        self.device_label = _label()
        form.addRow("Device:", self.device_label)
        self.hint = _label()
        self.hint.setStyleSheet("color: #8a4b00")
        form.addRow(self.hint)
        lay.addWidget(box)

        box = QGroupBox("Input")
        form = QFormLayout(box)
        self.recipe = QComboBox()
        for key, text in RECIPES:
            self.recipe.addItem(text, key)
        self.recipe.setToolTip("The three bands SAM-2 sees, stretched 2–98 % once per scene")
        self.window_px = QSpinBox()
        self.window_px.setRange(256, 4096)
        self.window_px.setSingleStep(256)
        self.window_px.setValue(1024)
        self.window_px.setSuffix(" px")
        self.window_px.setToolTip("Window size (SAM-2 works at 1024 px; larger windows lose detail)")
        form.addRow("Recipe:", self.recipe)
        form.addRow("Window:", self.window_px)
        lay.addWidget(box)

        box = QGroupBox("Refine the classifier's mask")
        v = QVBoxLayout(box)
        self.iou_min = _share_box(IOU_MIN, "Accept SAM-2's mask only if its own predicted IoU is at least this "
                                        "(higher: fewer masks accepted, more classifier pixels kept)")
        self.agreement_min = _share_box(AGREEMENT_MIN, "… and only if its IoU with the classifier's component is at least "
                                              "this (lower: SAM-2 may move boundaries further)")
        row = QHBoxLayout()
        row.addWidget(QLabel("Min. IoU"))
        row.addWidget(self.iou_min)
        row.addWidget(QLabel("Min. agreement"))
        row.addWidget(self.agreement_min)
        row.addStretch(1)
        v.addLayout(row)
        self.refine_btn = QPushButton("Refine")
        self.refine_btn.setToolTip("Prompt SAM-2 with every class component; keep its mask only where it is "
                                   "confident and agrees with the classifier")
        self.refine_info = _label()
        v.addWidget(self.refine_btn)
        v.addWidget(self.refine_info)
        lay.addWidget(box)

        box = QGroupBox("Fine-tune on the mask")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.steps = QSpinBox()
        self.steps.setRange(1, 5000)
        self.steps.setValue(200)
        self.steps.setSuffix(" steps")
        self.finetune_btn = QPushButton("Fine-tune")
        self.finetune_btn.setToolTip("Learn the classes from the refined (or classifier) mask; the model is "
                                     "saved in the project's results/sam folder")
        row.addWidget(self.steps)
        row.addWidget(self.finetune_btn, 1)
        v.addLayout(row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(120)
        self.plot.setMaximumHeight(170)
        self.plot.setLabel("left", "loss")
        self.plot.setLabel("bottom", "step")
        self.plot.addLegend(offset=(5, -5))   # bottom left: the curves start high and fall to the right
        self._curves: dict = {}
        self._loss: dict = {}
        v.addWidget(self.plot)
        self.finetune_info = _label()
        v.addWidget(self.finetune_info)
        lay.addWidget(box)

        box = QGroupBox("Segment without samples")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.model_dir_label = _label("No fine-tuned model chosen")
        self.choose_btn = QPushButton("Choose…")
        self.choose_btn.setToolTip("A model folder written by Fine-tune (or satseg sam finetune)")
        row.addWidget(self.model_dir_label, 1)
        row.addWidget(self.choose_btn)
        v.addLayout(row)
        self.segment_btn = QPushButton("Segment this image")
        v.addWidget(self.segment_btn)
        lay.addWidget(box)

        box = QGroupBox("Compare on validation polygons")
        v = QVBoxLayout(box)
        form = QFormLayout()
        self.show_combo = QComboBox()
        for key, text in SHOW:
            self.show_combo.addItem(text, key)
        self.show_combo.setToolTip("Which result the map, the areas and the exports show")
        form.addRow("Map shows:", self.show_combo)
        v.addLayout(form)
        self.scores = ScoreTable()
        self.table, self.best_label = self.scores.table, self.scores.best_label
        v.addWidget(self.scores)
        lay.addWidget(box)
        lay.addStretch(1)

        self.import_btn.clicked.connect(self.import_requested)
        self.remove_btn.clicked.connect(lambda: self.remove_requested.emit(self.model_name() or ""))
        self.refine_btn.clicked.connect(self.refine_requested)
        self.finetune_btn.clicked.connect(self.finetune_requested)
        self.segment_btn.clicked.connect(self.segment_requested)
        self.choose_btn.clicked.connect(self.choose_model_dir_requested)
        self.show_combo.activated.connect(lambda _i: self.show_requested.emit(self.show_combo.currentData()))
        for w in (self.model_combo, self.recipe):
            w.currentIndexChanged.connect(lambda _i: self._changed())
        for w in (self.window_px, self.steps, self.iou_min, self.agreement_min):
            w.valueChanged.connect(lambda _v: self._changed())
        self.loss_point.connect(self.add_loss, Qt.ConnectionType.QueuedConnection)
        self._has_image = self._has_result = False
        self._model_dir: Optional[str] = None
        self._available = {"refined": False, "segmented": False}
        self._busy = False
        self.set_models([], "cpu", "")

    # ------------------------------------------------------------ state in
    def set_models(self, names: list[str], device: str, hint: str, random_init: bool = False,
                   current: Optional[str] = None) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for n in names:
            self.model_combo.addItem(n, n)
        if random_init:
            self.model_combo.addItem("Random weights (demo)", RANDOM_INIT)
        i = self.model_combo.findData(current) if current else -1
        self.model_combo.setCurrentIndex(max(i, 0))
        self.model_combo.blockSignals(False)
        self.device_label.setText(device.upper() if device == "cpu" else f"{device.upper()} (GPU)")
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.update_enabled()

    def has_model(self) -> bool:
        return self.model_combo.count() > 0

    def model_name(self) -> Optional[str]:
        data = self.model_combo.currentData()
        return None if data in (None, RANDOM_INIT) else data

    def random_init(self) -> bool:
        return self.model_combo.currentData() == RANDOM_INIT

    def set_context(self, has_image: bool, has_result: bool) -> None:
        self._has_image, self._has_result = has_image, has_result
        self.update_enabled()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.update_enabled()

    def set_model_dir(self, path: Optional[str]) -> None:
        self._model_dir = path
        self.model_dir_label.setText(path or "No fine-tuned model chosen")
        self.update_enabled()

    def model_dir(self) -> Optional[str]:
        return self._model_dir

    def set_available(self, kind: str, on: bool) -> None:
        self._available[kind] = on
        self.update_enabled()

    def set_shown(self, kind: str) -> None:
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(kind)))

    def update_enabled(self) -> None:
        ready = self.has_model() and not self._busy
        self.model_combo.setEnabled(self.has_model())
        self.remove_btn.setEnabled(self.model_name() is not None and not self._busy)
        for w in (self.recipe, self.window_px, self.steps, self.iou_min, self.agreement_min):
            w.setEnabled(self.has_model())
        self.refine_btn.setEnabled(ready and self._has_result)
        self.finetune_btn.setEnabled(ready and self._has_result)
        self.choose_btn.setEnabled(self.has_model())
        self.segment_btn.setEnabled(ready and self._has_image and self._model_dir is not None)
        model = self.show_combo.model()
        for i, (key, _t) in enumerate(SHOW):
            item = model.item(i)
            if item is not None:
                item.setEnabled(key == "classifier" or self._available.get(key, False))
        self.show_combo.setEnabled(self._has_result and any(self._available.values()))

    def settings(self) -> dict:
        return {"model": self.model_name(), "random_init": self.random_init(), "recipe": self.recipe.currentData(),
                "window": self.window_px.value(), "steps": self.steps.value(),
                "iou_min": round(self.iou_min.value(), 2), "agreement_min": round(self.agreement_min.value(), 2)}

    def apply_settings(self, s) -> None:
        spins = (self.recipe, self.window_px, self.steps, self.iou_min, self.agreement_min, self.model_combo)
        for w in spins:
            w.blockSignals(True)
        i = self.recipe.findData(s.recipe)
        if i >= 0:
            self.recipe.setCurrentIndex(i)
        self.window_px.setValue(int(s.window))
        self.steps.setValue(int(s.steps))
        self.iou_min.setValue(float(s.iou_min))
        self.agreement_min.setValue(float(s.agreement_min))
        key = RANDOM_INIT if s.random_init else s.model
        i = self.model_combo.findData(key) if key else -1
        if i >= 0:
            self.model_combo.setCurrentIndex(i)
        for w in spins:
            w.blockSignals(False)
        self.set_model_dir(s.finetuned)
        self.update_enabled()

    def _changed(self) -> None:
        self.update_enabled()
        self.settings_changed.emit()

    # ------------------------------------------------------------ loss plot
    def clear_losses(self) -> None:
        self.plot.clear()
        self._curves.clear()
        self._loss.clear()

    def add_loss(self, variant: str, step: int, loss: float) -> None:
        xs, ys = self._loss.setdefault(variant, ([], []))
        xs.append(step)
        ys.append(loss)
        if variant not in self._curves:
            name = "tokens + decoder + band head" if variant == "full" else "tokens only"
            self._curves[variant] = self.plot.plot(pen=pg.mkPen(LOSS_COLOURS.get(variant, "k"), width=2), name=name)
        self._curves[variant].setData(xs, ys)

    def show_losses(self, losses: dict) -> None:
        self.clear_losses()
        for variant, values in (losses or {}).items():
            for i, v in enumerate(values, start=1):
                self.add_loss(variant, i, v)

    # ------------------------------------------------------------ scores
    def show_scores(self, table: Optional[dict]) -> None:
        self.scores.show_scores(table)


def _share_box(value: float, tip: str) -> QDoubleSpinBox:
    """A 0..1 threshold in steps of 0.05 (docs/sam.md, "Acceptance")."""
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setDecimals(2)
    box.setSingleStep(0.05)
    box.setValue(value)
    box.setToolTip(tip)
    return box

