"""The SAM-2 score table: per-class IoU of each result, and 'SAM made it worse' always in view."""
from desktop_app.ui.sam_scores import ScoreTable

TABLE = {"best": "fine-tuned", "rows": [
    {"result": "classifier", "overall_accuracy": 0.8, "kappa": 0.7, "iou": {"water": 0.9, "urban <b>x</b>": 0.5},
     "reference_pixels": 400, "worse": False},
    {"result": "refined", "overall_accuracy": 0.75, "kappa": 0.65, "iou": {"water": 0.95, "urban <b>x</b>": 0.4},
     "reference_pixels": 400, "worse": True},
    {"result": "fine-tuned", "overall_accuracy": 0.85, "kappa": 0.8, "iou": {"water": 0.85, "urban <b>x</b>": None},
     "reference_pixels": 400, "worse": False},
]}


def test_per_class_iou_columns_and_the_worse_line(qtbot):
    w = ScoreTable()
    qtbot.addWidget(w)
    w.resize(300, 400)
    w.show()
    w.show_scores(TABLE)
    t = w.table
    assert [t.horizontalHeaderItem(c).text() for c in range(3)] == ["Classifier", "Refined\n(worse)", "Fine-tuned"]
    assert [t.verticalHeaderItem(r).text() for r in range(4)] == ["Overall acc.", "Kappa", "IoU water",
                                                                   "IoU urban <b>x</b>"]
    assert [[t.item(r, c).text() for c in range(3)] for r in range(4)] == [
        ["0.800", "0.750", "0.850"], ["0.700", "0.650", "0.800"], ["0.900", "0.950", "0.850"], ["0.500", "0.400", "–"]]
    red = lambda r, c: t.item(r, c).foreground().color().name() == "#b00020"   # noqa: E731
    # the worse result's whole column; elsewhere only a class IoU below the classifier's
    assert all(red(r, 1) for r in range(4))
    assert red(2, 2) and not red(0, 2) and not red(3, 2) and not any(red(r, 0) for r in range(4))
    assert w.worse_label.isVisible() and "worse: Refined" in w.worse_label.text()
    assert w.worse_label.geometry().bottom() < t.geometry().top()         # above the table, not below its rows
    assert "Fine-tuned" in w.best_label.text()
    w.show_scores(None)
    assert t.columnCount() == 0 and not w.worse_label.isVisible() and "validation polygons" in w.best_label.text()
