"""Opening a Sentinel-2 band folder that does not say its processing baseline (docs/sentinel2.md)."""
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS


@pytest.fixture
def bare_folder(tmp_path):
    """Two 10 m bands, DN 1500 and 2500, and no metadata at all."""
    folder = tmp_path / "bands"
    folder.mkdir()
    for name, dn in (("B02.tif", 1500), ("B04.tif", 2500)):
        with rasterio.open(folder / name, "w", driver="GTiff", width=20, height=20, count=1, dtype="uint16",
                           transform=Affine(10, 0, 600000, 0, -10, 3300000), crs=CRS.from_epsg(32643),
                           nodata=0) as ds:
            ds.write(np.full((20, 20), dn, np.uint16), 1)
    return folder


def test_the_user_states_the_baseline_and_the_offset_goes(qtbot, window, bare_folder):
    asked = []
    window.ask_baseline = lambda title, reply: (asked.append(title), reply("04.00"))
    window.open_path(str(bare_folder))
    qtbot.waitUntil(lambda: window.doc is not None and window.doc.baseline == "04.00", timeout=60000)
    assert asked == ["bands"]                          # asked once, not again for the corrected read
    assert window.doc.pixel_values(5, 5) == pytest.approx([0.05, 0.15])   # (DN - 1000) / 10000


def test_without_an_answer_the_user_is_warned(qtbot, window, bare_folder):
    with qtbot.waitSignal(window.image_loaded, timeout=60000):
        window.open_path(str(bare_folder))             # quiet window: no question, a warning
    warned = [text for level, text in window.messages if level == "warning" and "0.1 too high" in text]
    assert window.doc.pixel_values(5, 5) == pytest.approx([0.15, 0.25])
    # The window says what to do in the window; the same warning on the command line names the flag.
    assert warned and "Open Sentinel-2 folder… in the Imagery panel" in warned[0] and "--" not in warned[0]
    assert window.imagery_panel.open_folder.text() == "Open Sentinel-2 folder…"


def test_the_command_line_names_the_baseline_flag(bare_folder, capsys):
    from desktop_app.cli import main

    assert main(["info", str(bare_folder)]) == 0
    err = capsys.readouterr().err
    assert "0.1 too high; state it with --baseline 04.00" in err and "Imagery panel" not in err


def test_the_stated_baseline_is_saved_with_the_project_and_reused(qtbot, make_window, bare_folder, tmp_path):
    window = make_window()
    window.ask_baseline = lambda title, reply: reply("04.00")
    window.open_path(str(bare_folder))
    qtbot.waitUntil(lambda: window.doc is not None and window.doc.baseline == "04.00", timeout=60000)
    assert window.save_project(tmp_path / "proj")
    from desktop_app.core.project import load_project

    assert load_project(tmp_path / "proj").extra["baseline"] == "04.00"
    again = make_window()
    asked = []
    again.ask_baseline = lambda title, reply: (asked.append(title), reply(None))
    assert again.open_project(tmp_path / "proj")
    qtbot.waitUntil(lambda: again.doc is not None, timeout=60000)
    assert asked == [] and again.doc.baseline == "04.00"
    assert again.doc.pixel_values(5, 5) == pytest.approx([0.05, 0.15])   # offset applied, not asked again
