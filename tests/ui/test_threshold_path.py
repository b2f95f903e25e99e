"""A threshold change in the window: the map gets only the masks that changed, first; the
layer rows stay; the area table follows and shows the new result (issue 12)."""
from ui_helpers import run_and_wait, snapshot


def test_threshold_change_sends_changed_masks_first_and_tables_follow(qtbot, demo_window):
    win = demo_window
    assert run_and_wait(qtbot, win) == "done"
    first = win.result
    rows_before = dict(win.layers_panel.rows)
    urls_before = {k: m["url"] for k, m in snapshot(qtbot, win)["masks"].items()}
    sent = []
    real = win.map.bridge.send
    win.map.bridge.send = lambda kind, **kw: (sent.append((kind, kw.get("id"))), real(kind, **kw))[1]
    try:
        # Only the first class gets a (very strict) threshold: the other masks change only
        # where they take over from it; the unclassified mask (no pixel) stays as it was.
        target = first.classes[0]
        with qtbot.waitSignal(win.classification_finished, timeout=60000):
            win.model_panel.set_thresholds({target.name: 0.5})
    finally:
        win.map.bridge.send = real
    second = win.result
    assert second.refit is False
    # Rejected pixels of that class go to their next best class (the others have no threshold).
    assert second.areas.row(target.id).pixels < first.areas.row(target.id).pixels
    changed = {cid for cid, ov in second.overlays.items() if ov.png is not first.overlays[cid].png}
    assert target.id in changed and len(changed) < len(second.overlays)
    masks_sent = [lid for kind, lid in sent if kind == "set_mask"]
    assert sorted(masks_sent) == sorted(f"mask-{cid}" for cid in changed)
    # The masks go to the page before the tables are refreshed; the tables follow.
    assert win._tables_timer.isActive()
    qtbot.waitUntil(lambda: not win._tables_timer.isActive(), timeout=5000)
    table = win.results_panel.areas_table
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, table.columnCount())
                                      if table.item(r, c)] for r in range(table.rowCount()) if table.item(r, 0)}
    assert f"{second.areas.row(target.id).pixels:,}" in rows[target.name]
    assert f"{first.areas.row(target.id).pixels:,}" not in rows[target.name]
    # Unchanged masks keep their URL on the page; the layer rows of the classes stay as they were.
    now = {k: m["url"] for k, m in snapshot(qtbot, win)["masks"].items()}
    for cid in set(second.overlays) - changed:
        lid = f"mask-{cid}"
        if lid in urls_before:
            assert now[lid] == urls_before[lid]
    for lid, row in rows_before.items():
        if lid in win.layers_panel.rows and lid != "mask-0":
            assert win.layers_panel.rows[lid] is row


def test_threshold_change_recounts_accuracy_without_rasterizing_the_polygons(qtbot, demo_window, monkeypatch):
    """The validation polygons are rasterized once for the image's grid: a threshold change only
    re-counts (the figures equal scikit-learn's on the same pixels); a polygon change rasterizes again."""
    import numpy as np
    from sklearn.metrics import confusion_matrix

    import desktop_app.core.samples as samples_module

    win = demo_window
    calls = []
    real = samples_module.rasterize_samples
    monkeypatch.setattr(samples_module, "rasterize_samples", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    assert run_and_wait(qtbot, win) == "done"
    assert len(calls) == 1 and win.result.accuracy is not None
    for value in (0.9, 0.5):
        with qtbot.waitSignal(win.classification_finished, timeout=60000):
            win.model_panel.set_thresholds({c.name: value for c in win.result.classes})
        res = win.result
        assert res.refit is False and len(calls) == 1
        truth = real(res.request.samples, res.class_array.shape, win.doc.transform, win.doc.crs, role="validation")
        ref = truth > 0
        ids = [c.id for c in res.classes]
        m = confusion_matrix(truth[ref], res.class_array[ref], labels=ids + [0])
        assert res.accuracy.matrix.tolist() == m[:-1, :-1].tolist()
        assert res.accuracy.unclassified.tolist() == m[:-1, -1].tolist()
    assert res.accuracy.unclassified.sum() > 0          # the thresholds did change the counts
    # One validation polygon fewer: the next run rasterizes the new set once, and counts it.
    win.model.delete_polygon(win.model.polygon_ids(role="validation")[0])
    assert run_and_wait(qtbot, win) == "done"
    assert len(calls) == 2
    truth = real(win.result.request.samples, truth.shape, win.doc.transform, win.doc.crs, role="validation")
    assert win.result.accuracy.total == int(((truth > 0) & (win.result.class_array != 255)).sum())
    assert np.count_nonzero(truth) < np.count_nonzero(ref)
