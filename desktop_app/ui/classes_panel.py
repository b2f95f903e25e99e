"""Dock panel: the land-cover classes, their sample counts, and sample files.

The table shows one row per class: colour, name (double-click to rename),
training and validation polygons, and training pixels. The selected row is
the class new polygons are drawn for. Everything edits the shared
:class:`SampleModel`, so Undo/Redo here and in the Edit menu are the same.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QColorDialog, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QInputDialog,
    QLabel, QMessageBox, QPushButton, QRadioButton, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from ..core.errors import SatSegError
from .sample_model import SampleModel

COL_COLOR, COL_NAME, COL_TRAIN, COL_VALID, COL_PIXELS = range(5)
SAMPLE_FILTER = "Sample polygons (*.geojson *.json *.kml *.gpkg);;GeoJSON (*.geojson *.json);;KML (*.kml);;GeoPackage (*.gpkg)"
VISIBLE_ROWS = 6   # the table shows this many classes before it scrolls (the demo has 5)
EXPORT_FILTER = "GeoJSON (*.geojson);;KML (*.kml);;GeoPackage (*.gpkg)"


def swatch(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)


class ClassesPanel(QWidget):
    #: "training" or "validation": the role the next drawn polygon gets.
    drawing_role_changed = Signal(str)
    #: class id: the user picked (or added) the class new polygons go to; a class list loaded or
    #: replaced by the app (a project, a SAM model's classes) does not emit it.
    class_chosen = Signal(int)

    def __init__(self, model: SampleModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.model = model
        self._updating = False

        self.undo_action = model.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo_action.setToolTip("Undo the last change to classes or sample polygons (Ctrl+Z)")
        self.redo_action = model.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.redo_action.setToolTip("Redo the last undone change (Ctrl+Shift+Z)")

        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(["", "Class", "Training", "Validation", "Pixels"])
        tips = ["Class colour (Colour… to change)", "Class name (double-click to rename)",
                "Number of training polygons", "Number of validation polygons (used only for accuracy)",
                "Image pixels inside the training polygons (known once an image is loaded)"]
        for col, tip in enumerate(tips):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.Stretch)
        for col in (COL_COLOR, COL_TRAIN, COL_VALID, COL_PIXELS):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.setToolTip("Select the class you are drawing sample polygons for")

        self.add_button = self._button("Add class…", "Add a new class and name it", self.add_class)
        self.rename_button = self._button("Rename", "Rename the selected class", self.rename_selected)
        self.color_button = self._button("Colour…", "Change the colour of the selected class", self.recolor_selected)
        self.delete_button = self._button("Delete", "Delete the selected class and all its polygons (Undo restores them)",
                                          self.delete_selected)
        self.import_button = self._button("Import samples…", "Add sample polygons from a GeoJSON, KML or GeoPackage "
                                          "file; the 'class' attribute names the class", self.import_dialog)
        self.export_button = self._button("Export samples…", "Save all sample polygons (with class and role) as "
                                          "GeoJSON, KML or GeoPackage", self.export_dialog)
        self.hold_out_button = self._button(
            "Hold out for validation…", "Mark a random share of each class's training polygons as validation "
            "(kept apart to measure accuracy); one training polygon always stays. Undo reverts it.",
            self.hold_out_dialog)
        # Short fixed labels (the actions' own text grows to "Undo add water polygon");
        # the tooltip says what would be undone.
        stack = model.undo_stack
        self.undo_button = QToolButton(self)
        self.undo_button.setText("Undo")
        self.undo_button.clicked.connect(stack.undo)
        self.redo_button = QToolButton(self)
        self.redo_button.setText("Redo")
        self.redo_button.clicked.connect(stack.redo)
        stack.canUndoChanged.connect(self.undo_button.setEnabled)
        stack.canRedoChanged.connect(self.redo_button.setEnabled)
        # Bound methods, not lambdas: Qt drops them when the panel goes, the stack may live on.
        stack.undoTextChanged.connect(self._undo_text)
        stack.redoTextChanged.connect(self._redo_text)
        self.undo_button.setEnabled(stack.canUndo())
        self.redo_button.setEnabled(stack.canRedo())
        self.undo_button.setToolTip("Nothing to undo")
        self.redo_button.setToolTip("Nothing to redo")

        self.training_radio = QRadioButton("Training", self)
        self.training_radio.setToolTip("New polygons teach the classifier what the class looks like")
        self.validation_radio = QRadioButton("Validation", self)
        self.validation_radio.setToolTip("New polygons are kept apart to measure accuracy; they are not used for training")
        self.training_radio.setChecked(True)
        self._role_group = QButtonGroup(self)
        self._role_group.addButton(self.training_radio)
        self._role_group.addButton(self.validation_radio)
        self.training_radio.toggled.connect(lambda _: self.drawing_role_changed.emit(self.drawing_role()))

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)   # quotes class and file names
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)

        buttons = QGridLayout()
        for i, b in enumerate([self.add_button, self.rename_button, self.color_button, self.delete_button]):
            buttons.addWidget(b, 0, i)
        buttons.addWidget(self.import_button, 1, 0, 1, 2)
        buttons.addWidget(self.export_button, 1, 2, 1, 2)
        buttons.addWidget(self.hold_out_button, 2, 0, 1, 4)
        role_row = QHBoxLayout()
        role_row.addWidget(QLabel("New polygons are:", self))
        role_row.addWidget(self.training_radio)
        role_row.addWidget(self.validation_radio)
        role_row.addStretch(1)
        role_row.addWidget(self.undo_button)
        role_row.addWidget(self.redo_button)
        self.tools_row = QHBoxLayout()
        self.tools_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(role_row)
        layout.addLayout(self.tools_row)
        layout.addWidget(self.status)
        self.table.setMinimumHeight(self._rows_height(VISIBLE_ROWS))

        model.classes_changed.connect(self.refresh)
        model.polygon_added.connect(self._polygon_added)
        model.polygon_removed.connect(self._counts_changed)
        model.polygon_changed.connect(self._counts_changed)
        model.pixel_counts_changed.connect(self.refresh)
        model.current_class_changed.connect(self._select_current)
        model.message.connect(self.status.setText)
        self.refresh()

    def _rows_height(self, rows: int) -> int:
        """Height that shows the header and ``rows`` class rows without scrolling."""
        return (self.table.horizontalHeader().sizeHint().height()
                + rows * self.table.verticalHeader().defaultSectionSize() + 2 * self.table.frameWidth() + 2)

    def add_spectra_toggle(self, action) -> None:
        """A button for the window's spectral-plot toggle, next to the samples it plots."""
        b = QToolButton(self)
        b.setDefaultAction(action)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.spectra_button = b
        self.tools_row.insertWidget(0, b)

    def _undo_text(self, text: str) -> None:
        self.undo_button.setToolTip(f"Undo {text} (Ctrl+Z)" if text else "Nothing to undo")

    def _redo_text(self, text: str) -> None:
        self.redo_button.setToolTip(f"Redo {text} (Ctrl+Shift+Z)" if text else "Nothing to redo")

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        b = QPushButton(text, self)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ------------------------------------------------------------ role
    def drawing_role(self) -> str:
        return "validation" if self.validation_radio.isChecked() else "training"

    # ------------------------------------------------------------ table
    def refresh(self) -> None:
        self._updating = True
        try:
            classes = self.model.classes()
            self.table.setRowCount(len(classes))
            for row, c in enumerate(classes):
                color = QTableWidgetItem(swatch(c.color), "")
                color.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                color.setToolTip(c.color)
                color.setData(Qt.UserRole, c.id)
                name = QTableWidgetItem(c.name)
                name.setData(Qt.UserRole, c.id)
                name.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsEditable)
                self.table.setItem(row, COL_COLOR, color)
                self.table.setItem(row, COL_NAME, name)
                pixels = self.model.pixel_count(c.id)
                values = {COL_TRAIN: f"{self.model.polygon_count(c.id, 'training'):,}",
                          COL_VALID: f"{self.model.polygon_count(c.id, 'validation'):,}",
                          COL_PIXELS: "–" if pixels is None else f"{pixels:,}"}
                for col, text in values.items():
                    item = QTableWidgetItem(text)
                    item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    self.table.setItem(row, col, item)
            self._select_current(self.model.current_class())
        finally:
            self._updating = False
        has = bool(self.model.classes())
        for b in (self.rename_button, self.color_button, self.delete_button):
            b.setEnabled(has)
        self.hold_out_button.setEnabled(bool(self.model.polygon_ids(role="training")))

    def _polygon_added(self, pid: str) -> None:
        rec = self.model.polygon(pid)
        self._counts_changed(only_class=rec.class_id if rec is not None else None)

    def _counts_changed(self, _pid: str = "", only_class: Optional[int] = None) -> None:
        """A polygon came, went or changed: update the count cells in place.

        Loading a project or the demo adds dozens of polygons one signal at a time;
        rebuilding the whole table for each froze the window for about a second.
        A new polygon changes only its own class's row.
        """
        classes = self.model.classes()
        if self.table.rowCount() != len(classes) or any(
                self.table.item(r, COL_NAME) is None or self.table.item(r, COL_NAME).data(Qt.UserRole) != c.id
                for r, c in enumerate(classes)):
            self.refresh()
            return
        for row, c in enumerate(classes):
            if only_class is not None and c.id != only_class:
                continue
            for col, role in ((COL_TRAIN, "training"), (COL_VALID, "validation")):
                text = f"{self.model.polygon_count(c.id, role):,}"
                item = self.table.item(row, col)
                if item.text() != text:
                    item.setText(text)
        has_training = bool(self.model.polygon_ids(role="training"))
        if self.hold_out_button.isEnabled() != has_training:
            self.hold_out_button.setEnabled(has_training)

    def row_of(self, class_id: int) -> int:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, COL_NAME)
            if item is not None and item.data(Qt.UserRole) == class_id:
                return row
        return -1

    def _select_current(self, class_id: int) -> None:
        row = self.row_of(class_id)
        was = self._updating
        self._updating = True
        try:
            if row < 0:
                self.table.clearSelection()
            elif self.table.currentRow() != row or not self.table.selectedItems():
                self.table.selectRow(row)
        finally:
            self._updating = was

    def selected_class(self) -> int:
        rows = {i.row() for i in self.table.selectedItems()}
        if not rows:
            return -1
        return self.table.item(min(rows), COL_NAME).data(Qt.UserRole)

    def _selection_changed(self) -> None:
        if not self._updating:
            cid = self.selected_class()
            if cid != -1:
                self.model.set_current_class(cid)
                self.class_chosen.emit(cid)

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != COL_NAME:
            return
        if not self.model.rename_class(item.data(Qt.UserRole), item.text()):
            self.refresh()  # refused (empty or duplicate): show the old name again

    # ------------------------------------------------------------ actions
    def add_class(self) -> int:
        names = {c.name for c in self.model.classes()}
        n = len(names) + 1
        while f"class {n}" in names:
            n += 1
        name = self._ask_class_name(f"class {n}")
        if name is None:
            return -1
        cid = self.model.add_class(name)   # refused (empty or taken): the model says why in the status
        if cid != -1:
            self.model.set_current_class(cid)
            self.class_chosen.emit(cid)
        return cid

    def rename_selected(self) -> None:
        row = self.row_of(self.selected_class())
        if row >= 0:
            self.table.editItem(self.table.item(row, COL_NAME))

    def recolor_selected(self) -> None:
        info = self.model.class_info(self.selected_class())
        if info is None:
            return
        color = self._ask_color(info.color)
        if color:
            self.model.recolor_class(info.id, color)

    def delete_selected(self) -> None:
        cid = self.selected_class()
        if cid != -1:
            self.model.delete_class(cid)

    def import_dialog(self) -> None:
        path = self._ask_open_path()
        if path:
            self.import_from(path)

    def export_dialog(self) -> None:
        if not self.model.polygons:
            self._show_error("There are no sample polygons to export yet.")
            return
        path = self._ask_save_path()
        if path:
            self.export_to(path)

    def hold_out_dialog(self) -> None:
        percent = self._ask_hold_out_percent()
        if percent is not None:
            self.hold_out(percent / 100.0)

    def hold_out(self, fraction: float) -> int:
        """Hold out ``fraction`` of each class's training polygons; the status says how many moved."""
        n = self.model.hold_out(fraction)
        if n:
            self.status.setText(f"{n} polygon(s) are now validation polygons ({fraction * 100:g} % of each "
                                "class's training polygons); Undo reverts it. Click a polygon on the map "
                                "to change one by hand.")
        return n

    #: Set by the window: (polygon ids) -> how many of them miss the open image (0 without an image).
    outside_image = None

    def import_from(self, path: str) -> bool:
        before = set(self.model.polygons)
        try:
            self.model.import_file(path)
        except SatSegError as exc:
            self._show_error(f"Could not import samples: {exc}")
            return False
        new = [pid for pid in self.model.polygons if pid not in before]
        outside = self.outside_image(new) if (self.outside_image and new) else 0
        if new and outside == len(new):
            self._show_error(f"None of the {len(new)} imported polygons overlaps the open image, so they give "
                             "no training pixels. Is it the right file for this image (or its coordinate "
                             "system)? Undo removes them.")
        elif outside:
            self._show_error(f"{outside} of the {len(new)} imported polygons lie outside the open image and give "
                             "no training pixels.")
        return True

    def export_to(self, path: str) -> bool:
        try:
            self.model.export_file(path)
        except SatSegError as exc:
            self._show_error(f"Could not export samples: {exc}")
            return False
        self.status.setText(f"Saved {len(self.model.polygons)} sample polygon(s) to {path}")
        return True

    # Dialog seams: tests replace these; the app uses the real dialogs.
    def _ask_color(self, initial: str) -> Optional[str]:
        c = QColorDialog.getColor(QColor(initial), self, "Class colour")
        return c.name() if c.isValid() else None

    def _ask_class_name(self, default: str) -> Optional[str]:
        # The default name comes selected, so typing replaces it ("class 2bright sand" was the old way).
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:", text=default)
        return name.strip() if ok else None

    def _ask_hold_out_percent(self) -> Optional[int]:
        value, ok = QInputDialog.getInt(
            self, "Hold out for validation", "Share of each class's training polygons to mark as validation (%):",
            30, 1, 90, 5)
        return value if ok else None

    def _ask_open_path(self) -> str:
        return QFileDialog.getOpenFileName(self, "Import sample polygons", "", SAMPLE_FILTER)[0]

    def _ask_save_path(self) -> str:
        path, chosen = QFileDialog.getSaveFileName(self, "Export sample polygons", "samples.geojson", EXPORT_FILTER)
        if path and "." not in path.rsplit("/", 1)[-1]:
            path += {"KML (*.kml)": ".kml", "GeoPackage (*.gpkg)": ".gpkg"}.get(chosen, ".geojson")
        return path

    def _show_error(self, text: str) -> None:
        self.status.setText(text)
        box = QMessageBox(QMessageBox.Icon.Warning, "Samples", text, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)   # the text quotes class and file names
        box.exec()
