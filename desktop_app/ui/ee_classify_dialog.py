"""'Classify on Earth Engine': the fetch dialog's imagery choices plus where a large result goes.

Up to ``SMALL_MAX_PIXELS`` the class raster comes back tile by tile. A larger
region, or any region when the user asks, is exported by Earth Engine to a
Google Drive folder or a Cloud Storage bucket; the task is then followed and
downloaded from Classify ▸ Earth Engine tasks… (``ee_tasks_dialog.py``). The
destination last used is remembered in the window's settings (docs/scale.md).
"""
from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout

from ..core.errors import SatSegError
from .fetch_dialog import FetchDialog, _size_text

KEY_KIND = "earthengine/export_kind"
KEY_FOLDER = "earthengine/export_drive_folder"
KEY_BUCKET = "earthengine/export_bucket"
KINDS = (("Google Drive folder", "drive"), ("Cloud Storage bucket", "gcs"))
# Cloud Storage's bucket naming rules (lower case, digits, - _ .; 3..222 characters).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


def _text(settings, key: str, default: str = "") -> str:
    value = settings.value(key, default)
    return str(value).strip() if value is not None else default


class ExportDestination(QGroupBox):
    """'Export on Earth Engine': Drive folder or Cloud Storage bucket, and the files' name."""

    def __init__(self, settings, parent=None) -> None:
        super().__init__("Export the result on Earth Engine instead of downloading it now", parent)
        self.settings = settings
        self.setCheckable(True)
        self.setChecked(False)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)    # folder and file names are user text
        self.kind = QComboBox()
        for label, kind in KINDS:
            self.kind.addItem(label, kind)
        self.folder = QLineEdit(_text(settings, KEY_FOLDER, "satseg"))
        self.folder.setPlaceholderText("a folder name in your Google Drive (made if missing)")
        self.bucket = QLineEdit(_text(settings, KEY_BUCKET))
        self.bucket.setPlaceholderText("a bucket your Earth Engine project can write to")
        self.name = QLineEdit()
        self.name.setToolTip("Earth Engine names the file NAME.tif (or NAME-row-col.tif pieces for a very large "
                             "result); SatSeg joins the pieces when it downloads them")
        self.form = QFormLayout()
        self.form.addRow("Save to", self.kind)
        self.form.addRow("Drive folder", self.folder)
        self.form.addRow("Bucket", self.bucket)
        self.form.addRow("File name", self.name)
        lay = QVBoxLayout(self)
        lay.addWidget(self.note)
        lay.addLayout(self.form)
        self.kind.setCurrentIndex(max(0, self.kind.findData(_text(settings, KEY_KIND, "drive"))))
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        drive = self.kind.currentData() == "drive"
        for w, on in ((self.folder, drive), (self.bucket, not drive)):
            w.setVisible(on)
            self.form.labelForField(w).setVisible(on)

    def problem(self) -> Optional[str]:
        """What is missing, in the user's words (None when the destination is complete)."""
        name = self.name.text().strip()
        if self.kind.currentData() == "drive":
            if not self.folder.text().strip() or "/" in self.folder.text():
                return "Enter the Google Drive folder the result goes to (one folder name, no '/')."
            if "/" in name:
                return "The file name cannot contain '/' for Google Drive."
        elif not self.bucket.text().strip():
            return "Enter the Cloud Storage bucket the result goes to."
        elif not BUCKET_NAME.fullmatch(self.bucket.text().strip()):
            return (f"'{self.bucket.text().strip()}' is not a Cloud Storage bucket name: lower-case letters, digits, "
                    "'-', '_' and '.' only.")
        if not name:
            return "Enter a file name for the exported result."
        return None

    def destination(self) -> str:
        """'drive:FOLDER/NAME' or 'gs://BUCKET/NAME', as core/scale/ee_tasks.parse_destination reads it."""
        problem = self.problem()
        if problem:
            raise SatSegError(problem)
        name = self.name.text().strip()
        if self.kind.currentData() == "drive":
            return f"drive:{self.folder.text().strip()}/{name}"
        return f"gs://{self.bucket.text().strip()}/{name}"

    def remember(self) -> None:
        self.settings.setValue(KEY_KIND, self.kind.currentData())
        self.settings.setValue(KEY_FOLDER, self.folder.text().strip())
        self.settings.setValue(KEY_BUCKET, self.bucket.text().strip())
        self.settings.sync()


class ClassifyOnEarthEngineDialog(FetchDialog):
    """The fetch dialog on the Earth Engine source, sized for a class raster, with the export choice."""

    def __init__(self, roi: dict, cache_dir, parent=None, *, settings=None, runner=None, notify=None,
                 file_name: str = "satseg_classes") -> None:
        super().__init__(roi, cache_dir, parent, settings=settings, runner=runner, notify=notify)
        from ..core.scale.ee_run import SMALL_MAX_PIXELS

        self.setWindowTitle("Classify on Earth Engine")
        self.limit = SMALL_MAX_PIXELS
        self.ok.setText("Classify")
        self.export_box = ExportDestination(self.settings, self)
        self.export_box.name.setText(file_name)
        lay = self.layout()
        lay.insertWidget(lay.count() - 1, self.export_box)      # above the buttons
        self._was_big = False
        self.export_box.toggled.connect(self.update_plan)
        self.export_box.kind.currentIndexChanged.connect(self.update_plan)
        for w in (self.export_box.folder, self.export_box.bucket, self.export_box.name):
            w.textChanged.connect(self.update_plan)
        self.accepted.connect(self._remember_destination)
        self.source.setCurrentIndex(self.source.findData("earthengine"))   # classifying runs on Earth Engine
        self.source.setEnabled(False)
        self.update_plan()

    def export(self) -> Optional[str]:
        """The export destination, or None to bring the result back tile by tile."""
        return self.export_box.destination() if self.export_box.isChecked() else None

    def _remember_destination(self) -> None:
        if self.export_box.isChecked():
            self.export_box.remember()

    def update_plan(self) -> None:
        """The result's size (one byte per pixel) and, past the tile limit, why it must be exported."""
        if not hasattr(self, "export_box"):      # FetchDialog.__init__ calls this before the box exists
            return
        from ..core.scale.ee_run import result_grid

        box = self.export_box
        try:
            grid = result_grid(self.request())
        except SatSegError as exc:
            self.plan.setText(f"Cannot classify: {exc}")
            self.ok.setEnabled(False)
            return
        pixels = grid.width * grid.height
        big = pixels > self.limit
        text = (f"Result: {grid.width:,} × {grid.height:,} px at {self.scale.currentData()} m "
                f"({pixels / 1e6:,.1f} million pixels, about {_size_text(pixels / 2 ** 20)}).")
        if big and not self._was_big:
            box.setChecked(True)                 # the only way such a result can come back
        self._was_big = big
        if big:
            box.note.setText(f"This result is larger than the {self.limit / 1e6:g} million pixels SatSeg brings "
                             "back tile by tile, so Earth Engine writes it to your Google Drive or a Cloud Storage "
                             "bucket. Follow the task, and download it when it is done, in Classify ▸ "
                             "Earth Engine tasks.")
        else:
            box.note.setText("Earth Engine writes the result to your Google Drive or a Cloud Storage bucket; "
                             "follow the task, and download it when it is done, in Classify ▸ Earth Engine tasks.")
        problem = None
        if big and not box.isChecked():
            problem = ("Too large to bring back tile by tile: export it (below), choose a coarser pixel size, "
                       "or draw a smaller region.")
        elif box.isChecked():
            problem = box.problem()
        self.plan.setText(text + (f"\n{problem}" if problem else ""))
        self.ok.setEnabled(problem is None)
