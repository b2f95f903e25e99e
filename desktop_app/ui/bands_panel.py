"""Bands panel: what the map shows (3 bands) and what the classifier uses (any bands).

The two choices are separate on purpose: a false-colour display often helps
drawing samples, while the classifier usually does best with every band.
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from ..core.raster import S2_WAVELENGTHS_NM, normalize_band_name

PRESETS: dict[str, list[str]] = {
    "True colour (B4/B3/B2)": ["B4", "B3", "B2"],
    "False colour (B8/B4/B3)": ["B8", "B4", "B3"],
    "Urban (B12/B11/B4)": ["B12", "B11", "B4"],
    "Agriculture (B11/B8/B2)": ["B11", "B8", "B2"],
    "SWIR (B12/B8A/B4)": ["B12", "B8A", "B4"],
}
CUSTOM = "Custom"
ALL_BANDS = "All bands"


def band_label(name: str) -> str:
    nm = S2_WAVELENGTHS_NM.get(normalize_band_name(name))
    return f"{name} ({nm} nm)" if nm else name


class BandsPanel(QWidget):
    display_bands_changed = Signal(list)
    classifier_bands_changed = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._updating = False
        # Scrollable: the dock is often short (tabbed above Layers).
        body = QWidget()
        lay = QVBoxLayout(body)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        disp = QGroupBox("Display on the map (red / green / blue)")
        f = QFormLayout(disp)
        self.display_preset = QComboBox()
        f.addRow("Preset", self.display_preset)
        self.rgb = [QComboBox() for _ in range(3)]
        for label, combo in zip(("Red", "Green", "Blue"), self.rgb):
            f.addRow(label, combo)
            combo.currentIndexChanged.connect(self._rgb_edited)
        self.display_preset.currentTextChanged.connect(self._display_preset_chosen)
        lay.addWidget(disp)

        clf = QGroupBox("Bands the classifier uses")
        c = QVBoxLayout(clf)
        note = QLabel("Separate from the display: the map may show false colour while the "
                      "classifier uses every band. A change here takes effect at the next Run.")
        note.setWordWrap(True)
        c.addWidget(note)
        row = QHBoxLayout()
        self.classifier_preset = QComboBox()
        self.same_as_display = QPushButton("Same as display")
        row.addWidget(self.classifier_preset, 1)
        row.addWidget(self.same_as_display)
        c.addLayout(row)
        self.band_list = QListWidget()
        self.band_list.setMinimumHeight(120)
        c.addWidget(self.band_list)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        c.addWidget(self.summary)
        self.classifier_preset.currentTextChanged.connect(self._classifier_preset_chosen)
        self.same_as_display.clicked.connect(lambda: self.set_classifier_bands(self.display_bands()))
        self.band_list.itemChanged.connect(self._checks_edited)
        lay.addWidget(clf)
        lay.addStretch(1)

    # ------------------------------------------------------------ setup
    def set_band_names(self, names: Sequence[str], display: Optional[Sequence[str]] = None,
                       classifier: Optional[Sequence[str]] = None) -> None:
        """New image: list its bands, pick the default (true colour / all bands)."""
        self._updating = True
        self._names = list(names)
        usable = [p for p, bands in PRESETS.items() if set(bands) <= {normalize_band_name(n) for n in names}]
        self.display_preset.clear()
        self.display_preset.addItems(usable + [CUSTOM])
        self.classifier_preset.clear()
        self.classifier_preset.addItems([ALL_BANDS] + usable + [CUSTOM])
        for combo in self.rgb:
            combo.clear()
            for n in self._names:
                combo.addItem(band_label(n), n)
        self.band_list.clear()
        for n in self._names:
            item = QListWidgetItem(band_label(n))
            item.setData(Qt.ItemDataRole.UserRole, n)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.band_list.addItem(item)
        self._updating = False
        default_display = display or (PRESETS[usable[0]] if usable else self._names[:3])
        self.set_display_bands(list(default_display), emit=False)
        self.set_classifier_bands(list(classifier or self._names), emit=False)

    # ------------------------------------------------------------ display
    def display_bands(self) -> list[str]:
        return [c.currentData() for c in self.rgb if c.currentData() is not None]

    def set_display_bands(self, bands: Sequence[str], emit: bool = True) -> None:
        self._updating = True
        lookup = {normalize_band_name(n): n for n in self._names}
        for combo, b in zip(self.rgb, list(bands) + [bands[-1]] * (3 - len(bands)) if bands else []):
            name = lookup.get(normalize_band_name(b), b)
            i = combo.findData(name)
            if i >= 0:
                combo.setCurrentIndex(i)
        self.display_preset.setCurrentText(self._preset_for(self.display_bands()))
        self._updating = False
        if emit:
            self.display_bands_changed.emit(self.display_bands())

    def _preset_for(self, bands: list[str]) -> str:
        norm = [normalize_band_name(b) for b in bands]
        for name, preset in PRESETS.items():
            if preset == norm and self.display_preset.findText(name) >= 0:
                return name
        return CUSTOM

    def _display_preset_chosen(self, name: str) -> None:
        if self._updating or name not in PRESETS:
            return
        self.set_display_bands(PRESETS[name])

    def _rgb_edited(self) -> None:
        if self._updating:
            return
        self._updating = True
        self.display_preset.setCurrentText(self._preset_for(self.display_bands()))
        self._updating = False
        self.display_bands_changed.emit(self.display_bands())

    # ------------------------------------------------------------ classifier
    def classifier_bands(self) -> list[str]:
        out = []
        for i in range(self.band_list.count()):
            item = self.band_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def set_classifier_bands(self, bands: Sequence[str], emit: bool = True) -> None:
        wanted = {normalize_band_name(b) for b in bands}
        self._updating = True
        for i in range(self.band_list.count()):
            item = self.band_list.item(i)
            on = normalize_band_name(item.data(Qt.ItemDataRole.UserRole)) in wanted
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self._sync_classifier_preset()
        self._updating = False
        self._update_summary()
        if emit:
            self.classifier_bands_changed.emit(self.classifier_bands())

    def _sync_classifier_preset(self) -> None:
        chosen = self.classifier_bands()
        if chosen == self._names:
            self.classifier_preset.setCurrentText(ALL_BANDS)
            return
        norm = {normalize_band_name(b) for b in chosen}
        for name, preset in PRESETS.items():
            if set(preset) == norm and self.classifier_preset.findText(name) >= 0:
                self.classifier_preset.setCurrentText(name)
                return
        self.classifier_preset.setCurrentText(CUSTOM)

    def _classifier_preset_chosen(self, name: str) -> None:
        if self._updating:
            return
        if name == ALL_BANDS:
            self.set_classifier_bands(self._names)
        elif name in PRESETS:
            self.set_classifier_bands(PRESETS[name])

    def _checks_edited(self, _item) -> None:
        if self._updating:
            return
        self._updating = True
        self._sync_classifier_preset()
        self._updating = False
        self._update_summary()
        self.classifier_bands_changed.emit(self.classifier_bands())

    def _update_summary(self) -> None:
        n = len(self.classifier_bands())
        self.summary.setText(f"Classifier: {n} of {len(self._names)} bands" if n else
                             "Check at least one band for the classifier.")
