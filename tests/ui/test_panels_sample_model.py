"""SampleModel: every edit is undoable and undo/redo restores exactly."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json

import pytest

from desktop_app.ui.sample_model import SampleModel

SQUARE = {"type": "Polygon", "coordinates": [[[77.0, 29.0], [77.01, 29.0], [77.01, 29.01], [77.0, 29.01], [77.0, 29.0]]]}
SQUARE2 = {"type": "Polygon", "coordinates": [[[77.1, 29.1], [77.12, 29.1], [77.12, 29.12], [77.1, 29.12], [77.1, 29.1]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[77.0, 29.0], [77.01, 29.01], [77.01, 29.0], [77.0, 29.01], [77.0, 29.0]]]}


@pytest.fixture
def model(qapp):
    return SampleModel()


def snapshot(m: SampleModel) -> str:
    return json.dumps(m.to_geojson(), sort_keys=True)


def test_add_class_and_polygon_undo_redo(model):
    messages = []
    model.message.connect(messages.append)
    s0 = snapshot(model)
    water = model.add_class("water")
    assert water == 1 and model.current_class() == water
    s1 = snapshot(model)
    pid = model.add_polygon(SQUARE, water)
    s2 = snapshot(model)
    assert model.polygon_count(water) == 1
    feat = model.polygon_feature(pid)
    assert feat["properties"]["class"] == "water" and feat["properties"]["role"] == "training"
    model.undo_stack.undo()
    assert snapshot(model) == s1 and model.polygon(pid) is None
    model.undo_stack.undo()
    assert snapshot(model) == s0 and model.classes() == []
    model.undo_stack.redo()
    model.undo_stack.redo()
    assert snapshot(model) == s2


def test_edit_delete_polygon_restore_exactly(model):
    c = model.add_class("forest", "#1B7837")
    assert model.class_info(c).color == "#1b7837"
    p1 = model.add_polygon(SQUARE, c)
    p2 = model.add_polygon(SQUARE2, c)
    s = snapshot(model)
    assert model.edit_polygon(p1, SQUARE2)
    assert model.polygon(p1).geometry.equals(model.polygon(p2).geometry)
    model.undo_stack.undo()
    assert snapshot(model) == s
    removed = []
    model.polygon_removed.connect(removed.append)
    model.delete_polygon(p1)
    assert removed == [p1] and list(model.polygons) == [p2]
    model.undo_stack.undo()
    assert list(model.polygons) == [p1, p2]  # order restored, not appended
    assert snapshot(model) == s


def test_rename_recolor_delete_class_with_polygons(model):
    a = model.add_class("water")
    b = model.add_class("urban")
    model.add_polygon(SQUARE, a)
    model.add_polygon(SQUARE2, b, role="validation")
    model.set_current_class(a)
    s = snapshot(model)
    assert model.rename_class(a, "river")
    assert model.to_geojson()["features"][0]["properties"]["class"] == "river"
    assert model.recolor_class(a, "#00ff00")
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert snapshot(model) == s
    model.delete_class(a)
    assert [c.name for c in model.classes()] == ["urban"]
    assert len(model.polygons) == 1 and model.current_class() == b
    model.undo_stack.undo()
    assert snapshot(model) == s
    assert model.polygon_count(b, role="validation") == 1


def test_duplicate_or_empty_class_name_refused(model):
    messages = []
    model.message.connect(messages.append)
    model.add_class("water")
    assert model.add_class("water") == -1
    assert model.add_class("  ") == -1
    assert len(model.classes()) == 1 and len(messages) == 2
    assert "already" in messages[0]


def test_self_intersecting_polygon_repaired_with_message(model):
    messages = []
    model.message.connect(messages.append)
    c = model.add_class("water")
    pid = model.add_polygon(BOWTIE, c)
    assert pid is not None
    geom = model.polygon(pid).geometry
    assert geom.is_valid and geom.area > 0
    assert any("repaired" in m for m in messages)


def test_unusable_geometry_refused(model):
    messages = []
    model.message.connect(messages.append)
    c = model.add_class("water")
    line = {"type": "LineString", "coordinates": [[77, 29], [77.1, 29.1]]}
    flat = {"type": "Polygon", "coordinates": [[[77, 29], [77.5, 29.5], [78, 30], [77, 29]]]}
    assert model.add_polygon(line, c) is None
    assert model.add_polygon(flat, c) is None
    assert model.add_polygon(SQUARE, 99) is None
    assert model.polygons == {} and model.undo_stack.count() == 1  # only the add_class
    assert len(messages) == 3


def test_polygon_without_class_gives_message(model):
    messages = []
    model.message.connect(messages.append)
    assert model.add_polygon(SQUARE) is None
    assert "Add a class first" in messages[0]


def test_set_role_undo(model):
    c = model.add_class("water")
    pid = model.add_polygon(SQUARE, c)
    model.set_role(pid, "validation")
    assert model.polygon(pid).role == "validation"
    assert model.to_geojson(role="training")["features"] == []
    model.undo_stack.undo()
    assert model.polygon(pid).role == "training"


def test_geojson_round_trip_keeps_classes_and_clears_history(model):
    a = model.add_class("water")
    model.add_class("empty class")
    model.add_polygon(SQUARE, a, role="validation")
    fc = model.to_geojson()
    other = SampleModel()
    other.from_geojson(json.loads(json.dumps(fc)))
    assert snapshot(other) == snapshot(model)
    assert other.undo_stack.count() == 0


def test_changed_signal_on_every_edit(model):
    hits = []
    model.changed.connect(lambda: hits.append(1))
    c = model.add_class("water")
    pid = model.add_polygon(SQUARE, c)
    model.set_role(pid, "validation")
    model.undo_stack.undo()
    assert len(hits) == 4


def test_pixel_counts(model):
    c = model.add_class("water")
    model.set_pixel_counts({c: 1234})
    assert model.pixel_count(c) == 1234


@pytest.mark.parametrize("ext", [".geojson", ".kml", ".gpkg"])
def test_export_import_round_trip(model, tmp_path, ext):
    a = model.add_class("water", "#1f78b4")
    b = model.add_class("urban", "#e31a1c")
    model.add_polygon(SQUARE, a)
    model.add_polygon(SQUARE2, b, role="validation")
    path = tmp_path / f"samples{ext}"
    model.export_file(path)
    other = SampleModel()
    other.add_class("urban", "#e31a1c")        # an existing class is matched by name
    assert other.import_file(path) == 2
    assert [c.name for c in other.classes()] == ["urban", "water"]
    recs = sorted(other.polygons.values(), key=lambda r: other.class_info(r.class_id).name)
    assert [r.role for r in recs] == ["validation", "training"]
    assert recs[1].geometry.equals_exact(model.polygon(model.polygon_ids(a)[0]).geometry, 1e-9)
    assert recs[1].properties == {}
    assert other.class_info(other.class_by_name("water").id).color == "#1f78b4"
    other.undo_stack.undo()                   # the import is one undo step
    assert [c.name for c in other.classes()] == ["urban"] and other.polygons == {}


def test_export_unknown_extension_refused(model, tmp_path):
    from desktop_app.core.errors import SatSegError

    c = model.add_class("water")
    model.add_polygon(SQUARE, c)
    with pytest.raises(SatSegError, match="use .geojson, .kml or .gpkg"):
        model.export_file(tmp_path / "samples.shp")


def test_to_sample_set_keeps_model_ids(model):
    a = model.add_class("water")
    b = model.add_class("urban")
    c = model.add_class("forest")
    model.delete_class(b)
    model.add_polygon(SQUARE, c)
    model.add_polygon(SQUARE2, a, role="validation")
    ss = model.to_sample_set()
    assert [(k.id, k.name) for k in ss.classes] == [(1, "water"), (3, "forest")]
    assert ss.class_id("forest") == 3
    assert [p.role for p in model.to_sample_set("validation").polygons] == ["validation"]
    fresh = SampleModel()
    fresh.load_sample_set(ss)
    assert [k.name for k in fresh.classes()] == ["water", "forest"] and len(fresh.polygons) == 2



def test_from_geojson_with_project_class_list(model):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": SQUARE, "properties": {"class": "forest", "role": "validation"}}]}
    model.from_geojson(fc, classes=[{"id": 2, "name": "water", "color": "#1f78b4"},
                                    {"id": 5, "name": "forest", "color": "#1b7837"}])
    assert [(c.id, c.name) for c in model.classes()] == [(2, "water"), (5, "forest")]
    rec = next(iter(model.polygons.values()))
    assert rec.class_id == 5 and rec.role == "validation"
    assert not model.is_modified()
    model.add_class("urban")
    assert model.is_modified()
    model.mark_saved()
    assert not model.is_modified()


def test_from_geojson_bad_input_names_feature(model):
    from desktop_app.core.errors import SatSegError

    with pytest.raises(SatSegError, match="class field 'class'"):
        model.from_geojson({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE,
                                                                        "properties": {}}]})
    with pytest.raises(SatSegError, match="not a GeoJSON FeatureCollection"):
        model.from_geojson({"type": "Polygon"})
