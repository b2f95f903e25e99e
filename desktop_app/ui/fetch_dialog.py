"""'Fetch imagery for ROI': choose source and dates, see the size, fetch on a worker.

The dialog builds a core ``FetchRequest`` and sizes it with ``plan_fetch``
(offline, no network) so the user sees tiles and megabytes before anything
is downloaded. The download itself runs as a job with progress and Cancel;
the result is a cached GeoTIFF that opens like any local file (and opens
again offline).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QLabel, QLineEdit, QVBoxLayout)

from ..core.errors import SatSegError

SOURCE_LABELS = {"stac": "Earth Search STAC (no account)", "earthengine": "Google Earth Engine"}


def _qdate(d: dt.date) -> QDate:
    return QDate(d.year, d.month, d.day)


class FetchDialog(QDialog):
    def __init__(self, roi: dict, cache_dir: Path, parent=None) -> None:
        super().__init__(parent)
        from ..core.online.fetch import COMPOSITES, SOURCES, default_date_range

        self.setWindowTitle("Fetch Sentinel-2 imagery for the ROI")
        self.roi, self.cache_dir = roi, cache_dir
        form = QFormLayout()
        self.source = QComboBox()
        for s in SOURCES:
            self.source.addItem(SOURCE_LABELS.get(s, s), s)
        start, end = default_date_range()
        self.start, self.end = QDateEdit(_qdate(start)), QDateEdit(_qdate(end))
        for w in (self.start, self.end):
            w.setCalendarPopup(True)
            w.setDisplayFormat("yyyy-MM-dd")
        self.composite = QComboBox()
        for c in COMPOSITES:
            self.composite.addItem(c.replace("_", " "), c)
        self.max_cloud = QDoubleSpinBox()
        self.max_cloud.setRange(1, 100)
        self.max_cloud.setValue(60)
        self.max_cloud.setSuffix(" %")
        self.ee_project = QLineEdit()
        self.ee_project.setPlaceholderText("Google Cloud project (Earth Engine only)")
        form.addRow("Source", self.source)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        form.addRow("Composite", self.composite)
        form.addRow("Max scene cloud", self.max_cloud)
        form.addRow("EE project", self.ee_project)
        self.plan = QLabel("")
        self.plan.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Fetch")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.plan)
        lay.addWidget(buttons)
        for w in (self.source, self.composite):
            w.currentIndexChanged.connect(self.update_plan)
        for w in (self.start, self.end):
            w.dateChanged.connect(self.update_plan)
        self.max_cloud.valueChanged.connect(self.update_plan)
        self.update_plan()

    def request(self):
        from ..core.online.fetch import FetchRequest

        return FetchRequest(source=self.source.currentData(), roi=self.roi,
                            start=self.start.date().toPython(), end=self.end.date().toPython(),
                            composite=self.composite.currentData(), max_cloud=self.max_cloud.value(),
                            ee_project=self.ee_project.text().strip() or None)

    def update_plan(self) -> None:
        from ..core.online.fetch import plan_fetch

        try:
            p = plan_fetch(self.request(), self.cache_dir)
        except SatSegError as exc:
            self.plan.setText(f"Cannot fetch: {exc}")
            self.ok.setEnabled(False)
            return
        self.ok.setEnabled(True)
        self.plan.setText(f"{p.width} × {p.height} px at {p.scale:g} m, {p.tiles} tile(s), "
                          f"about {p.megabytes:.0f} MB" + (" — already in the cache (no download)" if p.cached else ""))


def run_fetch_dialog(win, roi: dict) -> None:
    """Ask, then fetch on a worker; the fetched GeoTIFF opens when it is complete."""
    from ..core.online.fetch import default_cache_dir, fetch_imagery

    cache: Path = (win.project_folder / "imagery") if win.project_folder else default_cache_dir()
    dlg = FetchDialog(roi, cache, win)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return
    req = dlg.request()

    def done(result) -> None:
        win.notify(f"Fetched {result.width} × {result.height} px ({len(result.scenes)} scene(s)) into {result.path}",
                   "info")
        win.open_path(str(result.path))

    win.runner.start("fetch", lambda job: fetch_imagery(req, cache, job), label="Fetching imagery",
                     on_done=done, on_error=lambda msg: win.notify(f"Fetching imagery failed: {msg}", "error"))

