"""ResultsPanel: area table from core.areas, accuracy from core.accuracy, export signals."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from desktop_app.core.accuracy import accuracy_from_arrays
from desktop_app.core.areas import class_areas
from desktop_app.core.classes import ClassInfo
from desktop_app.ui.results_panel import NO_RESULT_TEXT, NO_VALIDATION_TEXT, ResultsPanel

CLASSES = [ClassInfo(1, "water", "#1f78b4"), ClassInfo(2, "urban", "#e31a1c")]


@pytest.fixture
def panel(qtbot):
    p = ResultsPanel()
    qtbot.addWidget(p)
    return p


def utm_table():
    # 100 x 100 pixels of 10 m in UTM 43N: water 6000 px, urban 3000, unclassified 900, nodata 100.
    a = np.zeros((100, 100), np.uint8)
    a.flat[:6000] = 1
    a.flat[6000:9000] = 2
    a.flat[9900:] = 255
    return class_areas(a, Affine(10, 0, 500000, 0, -10, 3300000), CRS.from_epsg(32643), CLASSES)


def texts(table, row):
    return [table.item(row, c).text() for c in range(table.columnCount())]


def by_header(table, row):
    """{column header: cell text}: the shown column order is a layout choice, the values are not."""
    return {table.horizontalHeaderItem(c).text(): table.item(row, c).text() for c in range(table.columnCount())}


def test_area_rows_units_and_separate_unclassified(panel):
    table = utm_table()
    panel.show_areas(table)
    t = panel.areas_table
    water = by_header(t, 0)
    assert water["Class"] == "water" and water["Pixels"] == "6,000"
    m2 = table.rows[0].area_m2
    assert abs(m2 - 600_000) / 600_000 < 0.003        # ellipsoidal, close to 6000 × 100 m²
    assert water["m²"] == f"{m2:,.0f}" and water["ha"] == f"{m2 / 1e4:,.2f}" and water["km²"] == f"{m2 / 1e6:,.4f}"
    assert water["%"] == f"{table.rows[0].percent:.2f}" and abs(table.rows[0].percent - 66.67) < 0.01
    # km² and % come right after the class name, so a narrow panel shows them without scrolling.
    assert [t.horizontalHeaderItem(c).text() for c in range(3)] == ["Class", "km²", "%"]
    assert t.item(0, 1).textAlignment() & 0x2           # Qt.AlignRight
    assert by_header(t, 2)["Class"] == "Total classified" and by_header(t, 2)["Pixels"] == "9,000"
    unc = by_header(t, 4)
    nod = by_header(t, 5)
    assert unc["Class"] == "Unclassified" and unc["Pixels"] == "900" and unc["%"] == "–"
    assert nod["Class"] == "No data" and nod["Pixels"] == "100"
    assert "Unclassified: " in panel.areas_note.text()
    assert all(b.isEnabled() for b in panel.export_buttons.values())


def test_no_result_disables_exports(panel):
    assert panel.areas_note.text() == NO_RESULT_TEXT
    assert not any(b.isEnabled() for b in panel.export_buttons.values())


def test_accuracy_report_shown(panel):
    truth = np.array([[1, 1, 1, 1, 2, 2, 2, 2]], np.uint8)
    pred = np.array([[1, 1, 1, 2, 2, 2, 0, 2]], np.uint8)
    report = accuracy_from_arrays(pred, truth, CLASSES)
    panel.show_accuracy(report)
    s = panel.accuracy_summary.text()
    assert "Overall accuracy: 75.0 %" in s and "Validation pixels: 8" in s
    assert "left unclassified: 12.5 %" in s
    water = texts(panel.per_class_table, 0)
    assert water[:3] == ["water", "75.0 %", "100.0 %"]
    ct = panel.confusion_table
    assert [ct.horizontalHeaderItem(i).text() for i in range(3)] == ["water", "urban", "Unclassified"]
    assert texts(ct, 0) == ["3", "1", "0"] and texts(ct, 1) == ["0", "3", "1"]
    panel.show_accuracy(None)
    assert panel.accuracy_summary.text() == NO_VALIDATION_TEXT
    assert "mark some polygons as validation" in NO_VALIDATION_TEXT


def test_export_buttons_emit_kind(panel, qtbot):
    panel.show_areas(utm_table())
    got = []
    panel.export_requested.connect(got.append)
    for kind in ("geojson", "kml", "geotiff", "csv"):
        panel.export_buttons[kind].click()
    assert got == ["geojson", "kml", "geotiff", "csv"]


def test_copy_table_tab_separated(panel, qapp):
    table = utm_table()
    panel.show_areas(table)
    panel.copy_button.click()
    text = qapp.clipboard().text()
    lines = text.strip().split("\n")
    assert lines[0].split("\t") == ["Class", "Pixels", "Area (m²)", "Area (ha)", "Area (km²)", "Share (%)"]
    water = lines[1].split("\t")
    assert water[0] == "water" and water[1] == "6000"
    assert abs(float(water[2]) - table.rows[0].area_m2) < 0.01
    assert lines[-1].startswith("No data\t100\t")
