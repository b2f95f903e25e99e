"""Project folders: round trip, relative paths, newer versions refused, atomic saves, crash recovery."""
import json
import os
import shutil

import pytest

from desktop_app.core import project as proj
from desktop_app.core.classes import ClassInfo
from desktop_app.core.errors import SatSegError
from desktop_app.core.project import (
    AUTOSAVE_NAME, MANIFEST_NAME, PROJECT_VERSION, SAMPLES_NAME, ProjectState, autosave, copy_image_into,
    discard_recovery, find_recovery, load_project, save_project,
)

SQUARE = {"type": "Polygon", "coordinates": [[[77.0, 29.0], [77.01, 29.0], [77.01, 29.01], [77.0, 29.01], [77.0, 29.0]]]}


def make_state(folder) -> ProjectState:
    img = folder / "imagery" / "scene.tif"
    img.parent.mkdir(parents=True, exist_ok=True)
    img.write_bytes(b"not really a tiff")
    res = folder / "results" / "classes.tif"
    res.parent.mkdir(parents=True, exist_ok=True)
    res.write_bytes(b"x")
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": SQUARE,
         "properties": {"class": "water", "color": "#1f78b4", "role": "validation", "pid": "abc"}}],
        "classes": [{"id": 1, "name": "water", "color": "#1f78b4"}]}
    return ProjectState(
        name="Muzaffarnagar", image=str(img), display_bands=["B4", "B3", "B2"], classifier_bands=["B2", "B8"],
        classes=[ClassInfo(1, "water", "#1f78b4"), ClassInfo(3, "forest", "#1b7837")], samples=fc,
        method="random_forest", options={"trees": 50, "max_depth": None, "balanced": True, "seed": 0},
        thresholds={"water": 0.6}, results={"class_raster": str(res)},
        layers={"mask:water": {"opacity": 0.7, "visible": False}}, extra={"view": [29.4, 77.7, 13]},
    )


def test_round_trip_same_state(tmp_path):
    folder = tmp_path / "p"
    state = make_state(folder)
    save_project(folder, state)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["format"] == "satseg-project" and manifest["version"] == PROJECT_VERSION == 1
    assert manifest["image"] == "imagery/scene.tif"            # relative inside the folder
    assert manifest["results"] == {"class_raster": "results/classes.tif"}
    assert manifest["samples"] == SAMPLES_NAME
    back = load_project(folder)
    assert back.warnings == []
    back.warnings = state.warnings = []
    assert back == state


def test_moved_project_still_opens(tmp_path):
    folder = tmp_path / "p"
    state = make_state(folder)
    save_project(folder, state)
    moved = tmp_path / "elsewhere" / "q"
    shutil.move(str(folder), str(moved))
    back = load_project(moved)
    assert back.image == str((moved / "imagery" / "scene.tif").resolve()) and back.warnings == []


def test_outside_paths_stay_absolute_and_missing_ones_warn(tmp_path):
    state = ProjectState(image=str(tmp_path / "gone.tif"))
    save_project(tmp_path / "p", state)
    assert json.loads((tmp_path / "p" / MANIFEST_NAME).read_text())["image"] == str(tmp_path / "gone.tif")
    back = load_project(tmp_path / "p")
    assert back.image == str(tmp_path / "gone.tif")
    assert len(back.warnings) == 1 and "gone.tif was not found" in back.warnings[0]


def test_newer_version_refused_with_clear_message(tmp_path):
    folder = tmp_path / "p"
    save_project(folder, ProjectState())
    m = json.loads((folder / MANIFEST_NAME).read_text())
    m["version"] = PROJECT_VERSION + 1
    (folder / MANIFEST_NAME).write_text(json.dumps(m))
    with pytest.raises(SatSegError, match=r"saved by a newer SatSeg \(format version 2\); update SatSeg to open it"):
        load_project(folder)


@pytest.mark.parametrize("content,match", [
    (None, "is not a SatSeg project"),
    ("{ broken", "damaged"),
    ('{"format": "something-else", "version": 1}', "not a SatSeg project file"),
    ('{"format": "satseg-project", "version": "one"}', "unknown format version"),
])
def test_missing_or_corrupt_manifest(tmp_path, content, match):
    folder = tmp_path / "p"
    folder.mkdir()
    if content is not None:
        (folder / MANIFEST_NAME).write_text(content)
    with pytest.raises(SatSegError, match=match):
        load_project(folder)


def test_missing_folder_and_missing_samples(tmp_path):
    with pytest.raises(SatSegError, match="does not exist"):
        load_project(tmp_path / "nope")
    save_project(tmp_path / "p", ProjectState())
    (tmp_path / "p" / SAMPLES_NAME).unlink()
    with pytest.raises(SatSegError, match="sample polygons file .* is missing"):
        load_project(tmp_path / "p")


def test_edited_samples_file_loads_with_warning(tmp_path):
    folder = tmp_path / "p"
    save_project(folder, make_state(folder))
    fc = json.loads((folder / SAMPLES_NAME).read_text())
    fc["features"] = []
    (folder / SAMPLES_NAME).write_text(json.dumps(fc))
    back = load_project(folder)
    assert back.samples["features"] == [] and "changed after the project was saved" in back.warnings[0]


def test_failed_write_leaves_old_project_intact(tmp_path, monkeypatch):
    folder = tmp_path / "p"
    old = make_state(folder)
    save_project(folder, old)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    new = make_state(folder)
    new.name = "changed"
    new.samples = {"type": "FeatureCollection", "features": []}

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SatSegError, match="the disk is full"):
        save_project(folder, new)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before                      # no half-written file, no temp file left behind
    assert load_project(folder).name == "Muzaffarnagar"


def test_failed_manifest_write_rolls_samples_back(tmp_path, monkeypatch):
    folder = tmp_path / "p"
    save_project(folder, make_state(folder))
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    new = make_state(folder)
    new.samples = {"type": "FeatureCollection", "features": []}
    real_replace = os.replace

    def fail_manifest(src, dst):
        if str(dst).endswith(MANIFEST_NAME):
            raise OSError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_manifest)
    with pytest.raises(SatSegError, match="permission denied"):
        save_project(folder, new)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before
    back = load_project(folder)
    assert back.warnings == [] and len(back.samples["features"]) == 1


def test_unstorable_state_writes_nothing(tmp_path):
    folder = tmp_path / "p"
    save_project(folder, ProjectState(name="first"))
    bad = ProjectState(name="second", extra={"thing": object()})
    with pytest.raises(SatSegError, match="cannot be stored"):
        save_project(folder, bad)
    assert load_project(folder).name == "first"


def test_autosave_recovery_and_discard(tmp_path):
    folder = tmp_path / "p"
    state = make_state(folder)
    save_project(folder, state)
    assert find_recovery(folder) is None
    state.name = "edited after saving"
    state.thresholds = {"water": 0.8}
    autosave(folder, state)
    # the project itself is untouched by autosave
    assert load_project(folder).name == "Muzaffarnagar"
    rec = find_recovery(folder)                 # "after a crash": the autosave is newer than the save
    assert rec is not None and rec.project_folder == folder.resolve()
    assert rec.state.name == "edited after saving" and rec.state.thresholds == {"water": 0.8}
    assert rec.state.image == state.image and rec.state.samples == state.samples
    save_project(folder, rec.state)             # saving removes the autosave
    assert not (folder / AUTOSAVE_NAME).exists() and find_recovery(folder) is None
    autosave(folder, state)
    discard_recovery(folder)
    assert find_recovery(folder) is None


def test_stale_autosave_not_offered(tmp_path):
    folder = tmp_path / "p"
    save_project(folder, ProjectState(name="a"))
    autosave(folder, ProjectState(name="older"))
    save_project(folder, ProjectState(name="b"))   # e.g. a save whose discard failed: compare timestamps
    (folder / AUTOSAVE_NAME).write_text(json.dumps({**json.loads(json.dumps(
        proj.state_to_dict(ProjectState(name="older"), folder))), "autosaved_at": "2000-01-01T00:00:00+00:00"}))
    assert find_recovery(folder) is None


def test_untitled_autosave_in_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "home"))
    where = proj.user_autosave_dir()
    assert where == tmp_path / "home" / "autosave"
    autosave(where, ProjectState(name="never saved", method="svm"))
    rec = find_recovery(where)
    assert rec.project_folder is None and rec.state.method == "svm"
    assert find_recovery(tmp_path / "nothing-here") is None


def test_damaged_autosave_ignored_newer_autosave_refused(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / AUTOSAVE_NAME).write_text("{ truncated")
    assert find_recovery(folder) is None
    d = proj.state_to_dict(ProjectState(), folder)
    d.update(version=PROJECT_VERSION + 5, autosaved_at=proj.now_iso())
    (folder / AUTOSAVE_NAME).write_text(json.dumps(d))
    with pytest.raises(SatSegError, match="newer SatSeg"):
        find_recovery(folder)


def test_copy_image_into_project(tmp_path):
    src = tmp_path / "download" / "scene.tif"
    src.parent.mkdir()
    src.write_bytes(b"12345")
    dest = copy_image_into(tmp_path / "p", src)
    assert dest == str((tmp_path / "p" / "imagery" / "scene.tif").resolve())
    assert open(dest, "rb").read() == b"12345"
    assert copy_image_into(tmp_path / "p", dest) == dest
    with pytest.raises(SatSegError, match="is not a file"):
        copy_image_into(tmp_path / "p", tmp_path / "download")


def test_offline_basemap_saved_relative_inside_absolute_outside_and_missing_one_warns(tmp_path):
    folder = tmp_path / "p"
    inside = folder / "maps" / "roads.mbtiles"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"tiles")
    save_project(folder, ProjectState(basemap=str(inside)))
    assert json.loads((folder / MANIFEST_NAME).read_text())["basemap"] == "maps/roads.mbtiles"
    moved = tmp_path / "moved"
    shutil.move(str(folder), str(moved))
    back = load_project(moved)
    assert back.basemap == str((moved / "maps" / "roads.mbtiles").resolve()) and back.warnings == []

    outside = tmp_path / "shared" / "district.gpkg"
    save_project(tmp_path / "q", ProjectState(basemap=str(outside)))
    assert json.loads((tmp_path / "q" / MANIFEST_NAME).read_text())["basemap"] == str(outside)
    back = load_project(tmp_path / "q")   # the file is not there: the project opens, with one line saying so
    assert back.basemap == str(outside)
    assert len(back.warnings) == 1 and "offline basemap" in back.warnings[0] and "district.gpkg" in back.warnings[0]
    assert "\n" not in back.warnings[0]


def test_project_without_a_basemap_key_opens_without_one(tmp_path):
    save_project(tmp_path / "p", ProjectState())
    manifest = json.loads((tmp_path / "p" / MANIFEST_NAME).read_text())
    del manifest["basemap"]                # written by a SatSeg before offline basemaps were saved
    (tmp_path / "p" / MANIFEST_NAME).write_text(json.dumps(manifest))
    back = load_project(tmp_path / "p")
    assert back.basemap is None and back.warnings == []
