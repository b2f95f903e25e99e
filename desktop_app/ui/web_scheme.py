"""``satseg://app/``: the map page, its libraries and its image overlays, served by Python.

The page used to be a ``file://`` document with file-URL access, so any script that
ran in it (say, through a crafted class name) could read the user's files. Served from
this scheme instead, the page has an ordinary web origin: it can load exactly what
this handler serves — files under ``resources/web`` (no ``..``, no other folder), Qt's
``qwebchannel.js`` and the overlay PNGs the window publishes, held in memory — and
Chromium refuses it every ``file://`` URL.
"""
from __future__ import annotations

import logging
import mimetypes
import threading
from pathlib import Path, PurePosixPath

from PySide6.QtCore import QBuffer, QByteArray, QFile, QIODevice, QUrl
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

log = logging.getLogger(__name__)

SCHEME = "satseg"
HOST = "app"
BASE_URL = f"{SCHEME}://{HOST}/"
OVERLAY_PREFIX = "overlay/"
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


class WebSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers ``satseg://app/<path>`` from the web root, Qt's resources and published overlays."""

    def __init__(self, root: Path, parent=None) -> None:
        super().__init__(parent)
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._overlays: dict[str, bytes] = {}   # file name -> PNG, only the newest per layer
        self._serial = 0

    def publish_overlay(self, layer: str, png: bytes) -> str:
        """Serve ``png`` for ``layer`` and return its URL (new per version, so no stale cache)."""
        with self._lock:
            self._serial += 1
            name = f"{layer}-{self._serial}.png"
            for old in [k for k in self._overlays if k.rsplit("-", 1)[0] == layer]:
                del self._overlays[old]
            self._overlays[name] = png
        return f"{BASE_URL}{OVERLAY_PREFIX}{name}"

    def clear_overlays(self) -> None:
        with self._lock:
            self._overlays.clear()

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
