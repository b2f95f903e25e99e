"""Model panel tools of issue 17 in the window: Cross-validate (polygon-grouped), the score
histogram, every signature of a class in the spectral plot, a trained model saved and applied."""
import numpy as np

from ui_helpers import run_and_wait


def test_cross_validate_histogram_and_saved_model(qtbot, demo_window, tmp_path):
    win = demo_window
    tools = win.model_tools
    win.model_panel.set_method("min_distance")
    win.model_panel.set_options({"signatures": "per-polygon"})
    # Cross-validate: the report says the folds are grouped by polygon.
    with qtbot.waitSignal(win.runner.task_finished, timeout=120000,
                          check_params_cb=lambda t, outcome: t.kind == "cv"):
        tools.box.folds.setValue(3)
        tools.box.cv_button.click()
    text = tools.box.cv_label.text()
    assert "3-fold: overall accuracy" in text and "grouped by polygon" in text, text
    assert run_and_wait(qtbot, win) == "done"
    clf = win.result.classifier
    assert clf.several_per_class and clf.n_rows > len(clf.classes)
    # The histogram of winning scores for a class: as many pixels as the class won.
    with qtbot.waitSignal(win.runner.task_finished, timeout=120000,
                          check_params_cb=lambda t, outcome: t.kind == "scores"):
        tools.box.hist_button.click()
    cid = tools.box.hist_class.currentData()
    won = int((win.result.class_array == cid).sum())
    assert len(tools.box.scores[cid]) == min(won, 200_000) and tools.box.plot.isVisible()
    assert np.all(tools.box.scores[cid] >= 0)                     # distances
    # Save the trained model and apply it again: the same map.
    path = tools.save_model(str(tmp_path / "m.satseg-model"))
    before = win.result.class_array.copy()
    with qtbot.waitSignal(win.classification_finished, timeout=120000):
        tools.apply_model(path)
    assert np.array_equal(win.result.class_array, before)
    # The signatures as a catalogue, and the same method fitted on it: the same map again.
    cat = tools.save_catalogue(str(tmp_path / "sigs.json"))
    with qtbot.waitSignal(win.classification_finished, timeout=120000):
        tools.apply_catalogue(cat)
    assert np.array_equal(win.result.class_array, before)


def test_spectral_plot_shows_every_signature_in_the_class_colour(qtbot, demo_window):
    win = demo_window
    win.docks["dock_spectra"].show()
    win.model_panel.set_method("spectral_angle")
    win.model_panel.set_options({"signatures": "per-polygon"})
    with qtbot.waitSignal(win.runner.task_finished, timeout=60000,
                          check_params_cb=lambda t, outcome: t.kind == "signatures"):
        win.update_signatures()
    qtbot.waitUntil(lambda: len(win.spectral_plot.signatures) > 5, timeout=10000)
    plot = win.spectral_plot
    polygons = win.model.polygon_ids(role="training")
    assert len(plot.all_curves) == len(plot.signatures) >= len(win.model.classes())
    colors = {c.id: c.color for c in win.model.classes()}
    for sig, curve in zip(plot.signatures, plot.all_curves):
        assert curve.opts["pen"].color().name() == colors[sig.class_id].lower()
    assert len(plot.signatures) <= len(polygons)


def test_merge_signature_catalogues_from_the_classify_menu(qtbot, demo_window, tmp_path):
    import json

    win = demo_window
    tools = win.model_tools
    assert tools.act_merge_sigs in tools._classify_menu().actions()
    win.model_panel.set_method("min_distance")
    assert run_and_wait(qtbot, win) == "done"
    a = tools.save_catalogue(str(tmp_path / "a.json"))
    d = json.loads(open(a).read())
    # A second "scene": the same signatures, its first class under a new name, another scene label.
    first = d["classes"][0]["name"]
    b = json.loads(open(a).read())
    b["classes"][0]["name"] = "Renamed"
    for row in b["signatures"]:
        row["scene"] = "scene B"
        if row["class"] == first:
            row["class"] = "Renamed"
    (tmp_path / "b.json").write_text(json.dumps(b))
    out = tools.merge_catalogues([a, str(tmp_path / "b.json")], str(tmp_path / "merged.json"))
    assert out == str(tmp_path / "merged.json")
    m = json.loads(open(out).read())
    names = [c["name"] for c in d["classes"]]
    assert [c["name"] for c in m["classes"]] == names + ["Renamed"]      # matched by name, new one appended
    assert len(m["signatures"]) == 2 * len(d["signatures"])
    assert [r["scene"] for r in m["signatures"]].count("scene B") == len(d["signatures"])
    renamed = [r for r in m["signatures"] if r["class"] == "Renamed"]
    assert [r["mean"] for r in renamed] == [r["mean"] for r in d["signatures"] if r["class"] == first]
    # Different bands do not merge: one clear message, and no file.
    c = json.loads(open(a).read())
    c["bands"][0] = "B99"
    (tmp_path / "c.json").write_text(json.dumps(c))
    win.messages.clear()
    assert tools.merge_catalogues([a, str(tmp_path / "c.json")], str(tmp_path / "bad.json")) is None
    assert not (tmp_path / "bad.json").exists()
    (level, text), = win.messages
    assert level == "error" and "same bands" in text and "\n" not in text
    # Never over one of its inputs.
    assert tools.merge_catalogues([a, str(tmp_path / "b.json")], a) is None
    assert json.loads(open(a).read()) == d


def test_a_model_saved_with_an_index_band_applies_on_the_command_line(qtbot, window, tmp_path, capsys):
    """The app saves the index bands the model uses, as `satseg train --indices` does, so
    `satseg classify --model` computes them again and gives the window's map, pixel for pixel."""
    import json
    import zipfile

    import rasterio

    from desktop_app.cli import main
    from desktop_app.core.analysis.indices import parse_index_list
    from desktop_app.core.samples import read_samples

    assert main(["demo-scene", str(tmp_path / "demo"), "--size", "200"]) == 0
    capsys.readouterr()
    scene = tmp_path / "demo" / "scene.tif"
    win = window
    with qtbot.waitSignal(win.image_loaded, timeout=60000):
        win.open_path(str(scene))                        # the same file the command line reads
    win.model.load_sample_set(read_samples(str(tmp_path / "demo" / "samples.geojson")))
    win.analysis_tools.indices.checks["NDVI"].setChecked(True)
    win.model_panel.set_method("min_distance")
    assert run_and_wait(qtbot, win) == "done"
    assert win.result.classifier.band_names[-1] == "NDVI"
    path = win.model_tools.save_model(str(tmp_path / "ndvi.satseg-model"))
    with zipfile.ZipFile(path) as z:
        model = json.loads(z.read("model.json"))
    assert model["indices"] == [i.to_dict() for i in parse_index_list("NDVI")]   # the CLI's own parser
    assert main(["classify", str(scene), "--model", path, "--out", str(tmp_path / "c.tif"), "--json"]) == 0
    capsys.readouterr()
    with rasterio.open(tmp_path / "c.tif") as ds:
        assert np.array_equal(ds.read(1), win.result.class_array)


def test_applying_a_model_with_an_index_band_adds_it_as_satseg_classify_does(qtbot, window, tmp_path, capsys):
    """A model trained with NDVI (`satseg train --indices NDVI`) applied in the window to an image
    without NDVI: the window adds NDVI to the image, says so, and gives `satseg classify --model`'s
    map pixel for pixel. A model whose index needs a band the image lacks is one line."""
    import json
    import zipfile

    import rasterio

    from desktop_app.cli import main

    assert main(["demo-scene", str(tmp_path / "demo"), "--size", "200"]) == 0
    scene, samples = tmp_path / "demo" / "scene.tif", tmp_path / "demo" / "samples.geojson"
    model = str(tmp_path / "ndvi.satseg-model")
    assert main(["train", str(scene), str(samples), "--method", "mahalanobis", "--bands", "B2,B3,B4,B8,B11",
                 "--indices", "NDVI", "--out", model]) == 0
    assert main(["classify", str(scene), "--model", model, "--out", str(tmp_path / "c.tif"), "--json"]) == 0
    capsys.readouterr()
    win = window
    with qtbot.waitSignal(win.image_loaded, timeout=60000):
        win.open_path(str(scene))                        # the same file the command line read
    assert "NDVI" not in win.doc.band_names
    with qtbot.waitSignal(win.classification_finished, timeout=120000):
        win.model_tools.apply_model(model)
    assert win.doc.band_names[-1] == "NDVI" and win.result.classifier.band_names[-1] == "NDVI"
    assert win.analysis_tools.indices.checks["NDVI"].isChecked()       # the Bands panel shows it ticked
    assert ("info", "Added index band NDVI to the image for the model") in win.messages
    qtbot.waitUntil(lambda: "Added index band NDVI" in win.status.currentMessage(), timeout=5000)
    assert win.status.currentMessage().startswith("Classified in ")   # a model applied, not a threshold move
    with rasterio.open(tmp_path / "c.tif") as ds:
        cli = ds.read(1)
    assert len(np.unique(cli)) >= 3 and np.array_equal(win.result.class_array, cli)
    # Applied again, NDVI is there already: nothing is added, the same map.
    win.messages.clear()
    with qtbot.waitSignal(win.classification_finished, timeout=120000):
        win.model_tools.apply_model(model)
    assert np.array_equal(win.result.class_array, cli)
    assert not [m for m in win.messages if "Added index" in m[1]] and win.doc.band_names.count("NDVI") == 1
    # The same model file with its NDVI read from a band this image lacks: one line, nothing added or run.
    with qtbot.waitSignal(win.image_loaded, timeout=60000):
        win.open_path(str(scene))
    other = tmp_path / "b10.satseg-model"
    with zipfile.ZipFile(model) as z, zipfile.ZipFile(other, "w") as out:
        for name in z.namelist():
            data = z.read(name)
            if name == "model.json":
                d = json.loads(data)
                d["indices"] = [{"name": "NDVI", "formula": "(B10-B4)/(B10+B4)"}]
                data = json.dumps(d)
            out.writestr(name, data)
    win.messages.clear()
    win.model_tools.apply_model(str(other))
    assert win.messages == [("error", "this model's index NDVI needs band B10, which this image does not have "
                                      "(bands: B1, B2, B3, B4, B5, B6, B7, B8, B8A, B9, B11, B12)")]
    assert "NDVI" not in win.doc.band_names and not win.runner.busy("classify")
