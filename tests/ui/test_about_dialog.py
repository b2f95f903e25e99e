"""Help ▸ About lists the versions and licences (plain text cells)."""
import importlib.metadata as md

from PySide6.QtCore import qVersion

from desktop_app.ui.about_dialog import AboutDialog


def _cells(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_about_lists_versions_and_licences(qtbot):
    import rasterio

    dlg = AboutDialog()
    qtbot.addWidget(dlg)
    v = dlg.versions
    assert v["Qt"] == qVersion() and v["GDAL"] == rasterio.__gdal_version__
    assert v["torch"] == md.version("torch") and v["sam2"] == md.version("sam2")
    assert list(v)[:2] == ["SatSeg", "Qt"]
    rows = {r[0]: r for r in _cells(dlg.licences)}
    assert rows["leaflet"][1:] == ["1.9.4", "BSD-2-Clause"]
    assert rows["sam2"][1] == "1.1.0" and "Apache" in rows["sam2"][2]
