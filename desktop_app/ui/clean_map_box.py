"""Results panel box: clean the classified map (majority filter, sieve by hectares).

The cleaned map replaces the shown result, so the masks, the area table, the accuracy and every
export describe the same cleaned map; "Restore" brings the classifier's map back. Rules:
docs/analysis.md ("Clean maps").
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout)


def clean_result(res, majority: int, sieve_ha: float, small: str, job=None):
    """A RunResult for the cleaned map of ``res`` (worker thread; Qt-free work)."""
    from ..core.accuracy import accuracy_against_polygons
    from ..core.analysis.postprocess import clean_class_array
    from ..core.areas import class_areas
    from ..core.display import mask_overlays
    from ..core.jobs import ensure_job
    from .pipeline import DISPLAY_MAX

    job = ensure_job(job)
    doc = res.request.doc
    array, steps = clean_class_array(res.class_array, doc.transform, doc.crs, majority, sieve_ha, small=small,
                                     job=job.sub(0, 0.7))
    overlays = mask_overlays(array, doc.transform, doc.crs, res.classes, max_size=DISPLAY_MAX)
    areas = class_areas(array, doc.transform, doc.crs, res.classes)
    accuracy = None
    if res.accuracy is not None:
        accuracy = accuracy_against_polygons(array, doc.transform, doc.crs, res.request.samples, res.classes,
                                            reference=doc.reference)
    job.step(1.0, "cleaned")
    out = replace(res, class_array=array, overlays=overlays, areas=areas, accuracy=accuracy, refit=False,
                  warnings=[])
    out.cleaning = steps
    out.original = getattr(res, "original", None) or res
    return out


class CleanMapBox(QGroupBox):
    def __init__(self, window, parent=None) -> None:
        super().__init__("Clean map", parent)
        self.window = window
        self.majority = QSpinBox()
        self.majority.setRange(1, 15)
        self.majority.setSingleStep(2)
        self.majority.setValue(3)
        self.majority.setPrefix("majority ")
        self.majority.setSuffix(" px")
        self.majority.setToolTip("K×K majority filter (odd K; 1 = off): each pixel takes the most frequent class "
                                 "around it; nodata does not vote")
        self.sieve = QDoubleSpinBox()
        self.sieve.setRange(0.0, 1000.0)
        self.sieve.setDecimals(2)
        self.sieve.setValue(0.5)
        self.sieve.setPrefix("sieve ")
        self.sieve.setSuffix(" ha")
        self.sieve.setToolTip("Patches smaller than this ground area are merged into their largest neighbour")
        self.small = QComboBox()
        self.small.addItems(["merge", "drop"])
        self.small.setToolTip("merge: small patches join their largest neighbour; drop: they become unclassified")
        self.apply_btn = QPushButton("Clean")
        self.apply_btn.setToolTip("Replace the shown map by the cleaned one: masks, areas, accuracy and exports")
        self.restore_btn = QPushButton("Restore")
        self.restore_btn.setToolTip("Show the classifier's map again")
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        for w in (self.majority, self.sieve, self.small):
            row.addWidget(w)
        row2 = QHBoxLayout()
        row2.addWidget(self.apply_btn)
        row2.addWidget(self.restore_btn)
        row2.addWidget(self.info, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(row2)
        self.apply_btn.clicked.connect(self.apply)
        self.restore_btn.clicked.connect(self.restore)
        self.update_state()

    def update_state(self) -> None:
        res = self.window.result
        self.apply_btn.setEnabled(res is not None)
        self.restore_btn.setEnabled(res is not None and getattr(res, "original", None) is not None)
        if res is None or getattr(res, "cleaning", None) is None:
            self.info.setText("")

    def apply(self) -> None:
        res = self.window.result
        if res is None:
            return
        k = self.majority.value()
        if k % 2 == 0:
            k += 1
            self.majority.setValue(k)
        base = getattr(res, "original", None) or res
        ha, small = self.sieve.value(), self.small.currentText()

        def done(out) -> None:
            self.window._show_result(out)
            s = out.cleaning
            self.window.status.showMessage(f"Map cleaned: {s['changed_pixels']:,} pixels changed; areas, accuracy "
                                           "and exports now describe the cleaned map", 15000)
            self.info.setText(f"majority {s['majority']}×{s['majority']}, sieve {s['sieve_pixels']} px: "
                              f"{s['changed_pixels']:,} pixels changed")
            self.update_state()

        self.window.runner.start("clean", lambda job: clean_result(base, k, ha, small, job), label="Cleaning the map",
                                 on_done=done, on_error=lambda msg: self.window.notify(f"Cleaning failed: {msg}",
                                                                                       "error"))

    def restore(self) -> None:
        res = self.window.result
        original = getattr(res, "original", None) if res is not None else None
        if original is not None:
            self.window._show_result(original)
            self.info.setText("The classifier's map is shown again.")
            self.update_state()
