"""The map: a QWebEngineView showing resources/web/index.html, plus its guard.

The page is loaded from local files. A request interceptor lets through only
local schemes (file, qrc, data, blob) and, when the user has switched the
online basemap on, the tile server; every other request is blocked and
recorded, so "the map makes no network request" is checked, not hoped.
"""
from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (QWebEnginePage, QWebEngineProfile, QWebEngineSettings,
                                     QWebEngineUrlRequestInterceptor)
from PySide6.QtWebEngineWidgets import QWebEngineView

from ..core.errors import SatSegError
from .bridge import MapBridge

log = logging.getLogger(__name__)

LOCAL_SCHEMES = {"file", "qrc", "data", "blob", "about", "devtools"}
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_TILE_HOST = "tile.openstreetmap.org"
_LIVE_PROFILES: set = set()


def web_root() -> Path:
    """resources/web next to the package, or inside a PyInstaller bundle."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    return base / "resources" / "web"


def check_web_assets(root: Path | None = None) -> Path:
    root = root or web_root()
    needed = [root / "index.html", root / "node_modules/leaflet/dist/leaflet.js",
              root / "node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise SatSegError(f"the map libraries are missing ({missing[0]}); run 'make setup' "
                          "(npm ci in resources/web) to install them")
    return root / "index.html"


class RequestGuard(QWebEngineUrlRequestInterceptor):
    """Blocks and records every non-local request unless it is an allowed tile request."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self.online_hosts: set[str] = set()
        self.blocked: list[str] = []
        self.allowed_remote: list[str] = []

    def interceptRequest(self, info) -> None:  # runs on Qt's IO thread
        url = info.requestUrl()
        if url.scheme() in LOCAL_SCHEMES:
            return
        with self._lock:
            if url.host() in self.online_hosts:
                self.allowed_remote.append(url.toString())
                return
            self.blocked.append(url.toString())
        info.block(True)
        log.warning("map page: blocked network request %s (online basemap is off)", url.toString())


class MapPage(QWebEnginePage):
    console = Signal(int, str)

    def __init__(self, profile, parent=None) -> None:
        super().__init__(profile, parent)
        self.console_errors: list[str] = []

    def javaScriptConsoleMessage(self, level, message, line, source) -> None:
        text = f"{source}:{line}: {message}"
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            self.console_errors.append(text)
            log.error("map page console: %s", text)
        else:
            log.debug("map page console: %s", text)
        self.console.emit(int(level.value) if hasattr(level, "value") else int(level), text)


class MapView(QWebEngineView):
    """The Leaflet map and its bridge. ``view.bridge.send(...)`` talks to the page."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bridge = MapBridge(self)
        self.guard = RequestGuard(self)
        # A private, off-the-record profile: no disk cache, no cookies, and the
        # interceptor applies to this page only. It has no Qt parent: it must outlive
        # its page (Qt warns otherwise), so shutdown() deletes it after the page.
        self.profile = QWebEngineProfile()
        _LIVE_PROFILES.add(self.profile)
        self.profile.setUrlRequestInterceptor(self.guard)
        self.map_page = MapPage(self.profile, self)
        settings = self.map_page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        # Needed for the opt-in basemap; the guard still blocks everything not allowed.
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, True)
        self.channel = QWebChannel(self.map_page)
        self.channel.registerObject("bridge", self.bridge)
        self.map_page.setWebChannel(self.channel)
        self.setPage(self.map_page)
        self.online = False
        self.is_shut_down = False

    def load_map(self) -> None:
        index = check_web_assets()
        self.bridge.reset()
        self.load(QUrl.fromLocalFile(str(index)))

    def set_online_basemap(self, online: bool) -> None:
        self.online = bool(online)
        with self.guard._lock:
            self.guard.online_hosts = {OSM_TILE_HOST} if online else set()
        self.bridge.send("set_basemap", online=self.online, url=OSM_TILE_URL)

    def snapshot(self, callback) -> None:
        """Ask the page what it shows; ``callback(dict)`` runs when it answers."""
        import json

        self.map_page.runJavaScript("window.satseg ? window.satseg.snapshot() : '{}'", 0,
                                    lambda text: callback(json.loads(text or "{}")))

    def shutdown(self) -> None:
        """Release the page, then its profile (the other order makes Qt warn at exit)."""
        if self.is_shut_down:
            return
        self.is_shut_down = True
        profile = self.profile

        def drop_profile() -> None:
            profile.deleteLater()
            _LIVE_PROFILES.discard(profile)

        self.map_page.destroyed.connect(drop_profile)
        self.map_page.deleteLater()
