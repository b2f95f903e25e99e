"""Status bar: cursor position (lat/lon and raster CRS), pixel values, job progress + Cancel."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar


class SatSegStatusBar(QStatusBar):
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.coords = QLabel("")
        self.coords.setMinimumWidth(330)
        self.coords.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.values = QLabel("")
        self.values.setMinimumWidth(200)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(True)
        self.job_label = QLabel("")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the running job (Esc)")
        self.cancel.clicked.connect(self.cancel_requested)
        for w in (self.coords, self.values):
            self.addWidget(w)
        for w in (self.job_label, self.progress, self.cancel):
            self.addPermanentWidget(w)
        self.set_idle()

    def show_cursor(self, lon: Optional[float], lat: Optional[float], crs_name: str = "",
                    x: Optional[float] = None, y: Optional[float] = None) -> None:
        if lon is None or lat is None:
            self.coords.setText("")
            return
        text = f"lat {lat:.5f}  lon {lon:.5f}"
        if crs_name and x is not None and y is not None:
            text += f"   {crs_name}  {x:.1f}, {y:.1f}"
        self.coords.setText(text)

    def show_values(self, row: Optional[int], col: Optional[int], names: Sequence[str] = (),
                    values: Sequence[float] = (), extra: str = "") -> None:
        if row is None:
            self.values.setText("")
            return
        pairs = "  ".join(f"{n} {v:.4f}" for n, v in zip(names, values))
        self.values.setText(f"px {row},{col}  {pairs}{('  ' + extra) if extra else ''}")

    def set_job(self, label: str, fraction: float, message: str = "") -> None:
        self.job_label.setText(f"{label}{(': ' + message) if message else ''}")
        self.progress.setValue(int(round(fraction * 1000)))
        self.progress.setFormat(f"{fraction * 100:.0f}%")
        for w in (self.job_label, self.progress, self.cancel):
            w.setVisible(True)
        self.cancel.setEnabled(True)

    def set_idle(self) -> None:
        for w in (self.job_label, self.progress, self.cancel):
            w.setVisible(False)
        self.progress.setValue(0)
