"""The Qt-free session document: observers, saved/unsaved, save through the project protocol,
recovery text (docs/data-safety.md)."""
import time

import numpy as np
import pytest

from desktop_app.core import document as d
from desktop_app.core import project as core_project
from desktop_app.core.classes import ClassInfo
from desktop_app.core.demo_scene import CLASSES, make_demo_scene
from desktop_app.core.document import Document, RunSettings


class Samples:
    """A plain sample collection (what the Qt SampleModel provides to the document)."""

    def __init__(self):
        self.fc = {"type": "FeatureCollection", "features": []}
        self.modified = False

    def to_geojson(self):
        return self.fc

    def classes(self):
        return [ClassInfo(1, "water", "#1f78b4")]

    def is_modified(self):
        return self.modified

    def is_empty(self):
        return not self.fc["features"]

    def mark_saved(self):
        self.modified = False


class Image:
    def __init__(self, scene):
        img = scene.image
        self.path, self.is_demo, self.width, self.band_names = None, True, img.width, list(img.band_names)
        self.transform, self.crs = img.transform, img.crs


class Result:
    def __init__(self, image, array):
        self.class_array, self.classes, self.classifier = array, list(CLASSES), object()
        self.request = type("Req", (), {"doc": image, "method": "mahalanobis", "thresholds": None,
                                        "bands": image.band_names})()


@pytest.fixture
def doc(monkeypatch, tmp_path):
    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    return Document(Samples())


def test_observers_hear_every_change_and_can_stop(doc):
    heard = []
    stop = doc.observe(heard.append)
    doc.set_image("img")
    doc.set_roi({"type": "Polygon", "coordinates": []})
    doc.set_result("res")
    doc.set_settings(RunSettings(method="svm"))
    stop()
    doc.set_roi(None)
    assert heard == [d.IMAGE, d.ROI, d.DIRTY, d.RESULT, d.SETTINGS]


def test_dirty_follows_edits_results_and_saves(doc, tmp_path):
    assert not doc.is_dirty()
    doc.samples.modified = True
    assert doc.is_dirty()
    doc.mark_saved()
    assert not doc.is_dirty() and not doc.samples.modified
    doc.set_result(None)                     # clearing a result is not work
    assert not doc.is_dirty()
    doc.set_project_folder(tmp_path)
    doc.set_image("another image")           # a project's image changed
    assert doc.is_dirty()


def test_save_writes_the_project_with_its_result_and_drops_every_autosave(doc, tmp_path):
    scene = make_demo_scene(size=64)
    image = Image(scene)
    doc.set_image(image)
    doc.set_result(Result(image, scene.truth))
    doc.settings = RunSettings(display_bands=["B4", "B3", "B2"], method="max_likelihood", thresholds={"water": 0.9})
    doc.samples.fc["features"].append({"type": "Feature", "properties": {"class": "water"},
                                       "geometry": {"type": "Point", "coordinates": [0, 0]}})
    untitled = doc.autosave()
    assert untitled.parent == core_project.user_autosave_dir()
    folder = tmp_path / "proj"
    doc.save(folder)
    assert not doc.is_dirty() and doc.project_folder == folder
    assert not untitled.exists()             # no offer of work that is now in the project
    state = core_project.load_project(folder)
    assert state.method == "max_likelihood" and state.thresholds == {"water": 0.9}
    with __import__("rasterio").open(state.results["class_raster"]) as ds:
        assert np.array_equal(ds.read(1), scene.truth)
    doc.mark_dirty()
    assert doc.autosave().parent == folder
    doc.discard_autosaves()
    assert core_project.find_recovery(folder) is None


def test_recovery_text_names_image_project_and_local_time(monkeypatch, tmp_path):
    monkeypatch.setenv("TZ", "Asia/Kolkata")     # UTC+05:30, no daylight saving
    time.tzset()
    try:
        state = core_project.ProjectState(image=str(tmp_path / "T43RFM_2026.tif"))
        rec = core_project.Recovery(tmp_path / ".satseg-autosave.json", "2026-11-28T06:40:00.000+00:00",
                                    tmp_path / "canal survey", state)
        text = rec.describe()
        assert "2026-11-28 12:10" in text and "UTC" not in text
        assert "project canal survey" in text and "image T43RFM_2026.tif" in text
        untitled = core_project.Recovery(tmp_path / "a.json", "2026-11-28T06:40:00+00:00", None,
                                         core_project.ProjectState(extra={"demo_size": 300}))
        assert "an untitled session" in untitled.describe() and "the demo scene" in untitled.describe()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_caption_names_project_or_image_and_marks_unsaved_work(doc, tmp_path):
    heard = []
    doc.observe(lambda what: heard.append((what, doc.caption())))
    assert doc.caption() == "SatSeg"
    image = type("Img", (), {"title": "S2 tile 31UFU"})()
    doc.set_image(image)
    assert heard[-1] == (d.IMAGE, "SatSeg — S2 tile 31UFU")          # no project: an image is not unsaved work
    doc.samples.modified = True
    doc.samples_edited()                                            # the samples' own flag counts
    assert heard[-1] == (d.DIRTY, "SatSeg — S2 tile 31UFU*")
    doc.set_project_folder(tmp_path / "Farm survey")
    assert heard[-1] == (d.PROJECT, "SatSeg — Farm survey*")        # a project's name wins over the image's
    doc.mark_saved()
    assert heard[-1] == (d.DIRTY, "SatSeg — Farm survey")
    doc.set_roi({"type": "Point", "coordinates": [0, 0]})
    assert heard[-2:] == [(d.ROI, "SatSeg — Farm survey"), (d.DIRTY, "SatSeg — Farm survey*")]
