"""Status bar: cursor position (lat/lon and raster CRS), pixel values, job progress + Cancel."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar

JOB_LABEL_WIDTH = 300


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
        self.job_label.setFixedWidth(JOB_LABEL_WIDTH)
        self.job_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the running job (Esc)")
        self.cancel.clicked.connect(self.cancel_requested)
        for w in (self.coords, self.values):
            self.addWidget(w)
        # The job widgets keep their place while hidden and the label a fixed width: a job
        # starting, reporting or ending never changes the bar's geometry. Otherwise the map
        # above it is resized, and Chromium re-lays out and repaints it on the UI thread
        # (hundreds of ms under X11 for every job).
        for w in (self.job_label, self.progress, self.cancel):
            policy = w.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            w.setSizePolicy(policy)
            self.addPermanentWidget(w)
        self.setFixedHeight(max(self.sizeHint().height(), self.cancel.sizeHint().height() + 6))
        self._job_text = None
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
        text = f"{label}{(': ' + message) if message else ''}"
        if text != self._job_text:   # set only on change: progress ticks arrive many times a second
            self._job_text = text
            self.job_label.setText(QFontMetrics(self.job_label.font()).elidedText(
                text, Qt.TextElideMode.ElideRight, JOB_LABEL_WIDTH))
            self.job_label.setToolTip(text)
        value = int(round(fraction * 1000))
        if value != self.progress.value():
            # QProgressBar.setValue repaints at once, and under X11 every immediate repaint
            # composites the whole window with the map (tens of ms each, hundreds of times
            # per job). Without updates it only changes the value; the re-enable asks for one
            # ordinary, coalesced repaint.
            self.progress.setUpdatesEnabled(False)
            self.progress.setValue(value)
            self.progress.setFormat(f"{fraction * 100:.0f}%")
            self.progress.setUpdatesEnabled(True)
        for w in (self.job_label, self.progress, self.cancel):
            if not w.isVisible():
                w.setVisible(True)
        self.cancel.setEnabled(True)

    def set_idle(self) -> None:
        for w in (self.job_label, self.progress, self.cancel):
            w.setVisible(False)
        self.progress.setValue(0)
        self._job_text = None
