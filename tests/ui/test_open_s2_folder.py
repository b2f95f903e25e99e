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
    assert warned and "Open Sentinel-2 folder… in the Image panel" in warned[0] and "--" not in warned[0]
    assert window.imagery_panel.open_folder.text() == "Open Sentinel-2 folder…"


def test_the_command_line_names_the_baseline_flag(bare_folder, capsys):
    from desktop_app.cli import main

    assert main(["info", str(bare_folder)]) == 0
    err = capsys.readouterr().err
    assert "0.1 too high; state it with --baseline 04.00" in err and "Image panel" not in err


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


@pytest.mark.parametrize("answer", ["04.00", "03.00", None])
def test_a_model_saved_in_the_app_records_the_baseline_the_image_was_read_with(qtbot, window, bare_folder,
                                                                               tmp_path, capsys, answer):
    """The app's answer (the question's reply path, no dialog) ends in the model file exactly as
    `satseg train --baseline` writes it; no answer: the unknown record the CLI writes without the flag."""
    import json
    import zipfile

    from desktop_app.cli import main
    from desktop_app.core.samples import read_samples
    from ui_helpers import run_and_wait

    # Two classes, one square polygon each (10 x 10 px) in WGS84: B04 brighter on the right half.
    with rasterio.open(bare_folder / "B04.tif", "r+") as ds:
        a = ds.read(1)
        a[:, 10:] = 4000
        ds.write(a, 1)
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(32643, 4326, always_xy=True).transform

    def square(x0, name):
        ring = [to_wgs84(x, y) for x, y in ((x0, 3299970), (x0 + 60, 3299970), (x0 + 60, 3299910),
                                            (x0, 3299910), (x0, 3299970))]
        return {"type": "Feature", "properties": {"class": name},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}}

    samples = tmp_path / "samples.geojson"
    samples.write_text(json.dumps({"type": "FeatureCollection",
                                   "features": [square(600020, "soil"), square(600120, "crop")]}))

    with qtbot.waitSignal(window.image_loaded, timeout=60000):
        window.open_path(str(bare_folder))        # quiet window: the question is not answered
    first = window.doc
    assert first.baseline_unknown
    if answer is not None:
        window._baseline_answered(first, answer)  # what the question's reply calls
        qtbot.waitUntil(lambda: window.doc is not None and window.doc.baseline == answer, timeout=60000)
    # The 03.00 answer keeps the pixels read (no offset either way); 04.00 reads the folder again.
    assert (window.doc is first) == (answer != "04.00")
    window.model.load_sample_set(read_samples(str(samples)))
    window.model_panel.set_method("min_distance")
    assert run_and_wait(qtbot, window) == "done"
    saved = window.model_tools.save_model(str(tmp_path / "app.satseg-model"))

    cli_out = tmp_path / "cli.satseg-model"
    flag = ["--baseline", answer] if answer else []
    assert main(["train", str(bare_folder), str(samples), "--method", "min_distance", "--out", str(cli_out),
                 "--json", *flag]) == 0
    capsys.readouterr()

    def model(path):
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("model.json"))

    app, cli = model(saved), model(cli_out)
    assert app["baseline"] == cli["baseline"]
    assert app["baseline"] == {"04.00": {"processing_baseline": "04.00", "baseline_from": "user",
                                         "baseline_offset_dn": -1000.0},
                               "03.00": {"processing_baseline": "03.00", "baseline_from": "user",
                                         "baseline_offset_dn": 0.0},
                               None: {"processing_baseline": None, "baseline_from": None,
                                      "baseline_offset_dn": 0.0}}[answer]
    # And the pixels the two learnt from agree: the same class means.
    assert app["signatures"]["signatures"] and app["signatures"] == cli["signatures"]
