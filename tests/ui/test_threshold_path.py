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
