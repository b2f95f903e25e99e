"""The map: a QWebEngineView showing resources/web/index.html, plus its guard.

The page is loaded from local files. A request interceptor lets through only
local schemes (file, qrc, data, blob) and, when the user has switched the
online basemap on, the tile server; every other request is blocked and
recorded, so "the map makes no network request" is checked, not hoped.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

import shiboken6
from PySide6.QtCore import QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (QWebEnginePage, QWebEngineProfile, QWebEngineScript, QWebEngineSettings,
                                     QWebEngineUrlRequestInterceptor)
from PySide6.QtWebEngineWidgets import QWebEngineView

from ..core.errors import SatSegError
from .bridge import MapBridge
from .web_scheme import BASE_URL, SCHEME, WebSchemeHandler, register_scheme

log = logging.getLogger(__name__)

# The page comes from satseg:// (web_scheme.py); file: is not on the list, the page never needs it.
LOCAL_SCHEMES = {SCHEME, "qrc", "data", "blob", "about", "devtools"}
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_TILE_HOST = "tile.openstreetmap.org"
_LIVE_PROFILES: set = set()
# Set to "1" by the test suite only: the page then exposes its test hooks (map.js).
TEST_HOOKS_ENV = "SATSEG_MAP_TEST_HOOKS"


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

    def __init__(self, parent=None, test_hooks: bool | None = None) -> None:
        super().__init__(parent)
        if test_hooks is None:
            test_hooks = os.environ.get(TEST_HOOKS_ENV) == "1"
        self.bridge = MapBridge(self)
        self.guard = RequestGuard(self)
        # A private, off-the-record profile: no disk cache, no cookies, and the
        # interceptor applies to this page only. It has no Qt parent: it must outlive
        # its page (Qt warns otherwise), so shutdown() deletes it after the page.
        register_scheme()
        self.profile = QWebEngineProfile()
        _LIVE_PROFILES.add(self.profile)
        self.profile.setUrlRequestInterceptor(self.guard)
        self.scheme_handler = WebSchemeHandler(web_root(), self)
        self.profile.installUrlSchemeHandler(SCHEME.encode(), self.scheme_handler)
        self.map_page = MapPage(self.profile, self)
        if test_hooks:
            self._enable_test_hooks()
        # The page is not local content: it can read no file:// URL, and https tiles (the
        # opt-in basemap) load like on any web page, through the guard.
        settings = self.map_page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        self.channel = QWebChannel(self.map_page)
        self.channel.registerObject("bridge", self.bridge)
        self.map_page.setWebChannel(self.channel)
        self.setPage(self.map_page)
        self.online = False
        self.is_shut_down = False

    def _enable_test_hooks(self) -> None:
        """Let map.js expose window.satseg (snapshot, simulated drawing, popups) to tests."""
        script = QWebEngineScript()
        script.setName("satseg-test-hooks")
        script.setSourceCode("window.SATSEG_TEST_HOOKS = true;")
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        self.map_page.scripts().insert(script)

    def load_map(self) -> None:
        check_web_assets()
        self.scheme_handler.root = web_root().resolve()
        self.bridge.reset()
        self.load(QUrl(BASE_URL + "index.html"))

    def publish_overlay(self, layer: str, png: bytes) -> str:
        """Make an overlay PNG available to the page (in memory); returns the URL to send it."""
        return self.scheme_handler.publish_overlay(layer, png)

    def publish_tiles(self, layer: str, render) -> str:
        """Serve XYZ tiles drawn by ``render(z, x, y) -> PNG | None``; returns the URL template."""
        return self.scheme_handler.publish_tiles(layer, render)

    def set_online_basemap(self, online: bool) -> None:
        self.online = bool(online)
        with self.guard._lock:
            self.guard.online_hosts = {OSM_TILE_HOST} if online else set()
        self.bridge.send("set_basemap", online=self.online, url=OSM_TILE_URL)

    def snapshot(self, callback) -> None:
        """Ask the page what it shows; ``callback(dict)`` runs when it answers (test hooks only)."""
        import json

        self.map_page.runJavaScript("window.satseg ? window.satseg.snapshot() : '{}'", 0,
                                    lambda text: callback(json.loads(text or "{}")))

    def shutdown(self) -> None:
        """Release the page, then its profile (the other order makes Qt warn at exit)."""
        if self.is_shut_down:
            return
        self.is_shut_down = True
        self.scheme_handler.shutdown_tiles()
        profile = self.profile

        def drop_profile() -> None:
            _LIVE_PROFILES.discard(profile)
            # At application exit Qt may already have deleted the profile with its parent;
            # deleting it again raised a RuntimeError traceback on every quit.
            if shiboken6.isValid(profile):
                profile.deleteLater()

        self.map_page.destroyed.connect(drop_profile)
        self.map_page.deleteLater()
