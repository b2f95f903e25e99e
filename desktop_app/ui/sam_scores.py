"""The SAM-2 panel's score table: classifier vs refined vs fine-tuned on the validation polygons.

One column per result and one row per measure (overall accuracy, kappa, then the IoU of each
class), so the table stays narrow in the dock however many classes there are. A SAM result
scoring below the classifier is named in a red line above the table and its column is red; a
class IoU below the classifier's is red too. Nothing is hidden (docs/sam.md, "Scores").
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

NAMES = {"classifier": "Classifier", "refined": "Refined", "fine-tuned": "Fine-tuned"}
WORSE = QColor("#b00020")


def _label() -> QLabel:
    lab = QLabel()
    lab.setTextFormat(Qt.TextFormat.PlainText)   # class names are the user's text, never HTML
    lab.setWordWrap(True)
    return lab


class ScoreTable(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        # above the table: it stays in view whatever the number of class rows
        self.worse_label = _label()
        self.worse_label.setStyleSheet("color: #b00020; font-weight: bold")
        self.best_label = _label()
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.worse_label)
        lay.addWidget(self.best_label)
        lay.addWidget(self.table)
        self.show_scores(None)

    def show_scores(self, table: Optional[dict]) -> None:
        rows = (table or {}).get("rows", [])
        classes = list(rows[0]["iou"]) if rows else []
        measures = [("Overall acc.", "overall_accuracy"), ("Kappa", "kappa")] + [(f"IoU {c}", c) for c in classes]
        self.table.clear()
        self.table.setColumnCount(len(rows))
        self.table.setRowCount(len(measures) if rows else 0)
        self.table.setVerticalHeaderLabels([m for m, _k in measures])
        base = next((r for r in rows if r["result"] == "classifier"), None)
        for col, row in enumerate(rows):
            # "(worse)" on a second line: the narrow dock keeps the whole header readable
            head = QTableWidgetItem(NAMES.get(row["result"], row["result"]) + ("\n(worse)" if row["worse"] else ""))
            if row["worse"]:
                head.setForeground(WORSE)
                head.setToolTip("SAM-2 made this result worse than the classifier's")
            if table.get("best") == row["result"]:
                font = QFont()
                font.setBold(True)
                head.setFont(font)
            self.table.setHorizontalHeaderItem(col, head)
            for r, (_m, key) in enumerate(measures):
                value = row[key] if r < 2 else row["iou"].get(key)
                item = QTableWidgetItem(_fmt(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                ref = None if base is None or row is base else (base[key] if r < 2 else base["iou"].get(key))
                if row["worse"] or (value is not None and ref is not None and value < ref):
                    item.setForeground(WORSE)
                    item.setToolTip("lower than the classifier's")
                self.table.setItem(r, col, item)
        self._fit_height()
        self.table.setVisible(bool(rows))
        if not rows:
            self.best_label.setText("Draw validation polygons to compare the classifier with SAM-2's results.")
            self.worse_label.hide()
            return
        worse = [NAMES.get(r["result"], r["result"]) for r in rows if r["worse"]]
        self.worse_label.setText(f"SAM-2 made it worse: {', '.join(worse)} scores below the classifier." if worse else "")
        self.worse_label.setVisible(bool(worse))
        self.best_label.setText(f"Best on the validation polygons: {NAMES.get(table['best'], table['best'])} "
                                f"({rows[0]['reference_pixels']} reference pixels).")

    def _fit_height(self) -> None:
        """As tall as its rows: the dock scrolls, the table never hides a row behind its own scrollbar."""
        t = self.table
        rows = sum(t.verticalHeader().sectionSize(r) for r in range(t.rowCount()))
        head = max(t.horizontalHeader().sizeHint().height(), t.horizontalHeader().height())
        t.setFixedHeight(head + rows + 2 * t.frameWidth() + 4)


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"
