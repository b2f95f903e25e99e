"""'Fetch imagery for ROI': choose source, dates, bands and scale, see the size, fetch on a worker.

The dialog builds a core ``FetchRequest`` and sizes it with ``plan_fetch``
(offline, no network) so the user sees tiles and megabytes before anything
is downloaded. The download itself runs as a job with progress and Cancel;
the result is a cached GeoTIFF that opens like any local file (and opens
again offline). Earth Engine's project, key file and endpoint come from the
settings kept by the 'Earth Engine account' dialog (``ee_account.py``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QDate, QSettings
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout)

from ..core.errors import SatSegError
from ..core.raster import parse_band_list
from .ee_account import EeAccountDialog, EeSettings, account_summary, load_ee_settings, save_ee_settings
from .settings import user_settings

SOURCE_LABELS = {"stac": "Earth Search STAC (no account)", "earthengine": "Google Earth Engine"}
# Band presets offered next to the free-text band list (the list itself is what is fetched).
BAND_PRESETS = (
    ("Default (10 + 20 m bands)", None),      # None: fetch.DEFAULT_BANDS
    ("True colour + NIR", ("B4", "B3", "B2", "B8")),
    ("All 12 bands", ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12")),
)


def _qdate(d: dt.date) -> QDate:
    return QDate(d.year, d.month, d.day)


class FetchDialog(QDialog):
    def __init__(self, roi: dict, cache_dir: Path, parent=None, settings: Optional[QSettings] = None,
                 runner=None, notify=None) -> None:
        super().__init__(parent)
        from ..core.online.fetch import COMPOSITES, DEFAULT_BANDS, SCALES, SOURCES, default_date_range

        self.setWindowTitle("Fetch Sentinel-2 imagery for the ROI")
        self.setMinimumWidth(560)
        self.roi, self.cache_dir = roi, cache_dir
        self.settings = settings if settings is not None else user_settings()
        self.runner, self.notify = runner, notify
        self.ee = load_ee_settings(self.settings)
        form = QFormLayout()
        self.source = QComboBox()
        for s in SOURCES:
            self.source.addItem(SOURCE_LABELS.get(s, s), s)
        # Earth Search needs no account, so it is what a first fetch can actually run.
        self.source.setCurrentIndex(self.source.findData("stac"))
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
        self.max_cloud.setDecimals(0)
        self.max_cloud.setValue(60)
        self.max_cloud.setSuffix(" %")
        self.bands = QLineEdit(",".join(DEFAULT_BANDS))
        self.bands.setToolTip("Comma-separated Sentinel-2 bands, e.g. B4,B3,B2,B8")
        self.band_preset = QComboBox()
        for label, bands in BAND_PRESETS:
            self.band_preset.addItem(label, ",".join(bands or DEFAULT_BANDS))
        self.band_preset.setPlaceholderText("Presets…")
        self.band_preset.setCurrentIndex(-1)   # the text field is the truth; a preset only fills it
        self.bands.setMinimumWidth(260)
        self.bands.setCursorPosition(0)
        band_row = QHBoxLayout()
        band_row.addWidget(self.bands, 1)
        band_row.addWidget(self.band_preset, 0)
        self.scale = QComboBox()
        for m in SCALES:
            self.scale.addItem(f"{m} m", m)
        self.tile_size = QSpinBox()
        self.tile_size.setRange(0, 4096)
        self.tile_size.setSingleStep(128)
        self.tile_size.setSpecialValueText("automatic")   # 0: the source's default
        self.tile_size.setSuffix(" px")
        self.tile_size.setToolTip("Side of one request in pixels. Lower it (e.g. 256) when Earth Engine answers "
                                  "'User memory limit exceeded' or 'Computation timed out'.")
        self.ee_project = QLineEdit(self.ee.project or "")
        self.ee_project.setPlaceholderText("Google Cloud project id (registered for Earth Engine)")
        self.ee_account = QLabel()
        self.ee_account.setWordWrap(True)
        self.account_button = QPushButton("Account…")
        self.account_button.setToolTip("Sign in, choose a service-account key or an endpoint, test the connection")
        self.account_button.setEnabled(runner is not None)
        account_row = QHBoxLayout()
        account_row.addWidget(self.ee_account, 1)
        account_row.addWidget(self.account_button)
        form.addRow("Source", self.source)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        form.addRow("Composite", self.composite)
        form.addRow("Max scene cloud", self.max_cloud)
        form.addRow("Bands", band_row)
        form.addRow("Pixel size", self.scale)
        form.addRow("Tile size", self.tile_size)
        form.addRow("EE project", self.ee_project)
        form.addRow("EE account", account_row)
        self._ee_widgets = (self.ee_project, self.ee_account, self.account_button,
                            form.labelForField(self.ee_project), form.labelForField(account_row))
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
        self.scale.currentIndexChanged.connect(self.update_plan)
        self.tile_size.valueChanged.connect(self.update_plan)
        self.bands.textChanged.connect(self.update_plan)
        self.ee_project.textChanged.connect(self.update_plan)
        self.band_preset.activated.connect(self._apply_preset)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.account_button.clicked.connect(self.open_account)
        self.accepted.connect(self._remember_project)
        self._show_account()
        self._source_changed()

    def _apply_preset(self, index: int) -> None:
        self.bands.setText(self.band_preset.itemData(index))
        self.bands.setCursorPosition(0)   # show the start of a long list

    def _is_ee(self) -> bool:
        return self.source.currentData() == "earthengine"

    def _source_changed(self) -> None:
        for w in self._ee_widgets:
            if w is not None:
                w.setEnabled(self._is_ee() and (w is not self.account_button or self.runner is not None))
        self.update_plan()

    def _show_account(self) -> None:
        self.ee_account.setText(account_summary(self.ee_settings()))

    def ee_settings(self) -> EeSettings:
        """The saved account settings with this dialog's project id."""
        return EeSettings(self.ee_project.text().strip() or None, self.ee.key_file, self.ee.url)

    def _remember_project(self) -> None:
        save_ee_settings(self.settings, self.ee_settings())

    def open_account(self) -> None:
        """The account dialog, modal over this one; its changes flow back into the request."""
        self._remember_project()
        dlg = EeAccountDialog(self.settings, self.runner, self.notify, self)
        self.account_dialog = dlg
        dlg.exec()
        self.reload_account()

    def reload_account(self) -> None:
        self.ee = load_ee_settings(self.settings)
        self.ee_project.setText(self.ee.project or "")
        self._show_account()
        self.update_plan()

    def request(self):
        from ..core.online.fetch import FetchRequest

        return FetchRequest(source=self.source.currentData(), roi=self.roi,
                            start=self.start.date().toPython(), end=self.end.date().toPython(),
                            bands=parse_band_list(self.bands.text()) or [], scale=self.scale.currentData(),
                            composite=self.composite.currentData(), max_cloud=self.max_cloud.value(),
                            tile_size=self.tile_size.value() or None,
                            **(self._ee_fields() if self._is_ee() else {}))

    def _ee_fields(self) -> dict:
        ee = self.ee_settings()
        return {"ee_project": ee.project, "ee_key_file": ee.key_file, "ee_url": ee.url}

    def update_plan(self) -> None:
        from ..core.online.fetch import plan_fetch

        try:
            p = plan_fetch(self.request(), self.cache_dir)
        except SatSegError as exc:
            self.plan.setText(f"Cannot fetch: {exc}")
            self.ok.setEnabled(False)
            return
        self.ok.setEnabled(True)
        text = (f"{p.width} × {p.height} px at {p.scale:g} m, {p.tiles} tile(s), "
                f"about {_size_text(p.megabytes)}" + (" — already in the cache (no download)" if p.cached else ""))
        ee = self.ee_settings()
        if self._is_ee() and not p.cached and not (ee.project or ee.key_file):
            # Stored credentials may carry a quota project, so this is a hint, not a block.
            text += "\nNo Cloud project set: enter one above or in Account… unless your sign-in has one."
        self.plan.setText(text)


def run_fetch_dialog(win, roi: dict) -> None:
    """Ask, then fetch on a worker; the fetched GeoTIFF opens when it is complete."""
    from ..core.online.fetch import default_cache_dir, fetch_imagery

    cache: Path = (win.project_folder / "imagery") if win.project_folder else default_cache_dir()
    dlg = FetchDialog(roi, cache, win, settings=win.settings, runner=win.runner, notify=win.notify)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return
    req = dlg.request()

    def done(result) -> None:
        win.notify(f"Fetched {result.width} × {result.height} px ({len(result.scenes)} scene(s)) into {result.path}",
                   "info")
        win.open_path(str(result.path))

    win.runner.start("fetch", lambda job: fetch_imagery(req, cache, job), label="Fetching imagery",
                     on_done=done, on_error=lambda msg: win.notify(f"Fetching imagery failed: {msg}", "error"))


def _size_text(megabytes: float) -> str:
    """'about 0 MB' told a user nothing: small downloads keep a digit or say kB."""
    if megabytes >= 10:
        return f"{megabytes:.0f} MB"
    if megabytes >= 1:
        return f"{megabytes:.1f} MB"
    return f"{max(megabytes * 1024, 1):.0f} kB"
