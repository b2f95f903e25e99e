"""Layers panel: visibility and opacity of the image, the samples and each class mask.

Changing a slider only sends a command to the map; nothing is recomputed.
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QLabel, QScrollArea, QSlider, QVBoxLayout,
                               QWidget)

from ..core.classes import ClassInfo
from ..core.display import UNCLASSIFIED_COLOR

IMAGE, SAMPLES = "image", "samples"
DEFAULT_MASK_OPACITY = 0.6


def mask_layer_id(class_id: int) -> str:
    return f"mask-{class_id}"


class _LayerRow:
    def __init__(self, layer_id: str, name: str, color: Optional[str], opacity: Optional[float],
                 visible: bool) -> None:
        self.id = layer_id
        self.check = QCheckBox(name)
        self.check.setChecked(visible)
        self.swatch = QLabel()
        self.swatch.setFixedSize(14, 14)
        if color:
            self.swatch.setStyleSheet(f"background:{color}; border:1px solid #444;")
        self.slider: Optional[QSlider] = None
        if opacity is not None:
            self.slider = QSlider(Qt.Orientation.Horizontal)
            self.slider.setRange(0, 100)
            self.slider.setValue(int(round(opacity * 100)))
            self.slider.setToolTip(f"Opacity of {name}")
            self.slider.setMinimumWidth(90)


class LayersPanel(QWidget):
    visibility_changed = Signal(str, bool)
    opacity_changed = Signal(str, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.grid = QGridLayout(body)
        self.grid.setColumnStretch(2, 1)
        scroll.setWidget(body)
        outer.addWidget(scroll)
        self.rows: dict[str, _LayerRow] = {}
        self._mask_entries: list = []      # (id, name, colour) of the mask rows shown
        self._add_row(_LayerRow(IMAGE, "Image", None, 1.0, True))
        self._add_row(_LayerRow(SAMPLES, "Sample polygons", None, None, True))
        self.hint = QLabel("Masks appear here after a Run.")
        self.hint.setWordWrap(True)
        self.grid.addWidget(self.hint, 99, 0, 1, 3)

    def _add_row(self, row: _LayerRow) -> None:
        r = len(self.rows)
        self.rows[row.id] = row
        self.grid.addWidget(row.swatch, r, 0)
        self.grid.addWidget(row.check, r, 1)
        if row.slider is not None:
            self.grid.addWidget(row.slider, r, 2)
            row.slider.valueChanged.connect(lambda v, i=row.id: self.opacity_changed.emit(i, v / 100))
        row.check.toggled.connect(lambda on, i=row.id: self.visibility_changed.emit(i, on))

    def set_masks(self, classes: Sequence[ClassInfo], unclassified_visible: bool = True,
                  state: Optional[dict] = None, unclassified: bool = True) -> None:
        """One row per class mask plus 'Unclassified' (only when some pixel is); keeps settings of rows that stay."""
        state = state or {}
        entries = [(mask_layer_id(c.id), f"{c.name} mask", c.color, True) for c in classes]
        if unclassified:
            entries.append((mask_layer_id(0), "Unclassified", UNCLASSIFIED_COLOR, unclassified_visible))
        if not state and self._mask_entries == [e[:3] for e in entries]:
            return    # the same rows (a threshold change): rebuilding them cost the UI thread ~5 ms
        keep = {k: (r.slider.value() / 100 if r.slider else None, r.check.isChecked())
                for k, r in self.rows.items()}
        self.clear_masks()
        self._mask_entries = [e[:3] for e in entries]
        for lid, name, color, vis in entries:
            opacity, visible = keep.get(lid, (DEFAULT_MASK_OPACITY, vis))
            if lid in state:
                opacity, visible = state[lid].get("opacity", opacity), state[lid].get("visible", visible)
            self._add_row(_LayerRow(lid, name, color, opacity, visible))
        self.hint.setVisible(False)

    def clear_masks(self) -> None:
        self._mask_entries = []
        for lid in [k for k in self.rows if k.startswith("mask-")]:
            row = self.rows.pop(lid)
            for w in (row.swatch, row.check, row.slider):
                if w is not None:
                    self.grid.removeWidget(w)
                    w.deleteLater()
        self.hint.setVisible(True)

    def opacity(self, layer_id: str) -> float:
        row = self.rows[layer_id]
        return row.slider.value() / 100 if row.slider else 1.0

    def visible(self, layer_id: str) -> bool:
        return self.rows[layer_id].check.isChecked()

    def set_opacity(self, layer_id: str, value: float) -> None:
        row = self.rows[layer_id]
        if row.slider is not None:
            row.slider.setValue(int(round(value * 100)))

    def set_visible(self, layer_id: str, on: bool) -> None:
        self.rows[layer_id].check.setChecked(on)

    def state(self) -> dict:
        return {k: {"opacity": self.opacity(k), "visible": self.visible(k)} for k in self.rows}

    def apply_state(self, state: dict) -> None:
        for k, s in (state or {}).items():
            if k in self.rows:
                if "opacity" in s:
                    self.set_opacity(k, float(s["opacity"]))
                if "visible" in s:
                    self.set_visible(k, bool(s["visible"]))
