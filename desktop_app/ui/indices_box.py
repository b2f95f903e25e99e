"""Bands panel box: spectral indices (NDVI, MNDWI … or a formula) as extra classifier bands.

Checked indices are appended to the image's bands (ui/doc_indices.py) and checked for the
classifier; the spectral plot shows them like bands. Formulas: docs/analysis.md ("Indices").
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout)

from ..core.analysis.indices import BUILTIN_INDICES, SpectralIndex, check_indices, parse_index_list
from ..core.errors import SatSegError

TIPS = {
    "NDVI": "vegetation: (B8 − B4) / (B8 + B4)",
    "NDWI": "open water (McFeeters): (B3 − B8) / (B3 + B8)",
    "MNDWI": "water, also in built-up areas: (B3 − B11) / (B3 + B11)",
    "NDBI": "built-up: (B11 − B8) / (B11 + B8)",
    "SAVI": "vegetation on bright soil: 1.5 (B8 − B4) / (B8 + B4 + 0.5)",
    "NDRE": "red-edge vegetation: (B8 − B5) / (B8 + B5)",
}


class IndicesBox(QGroupBox):
    indices_changed = Signal(list)      # [SpectralIndex]

    def __init__(self, parent=None) -> None:
        super().__init__("Spectral indices as classifier bands", parent)
        self._base: list[str] = []
        self._updating = False
        self.checks: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, name in enumerate(BUILTIN_INDICES):
            cb = QCheckBox(name)
            cb.setToolTip(TIPS[name])
            cb.toggled.connect(self._emit)
            self.checks[name] = cb
            grid.addWidget(cb, i // 3, i % 3)
        self.formula = QLineEdit()
        self.formula.setPlaceholderText("custom: NAME=(B8-B11)/(B8+B11)")
        self.formula.setToolTip("Band names, numbers, + - * / ** and parentheses; a zero denominator gives nodata")
        self.add_btn = QPushButton("Add")
        self.custom = QListWidget()
        self.custom.setMaximumHeight(70)
        self.custom.setToolTip("Custom indices; uncheck to leave one out")
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        row = QHBoxLayout()
        row.addWidget(self.formula, 1)
        row.addWidget(self.add_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addLayout(row)
        lay.addWidget(self.custom)
        lay.addWidget(self.error)
        self.add_btn.clicked.connect(self.add_custom)
        self.formula.returnPressed.connect(self.add_custom)
        self.custom.itemChanged.connect(lambda _i: self._emit())
        self.set_base_bands([])

    def set_base_bands(self, names) -> None:
        """The image's own bands: built-in indices it cannot compute are disabled."""
        self._updating = True
        self._base = list(names)
        for name, cb in self.checks.items():
            try:
                check_indices(self._base, [SpectralIndex(name, BUILTIN_INDICES[name])])
                cb.setEnabled(True)
            except SatSegError as exc:
                cb.setChecked(False)
                cb.setEnabled(False)
                cb.setToolTip(f"{TIPS[name]} — {exc}")
        self._updating = False

    def indices(self) -> list[SpectralIndex]:
        out = [SpectralIndex(n, BUILTIN_INDICES[n]) for n, cb in self.checks.items() if cb.isChecked()]
        for i in range(self.custom.count()):
            item = self.custom.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def set_indices(self, items) -> None:
        """Restore a saved list ([{"name", "formula"}] or SpectralIndex) without emitting."""
        self._updating = True
        for cb in self.checks.values():
            cb.setChecked(False)
        self.custom.clear()
        for d in items:
            idx = d if isinstance(d, SpectralIndex) else SpectralIndex(d["name"], d["formula"])
            if idx.name in self.checks and idx.formula == BUILTIN_INDICES[idx.name]:
                self.checks[idx.name].setChecked(True)
            else:
                self._add_item(idx)
        self._updating = False

    def _add_item(self, idx: SpectralIndex) -> None:
        item = QListWidgetItem(f"{idx.name} = {idx.formula}")
        item.setData(Qt.ItemDataRole.UserRole, idx)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.custom.addItem(item)

    def add_custom(self) -> None:
        text = self.formula.text().strip()
        if not text:
            return
        try:
            if "=" not in text:
                raise SatSegError("write NAME=FORMULA, e.g. WET=(B3-B12)/(B3+B12)")
            (idx,) = parse_index_list(text)
            names = [i.name.upper() for i in self.indices()] + [n.upper() for n in BUILTIN_INDICES]
            if idx.name.upper() in names:
                raise SatSegError(f"an index named {idx.name} already exists")
            check_indices(self._base, [idx])
        except (SatSegError, ValueError) as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.formula.clear()
        self._updating = True
        self._add_item(idx)
        self._updating = False
        self._emit()

    def _emit(self, *_a) -> None:
        if not self._updating:
            self.indices_changed.emit(self.indices())
