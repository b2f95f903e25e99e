"""Dock panel: which classifier, its options, per-class thresholds, and Run.

The panel only collects choices and emits signals; the main window runs the
work. Threshold changes are throttled: the first change of a pause emits
``thresholds_changed`` at once (a re-decide from the kept scores shows within
~100 ms), changes within the next ~150 ms are gathered into one more signal at
its end, so dragging through values never queues a re-decide per step.
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMenu,
    QPushButton, QSizePolicy, QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget, QWidgetAction,
)

from ..core.classes import ClassInfo
from .classes_panel import swatch
from .method_options import UNCLASSIFIED_NOTE, MethodSpec, Option, default_threshold, method_specs, options_for

DEFAULT_METHOD = "mahalanobis"
DEBOUNCE_MS = 150
RULE_POPOVER_WIDTH = 360


class _OptionsForm(QWidget):
    """The option widgets of one method."""

    def __init__(self, options: Sequence[Option], parent=None) -> None:
        super().__init__(parent)
        self.widgets: dict[str, QWidget] = {}
        self.specs = {o.key: o for o in options}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for o in options:
            if o.kind == "int":
                w = QSpinBox(self)
                w.setRange(int(o.minimum), int(o.maximum))
                w.setSingleStep(int(o.step))
                w.setValue(int(o.default))
                if o.zero_means_none:
                    w.setSpecialValueText("no limit")
            elif o.kind == "float":
                w = QDoubleSpinBox(self)
                w.setDecimals(o.decimals)
                w.setRange(o.minimum, o.maximum)
                w.setSingleStep(o.step)
                w.setValue(float(o.default))
            elif o.kind == "bool":
                w = QCheckBox(self)
                w.setChecked(bool(o.default))
            else:
                w = QComboBox(self)
                for value, text in o.choices:
                    w.addItem(text, value)
                w.setCurrentIndex(max(0, w.findData(o.default)))
                w.currentIndexChanged.connect(self._update_enabled)
            w.setToolTip(o.tip)
            label = QLabel(o.label, self)
            label.setToolTip(o.tip)
            form.addRow(label, w)
            self.widgets[o.key] = w
        if not options:
            form.addRow(QLabel("No options for this method.", self))
        self._update_enabled()

    def values(self) -> dict:
        out = {}
        for key, w in self.widgets.items():
            if not w.isEnabled():
                continue
            if isinstance(w, QComboBox):
                out[key] = w.currentData()
            elif isinstance(w, QCheckBox):
                out[key] = w.isChecked()
            elif self.specs[key].zero_means_none and w.value() == 0:
                out[key] = None
            else:
                out[key] = w.value()
        return out

    def set_values(self, values: dict) -> None:
        for key, value in values.items():
            w = self.widgets.get(key)
            if isinstance(w, QComboBox):
                i = w.findData(value)
                if i >= 0:
                    w.setCurrentIndex(i)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QSpinBox):
                w.setValue(0 if value is None else int(value))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(value))
        self._update_enabled()

    def _update_enabled(self) -> None:
        for key, o in self.specs.items():
            if o.enabled_when:
                other, value = o.enabled_when
                w = self.widgets.get(other)
                self.widgets[key].setEnabled(isinstance(w, QComboBox) and w.currentData() == value)


class ModelPanel(QWidget):
    run_requested = Signal()
    thresholds_changed = Signal()
    method_changed = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.specs: dict[str, MethodSpec] = method_specs()
        self._classes: list[ClassInfo] = []
        self._rows: dict[str, tuple[QCheckBox, QDoubleSpinBox]] = {}   # class name -> widgets
        # Threshold settings per method: the same number means different things per method.
        self._saved: dict[str, dict] = {}
        self._suggested: dict[str, dict[str, float]] = {}
        self._building = False
        self._before_all: Optional[dict] = None   # per-class rows as they were before "all" was ticked
        self._n_bands: Optional[int] = None

        self.method_combo = QComboBox(self)
        for key, spec in self.specs.items():
            self.method_combo.addItem(spec.label, key)
            self.method_combo.setItemData(self.method_combo.count() - 1, spec.threshold_help, Qt.ToolTipRole)
        self.method_combo.setToolTip("How each pixel is assigned to a class")
        self.options_stack = QStackedWidget(self)
        self.forms: dict[str, _OptionsForm] = {}
        for key in self.specs:
            form = _OptionsForm(options_for(key), self)
            self.forms[key] = form
            self.options_stack.addWidget(form)

        self.thresholds_box = QGroupBox("Thresholds", self)
        self.thresholds_box.setToolTip("Leave pixels unclassified when they match every class poorly")
        # The rule of the chosen method is long: it lives in a popover behind "How it works".
        self.rule_label = QLabel()
        self.rule_label.setWordWrap(True)
        self.rule_label.setTextFormat(Qt.TextFormat.PlainText)
        self.rule_label.setFixedWidth(RULE_POPOVER_WIDTH)
        self.rule_label.setContentsMargins(8, 6, 8, 6)
        self.rule_button = QToolButton(self.thresholds_box)
        self.rule_button.setText("How it works…")
        self.rule_button.setToolTip("What a threshold means for the chosen method")
        self.rule_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.rule_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        rule_menu = QMenu(self.rule_button)
        rule_action = QWidgetAction(rule_menu)
        rule_action.setDefaultWidget(self.rule_label)
        rule_menu.addAction(rule_action)
        self.rule_button.setMenu(rule_menu)
        self.all_check = QCheckBox("One value for all classes", self.thresholds_box)
        self.all_spin = QDoubleSpinBox(self.thresholds_box)
        self.all_check.toggled.connect(self._all_toggled)
        self.all_spin.valueChanged.connect(self._all_value_changed)
        # No inner scroll area: the whole panel scrolls, so every class row stays reachable.
        self.grid_host = QWidget(self.thresholds_box)
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(0, 1)
        rule_row = QHBoxLayout()
        rule_row.addWidget(QLabel("Unticked: that class has no threshold.", self.thresholds_box), 1)
        rule_row.addWidget(self.rule_button)
        all_row = QHBoxLayout()
        all_row.addWidget(self.all_check)
        all_row.addWidget(self.all_spin, 1)
        box_layout = QVBoxLayout(self.thresholds_box)
        box_layout.addLayout(rule_row)
        box_layout.addLayout(all_row)
        box_layout.addWidget(self.grid_host)

        self.run_button = QPushButton("Run classification", self)
        self.run_button.setToolTip("Train the chosen classifier on the training polygons and classify the image")
        self.run_button.clicked.connect(self.run_requested)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)

        top = QFormLayout()
        top.addRow("Method", self.method_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.options_stack)
        layout.addWidget(self.run_button)
        layout.addWidget(self.hint)
        layout.addWidget(self.thresholds_box)
        layout.addStretch(1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._quiet_period_over)
        self._pending = False

        self._current_method = None
        self.method_combo.currentIndexChanged.connect(self._method_changed)
        default = self.method_combo.findData(DEFAULT_METHOD)
        self.method_combo.setCurrentIndex(default if default >= 0 else 0)
        self._method_changed()
        self._update_hint()

    # ---------------------------------------------------------------- API
    def method(self) -> str:
        return self.method_combo.currentData()

    def set_method(self, key: str) -> None:
        i = self.method_combo.findData(key)
        if i >= 0:
            self.method_combo.setCurrentIndex(i)

    def spec(self) -> MethodSpec:
        return self.specs[self.method()]

    def options(self) -> dict:
        return self.forms[self.method()].values()

    def set_options(self, values: dict) -> None:
        self.forms[self.method()].set_values(values or {})

    def thresholds(self) -> Optional[dict]:
        """{class name: value} for classes with their threshold on; None when none is on.

        Keys are class names (not ids): the classifier numbers classes by
        sample order, names stay unambiguous.
        """
        out = {name: spin.value() for name, (check, spin) in self._rows.items() if check.isChecked()}
        return out or None

    def set_thresholds(self, values: Optional[dict]) -> None:
        """Turn on exactly the classes in ``values`` (name -> value), others off."""
        values = values or {}
        self._building = True
        try:
            self.all_check.setChecked(False)
            for name, (check, spin) in self._rows.items():
                check.setChecked(name in values)
                if name in values:
                    spin.setValue(float(values[name]))
                spin.setEnabled(check.isChecked())
        finally:
            self._building = False
        self._emit_thresholds()

    def set_suggested_thresholds(self, values: dict) -> None:
        """Starting values (e.g. the classifier's ``default_threshold``) for classes still switched off."""
        self._suggested[self.method()] = {str(k): float(v) for k, v in values.items()}
        for name, (check, spin) in self._rows.items():
            if not check.isChecked() and name in values:
                spin.setValue(float(values[name]))

    def set_band_count(self, n_bands: int) -> None:
        """Number of classifier bands: Mahalanobis starting values depend on it (switched-off rows only)."""
        self._n_bands = int(n_bands) if n_bands else None
        start = default_threshold(self.spec(), self._n_bands)
        suggested = self._suggested.get(self.method(), {})
        for name, (check, spin) in self._rows.items():
            if not check.isChecked():
                spin.setValue(suggested.get(name, start))
        if not self.all_check.isChecked():
            self.all_spin.setValue(start)

    def set_classes(self, classes: Sequence[ClassInfo]) -> None:
        """One threshold row per class; settings of classes that remain are kept."""
        kept = self._settings()
        before = self.thresholds()
        self._classes = list(classes)
        self._build_rows(kept)
        self._update_hint()
        if self.thresholds() != before:   # e.g. a class with a threshold was deleted or renamed
            self._emit_thresholds()

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running and len(self._classes) >= 2)
        self.run_button.setText("Running…" if running else "Run classification")
        self.method_combo.setEnabled(not running)
        self.options_stack.setEnabled(not running)
        self._running = running

    def state(self) -> dict:
        """Everything to put in a project: method, options, thresholds."""
        return {"method": self.method(), "options": self.options(), "thresholds": self.thresholds()}

    def set_state(self, state: dict) -> None:
        if state.get("method"):
            self.set_method(state["method"])
        self.set_options(state.get("options") or {})
        self.set_thresholds(state.get("thresholds"))

    # ---------------------------------------------------------- internals
    def _settings(self) -> dict:
        return {"rows": {name: (c.isChecked(), s.value()) for name, (c, s) in self._rows.items()},
                "all": (self.all_check.isChecked(), self.all_spin.value())}

    def _configure_spin(self, spin: QDoubleSpinBox, spec: MethodSpec) -> None:
        spin.setDecimals(spec.threshold_decimals)
        spin.setRange(spec.threshold_min, spec.threshold_max)
        spin.setSingleStep(spec.threshold_step)
        spin.setToolTip(f"{spec.threshold_help}\n\nUnit: {spec.threshold_unit}. {UNCLASSIFIED_NOTE}")

    def _build_rows(self, kept: dict) -> None:
        spec = self.spec()
        self._building = True
        try:
            while self.grid.count():
                w = self.grid.takeAt(0).widget()
                if w is not None:
                    w.deleteLater()
            self._rows = {}
            suggested = self._suggested.get(spec.key, {})
            start = default_threshold(spec, self._n_bands)
            for row, c in enumerate(self._classes):
                check = QCheckBox(c.name, self.grid_host)
                check.setIcon(swatch(c.color))
                check.setToolTip(f"Use a threshold for '{c.name}'. Off: every pixel may go to '{c.name}'.")
                spin = QDoubleSpinBox(self.grid_host)
                self._configure_spin(spin, spec)
                on, value = kept.get("rows", {}).get(c.name, (False, suggested.get(c.name, start)))
                spin.setValue(value)
                check.setChecked(on)
                spin.setEnabled(on)
                check.toggled.connect(spin.setEnabled)
                check.toggled.connect(self._emit_thresholds)
                spin.valueChanged.connect(self._emit_thresholds)
                self.grid.addWidget(check, row, 0)
                self.grid.addWidget(spin, row, 1)
                self._rows[c.name] = (check, spin)
            self.grid.setRowStretch(len(self._classes), 1)
            all_on, all_value = kept.get("all", (False, start))
            self._before_all = None
            self._configure_spin(self.all_spin, spec)
            self.all_spin.setValue(all_value)
            self.all_check.setChecked(all_on)
            self.all_check.setToolTip("Switch the threshold on for every class, with the value on the right")
            self.all_spin.setEnabled(all_on)
            if all_on:
                self._apply_all()
        finally:
            self._building = False

    def _method_changed(self, *_args) -> None:
        key = self.method()
        if self._current_method == key:
            return
        if self._current_method is not None:
            self._saved[self._current_method] = self._settings()
        self._current_method = key
        spec = self.spec()
        self.options_stack.setCurrentWidget(self.forms[key])
        # A stacked widget is as tall as its tallest page; let only the shown page count.
        for form in self.forms.values():
            form.setSizePolicy(QSizePolicy.Preferred,
                               QSizePolicy.Preferred if form is self.forms[key] else QSizePolicy.Ignored)
        self.options_stack.adjustSize()
        self.rule_label.setText(f"{spec.threshold_help} {UNCLASSIFIED_NOTE}\nUnit: {spec.threshold_unit}.")
        self.thresholds_box.setToolTip(f"{spec.threshold_help}\n\n{UNCLASSIFIED_NOTE}")
        self.method_combo.setToolTip(spec.threshold_help)
        self._build_rows(self._saved.get(key, {}))
        self.method_changed.emit(key)

    def _all_toggled(self, on: bool) -> None:
        self.all_spin.setEnabled(on)
        if on:
            self._before_all = self._settings()["rows"]
            self._apply_all()
        else:
            # Back to the per-class settings from before "One value for all classes" was
            # ticked (none on, if it was on from the start): unticking it must take it away.
            before = self._before_all or {}
            was = self._building
            self._building = True
            try:
                for name, (check, spin) in self._rows.items():
                    on_before, value = before.get(name, (False, spin.value()))
                    check.setEnabled(True)
                    check.setChecked(on_before)
                    spin.setValue(value)
                    spin.setEnabled(on_before)
            finally:
                self._building = was
            self._before_all = None
        self._emit_thresholds()

    def _all_value_changed(self, _value: float) -> None:
        if self.all_check.isChecked():
            self._apply_all()
            self._emit_thresholds()

    def _apply_all(self) -> None:
        was = self._building
        self._building = True
        try:
            for check, spin in self._rows.values():
                check.setChecked(True)
                check.setEnabled(False)
                spin.setValue(self.all_spin.value())
                spin.setEnabled(False)
        finally:
            self._building = was

    def _emit_thresholds(self, *_args) -> None:
        if self._building:
            return
        if self._debounce.isActive():
            self._pending = True     # within the quiet period: one signal at its end
            self._debounce.start()
            return
        self._pending = False
        self._debounce.start()
        self.thresholds_changed.emit()

    def _quiet_period_over(self) -> None:
        if self._pending:
            self._pending = False
            self.thresholds_changed.emit()

    def _update_hint(self) -> None:
        n = len(self._classes)
        if n < 2:
            self.hint.setText("Add at least two classes with training polygons to run a classification."
                              if n == 0 else "Only one class so far: a classification needs at least two.")
        else:
            self.hint.setText("")
        if not getattr(self, "_running", False):
            self.run_button.setEnabled(n >= 2)
