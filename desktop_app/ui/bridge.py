"""The one object the map page talks to over QWebChannel.

Events come in as JSON strings through :meth:`MapBridge.receive` and are
re-emitted as typed Qt signals. Commands go out as JSON strings on the
``command`` signal, which the page connects to its single dispatch function.
Commands sent before the page has said ``ready`` are queued and flushed in
order, so callers never have to care whether the page has finished loading.
"""
from __future__ import annotations

import json
import logging

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)


class MapBridge(QObject):
    # To the page (the name is what map.js connects to).
    command = Signal(str)
    # From the page.
    ready = Signal()
    event = Signal(object)            # every event, as a dict
    draw_created = Signal(object)     # {kind: sample|roi, id, shape, geometry}
    draw_edited = Signal(object)      # {kind, id, geometry}
    draw_removed = Signal(object)     # {kind, id}
    role_requested = Signal(object)   # {id, role}: the user picked Training/Validation in a polygon's popup
    cursor_moved = Signal(object)     # (lon, lat) or None when the cursor leaves the map
    map_clicked = Signal(object)      # (lon, lat): a click while a tool asked for clicks (set_pick_mode)
    pong = Signal(str)
    js_error = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ready = False
        self._queue: list[str] = []
        self.sent: list[dict] = []   # recent commands, for diagnostics and tests
        self.errors: list[str] = []

    @property
    def is_ready(self) -> bool:
        return self._ready

    def reset(self) -> None:
        """The page is reloading: queue again until it says ready."""
        self._ready = False

    # ------------------------------------------------------------ outgoing
    def send(self, type_: str, **payload) -> None:
        msg = {"type": type_, **payload}
        text = json.dumps(msg)
        self.sent.append(msg)
        del self.sent[:-200]
        if self._ready:
            self.command.emit(text)
        else:
            self._queue.append(text)

    def _flush(self) -> None:
        queued, self._queue = self._queue, []
        for text in queued:
            self.command.emit(text)

    # ------------------------------------------------------------ incoming
    @Slot(str)
    def receive(self, text: str) -> None:
        try:
            msg = json.loads(text)
            kind = msg["type"]
        except (ValueError, KeyError, TypeError):
            log.warning("map page sent a malformed event: %.200s", text)
            return
        if kind == "ready":
            self._ready = True
            self._flush()
            self.ready.emit()
        elif kind == "draw_created":
            self.draw_created.emit(msg)
        elif kind == "draw_edited":
            self.draw_edited.emit(msg)
        elif kind == "draw_removed":
            self.draw_removed.emit(msg)
        elif kind == "set_role":
            self.role_requested.emit(msg)
        elif kind == "cursor":
            self.cursor_moved.emit((msg["lon"], msg["lat"]) if "lat" in msg else None)
        elif kind == "map_click":
            self.map_clicked.emit((msg["lon"], msg["lat"]))
        elif kind == "pong":
            self.pong.emit(str(msg.get("token", "")))
        elif kind == "js_error":
            text = f"{msg.get('command') or msg.get('source') or 'page'}: {msg.get('message')}"
            log.error("map page error: %s", text)
            self.errors.append(text)
            self.js_error.emit(text)
        self.event.emit(msg)
