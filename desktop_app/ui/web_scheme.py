"""``satseg://app/``: the map page, its libraries and its image overlays, served by Python.

The page used to be a ``file://`` document with file-URL access, so any script that
ran in it (say, through a crafted class name) could read the user's files. Served from
this scheme instead, the page has an ordinary web origin: it can load exactly what
this handler serves — files under ``resources/web`` (no ``..``, no other folder), Qt's
``qwebchannel.js``, the overlay PNGs the window publishes, held in memory, and map tiles
(``tiles/<layer>/<version>/<z>/<x>/<y>.png``) drawn on demand by a renderer the window
registers — and Chromium refuses it every ``file://`` URL.

Tiles are drawn on the handler's own worker threads (never the UI thread, never the
queue of long jobs) and the reply is sent back on the UI thread; a tile the page no
longer wants (it scrolled away) is simply dropped. Tiles a renderer calls slow (a
zoomed-out view of a big file before its overviews exist: seconds each) have a lane
of their own (one thread), so they never hold up the others.
"""
from __future__ import annotations

import logging
import mimetypes
import re
import threading
from pathlib import Path, PurePosixPath
from typing import Callable, Optional

from PySide6.QtCore import QBuffer, QByteArray, QFile, QIODevice, QObject, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

log = logging.getLogger(__name__)

SCHEME = "satseg"
HOST = "app"
BASE_URL = f"{SCHEME}://{HOST}/"
OVERLAY_PREFIX = "overlay/"
TILE_PREFIX = "tiles/"
_TILE_PATH = re.compile(r"^tiles/([a-z0-9_-]+)/(\d+)/(\d+)/(\d+)/(\d+)\.png$")
TILE_THREADS = 2
SLOW_TILE_THREADS = 1
TileRenderer = Callable[[int, int, int], Optional[bytes]]   # (z, x, y) -> PNG, None = nothing there
_QWEBCHANNEL = ":/qtwebchannel/qwebchannel.js"
_registered = False


def register_scheme() -> None:
    """Tell QtWebEngine about ``satseg:`` (once, before the first web profile exists)."""
    global _registered
    if _registered:
        return
    scheme = QWebEngineUrlScheme(SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    scheme.setDefaultPort(QWebEngineUrlScheme.SpecialPort.PortUnspecified.value)
    # Secure like https (so https basemap tiles are not "mixed content"); deliberately
    # not LocalScheme / LocalAccessAllowed: the page gets no access to local files.
    scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme)
    QWebEngineUrlScheme.registerScheme(scheme)
    _registered = True


class _TileReplies(QObject):
    """Carries a drawn tile from a tile thread back to the UI thread (queued signal)."""

    ready = Signal(object, object)   # job, (bytes, mime) or None


def _empty_png() -> bytes:
    from ..core.display import encode_png
    import numpy as np

    return encode_png(np.zeros((1, 1, 4), np.uint8))


class WebSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers ``satseg://app/<path>`` from the web root, Qt's resources and published overlays."""

    def __init__(self, root: Path, parent=None) -> None:
        super().__init__(parent)
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._overlays: dict[str, bytes] = {}   # file name -> PNG, only the newest per layer
        self._serial = 0
        self._tiles: dict[str, tuple[int, TileRenderer]] = {}   # layer -> (version, renderer)
        # Pending tile draws per lane, newest last (taken first); threads started per lane.
        self._tile_stack: dict[str, list] = {"fast": [], "slow": []}
        self._tile_ready = threading.Condition(self._lock)
        self._tile_threads = {"fast": 0, "slow": 0}
        self._tiles_closed = False
        self._replies = _TileReplies(self)
        self._replies.ready.connect(self._reply)
        self._empty = None

    # ---------------------------------------------------------------- tiles
    def publish_tiles(self, layer: str, render: TileRenderer) -> str:
        """Serve tiles of ``layer`` drawn by ``render``; returns the Leaflet URL template.

        Each call is a new version (new URLs), so the page re-asks only for the tiles it shows.
        """
        with self._lock:
            self._serial += 1
            self._tiles[layer] = (self._serial, render)
        return f"{BASE_URL}{TILE_PREFIX}{layer}/{self._serial}/{{z}}/{{x}}/{{y}}.png"

    def drop_tiles(self, layer: Optional[str] = None, prefix: Optional[str] = None) -> None:
        """Stop serving ``layer`` (or every layer whose name starts with ``prefix``, or all)."""
        with self._lock:
            if layer is None and prefix is None:
                self._tiles.clear()
            for name in [k for k in self._tiles if k == layer or (prefix and k.startswith(prefix))]:
                del self._tiles[name]

    def _start_tile(self, job, path: str) -> bool:
        """True when ``path`` is a tile URL (answered later, from a tile thread)."""
        m = _TILE_PATH.match(path)
        if not m:
            return False
        layer, version, z, x, y = m.group(1), *map(int, m.groups()[1:])
        with self._lock:
            entry = self._tiles.get(layer)
        if entry is None or entry[0] != version:
            self._replies.ready.emit(job, None)    # an old version: the page moved on
            return True
        render = entry[1]
        alive = [True]
        # Leaflet drops the requests of tiles that left the view; Qt then deletes their job.
        job.destroyed.connect(lambda *_: alive.__setitem__(0, False))

        def work():
            if not alive[0]:
                return                             # scrolled away before its turn: not drawn
            try:
                png = render(z, x, y)
            except Exception:   # a bug in a renderer must not take the map down: log, empty tile
                log.exception("tile %s failed", path)
                png = None
            from ..core.scale.basemap import image_mime   # basemap files may hold JPEG/WebP tiles

            if alive[0]:
                try:
                    self._replies.ready.emit(job, (png, image_mime(png) if png else "image/png"))
                except RuntimeError:   # the window closed while the tile was drawn
                    pass

        slow = getattr(render, "slow", None)
        self._push_tile(work, "slow" if slow is not None and slow(z) else "fast")
        return True

    def _push_tile(self, work, lane: str = "fast") -> None:
        """Newest request first: after a zoom or pan the tiles now on screen are drawn before
        the ones asked for on the way (which the page may have dropped meanwhile)."""
        with self._lock:
            self._tile_stack[lane].append(work)
            if self._tile_threads[lane] < (TILE_THREADS if lane == "fast" else SLOW_TILE_THREADS):
                self._tile_threads[lane] += 1
                threading.Thread(target=self._tile_worker, args=(lane,), name=f"satseg-tiles-{lane}",
                                 daemon=True).start()
            self._tile_ready.notify_all()

    def _tile_worker(self, lane: str) -> None:
        # Not at a lower CPU priority: on a busy machine the view the user waits for would starve.
        stack = self._tile_stack[lane]
        while True:
            with self._lock:
                while not stack and not self._tiles_closed:
                    self._tile_ready.wait()
                if self._tiles_closed:
                    return
                work = stack.pop()
            work()

    def _reply(self, job, found) -> None:
        try:
            if found is None:
                job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
                return
            data, mime = found
            if data is None:
                if self._empty is None:
                    self._empty = _empty_png()
                data = self._empty
            buf = QBuffer(job)
            buf.setData(QByteArray(data))
            buf.open(QIODevice.OpenModeFlag.ReadOnly)
            job.reply(mime.encode(), buf)
        except RuntimeError:   # the page dropped the request (tile scrolled away): nothing to do
            pass

    def shutdown_tiles(self) -> None:
        self.drop_tiles()
        with self._lock:
            self._tiles_closed = True
            for stack in self._tile_stack.values():
                stack.clear()
            self._tile_ready.notify_all()

    def publish_overlay(self, layer: str, png: bytes) -> str:
        """Serve ``png`` for ``layer`` and return its URL (new per version, so no stale cache)."""
        with self._lock:
            self._serial += 1
            name = f"{layer}-{self._serial}.png"
            for old in [k for k in self._overlays if k.rsplit("-", 1)[0] == layer]:
                del self._overlays[old]
            self._overlays[name] = png
        return f"{BASE_URL}{OVERLAY_PREFIX}{name}"

    def _content(self, path: str) -> tuple[bytes, str] | None:
        if path == "qwebchannel.js":
            f = QFile(_QWEBCHANNEL)
            if not f.open(QIODevice.OpenModeFlag.ReadOnly):
                return None
            return bytes(f.readAll().data()), "text/javascript"
        if path.startswith(OVERLAY_PREFIX):
            with self._lock:
                png = self._overlays.get(path[len(OVERLAY_PREFIX):])
            return (png, "image/png") if png is not None else None
        # No ".." step out of the web root. (node_modules is a symlink to the installed
        # packages, so the path is checked as asked, not as resolved.)
        target = self.root / path
        if not path or ".." in PurePosixPath(path).parts or not target.is_file():
            return None
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return target.read_bytes(), mime

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt name)
        url = job.requestUrl()
        if url.host() != HOST:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        path = url.path(QUrl.ComponentFormattingOption.FullyDecoded).lstrip("/")
        if path.startswith(TILE_PREFIX) and self._start_tile(job, path):
            return
        try:
            found = self._content(path)
        except OSError as exc:
            log.error("map page: cannot read %s: %s", path, exc)
            found = None
        if found is None:
            log.warning("map page: no such resource %s", url.toString())
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        data, mime = found
        buf = QBuffer(job)   # owned by the job: freed when the page has read it
        buf.setData(QByteArray(data))
        buf.open(QIODevice.OpenModeFlag.ReadOnly)
        job.reply(mime.encode(), buf)
