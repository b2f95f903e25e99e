"""Sentinel-2 from Google Earth Engine: sign-in, the composite graph, computePixels per tile.

Pixels come from ``ee.data.computePixels`` on an explicit UTM grid (the ROI's
zone, aligned to the pixel size), as uint16 digital numbers of
``COPERNICUS/S2_SR_HARMONIZED`` (0 = no data). The client's own retries are
switched off (they wait ~44 s when offline and hide the HTTP status); this
module retries 429/5xx, dropped connections and timeouts itself with
back-off, and fails at once on anything a retry cannot fix (400, 401, 403).
Every request has a deadline (``ee.data.setDeadline`` plus the backstop in
``netcall``) and ends at once on Cancel: see docs/online.md.

``ee`` is imported inside functions only: importing this module stays light.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from shapely.geometry import mapping

from ..errors import SatSegError, advised
from ..jobs import Cancelled, Job, ensure_job
from . import netcall
from .connectivity import check_connectivity
from .ee_errors import DEFAULT_TIMEOUT_S, NOT_SIGNED_IN, SESSION, call_with_retries, translate_error
from .roi import Grid, Roi
from .scenes import per_tile
from .tiling import Tile

EE_COLLECTION = "COPERNICUS/S2_SR_HARMONIZED"
CS_PLUS_COLLECTION = "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED"
CS_BAND = "cs_cdf"
CLOUD_PROPERTY = "CLOUDY_PIXEL_PERCENTAGE"
TILE_PROPERTY = "MGRS_TILE"
DEFAULT_EE_URL = "https://earthengine.googleapis.com"
# S2_SR_HARMONIZED has every MSI band except the cirrus band B10.
EE_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12")
MAX_SCENES = 5000

NO_PROJECT = advised("no Google Cloud project set for Earth Engine (a project registered for Earth Engine is needed)",
                     cli="give its id with --ee-project",
                     app="enter its id as EE project in the Fetch imagery for ROI… dialog (Image panel)")


# --- authentication -------------------------------------------------------

def has_stored_credentials() -> bool:
    """True when 'earthengine authenticate' (or ee_sign_in) has stored credentials."""
    from ee import oauth

    return Path(oauth.get_credentials_path()).exists()


def _service_account(key_file: str | os.PathLike):
    """Credentials and project id from a service-account JSON key, with a clear error for bad keys."""
    p = Path(key_file)
    if not p.is_file():
        raise SatSegError(f"service-account key file {p} does not exist")
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SatSegError(f"service-account key file {p} is not JSON: {exc}") from exc
    if not isinstance(info, dict) or info.get("type") != "service_account" or not info.get("client_email") \
            or not info.get("private_key"):
        raise SatSegError(f"{p} is not a Google service-account key (needs type=service_account, client_email, "
                          "private_key)")
    import ee

    try:
        creds = ee.ServiceAccountCredentials(info["client_email"], key_file=str(p))
    except Exception as exc:  # google-auth/cryptography raise ValueError and friends for bad keys
        # Their wording ("ASN.1 parsing error", "Could not deserialize key data") means nothing
        # to a user: say what is wrong and what to do.
        raise SatSegError(f"the private key in service-account key file {p.name} is damaged or incomplete; "
                          "create a new key for the service account in the Google Cloud console "
                          "and choose that file") from exc
    return creds, info.get("project_id"), info["client_email"]


# The settings the current ee session was initialised with; a change means a new session.
# (ee_errors.SESSION is the same dict: messages name the key file and account in use.)
_SESSION = SESSION


def _settings_key(project, key_file, url) -> tuple:
    """What identifies a session: the settings, plus the credential file's identity (a new key or sign-in)."""
    if key_file:
        cred = Path(key_file)
    else:
        from ee import oauth

        cred = Path(oauth.get_credentials_path())
    try:
        stamp = cred.stat().st_mtime_ns
    except OSError:
        stamp = None
    return (project or None, str(cred.resolve()), stamp, (url or None))


def ensure_session(project: Optional[str] = None, key_file: Optional[str | os.PathLike] = None,
                   url: Optional[str] = None, *, job: Optional[Job] = None,
                   timeout: float = DEFAULT_TIMEOUT_S, check_network: bool = True) -> None:
    """Initialise Earth Engine unless this process already did so with the same settings.

    A change of project, key file (or its contents), stored sign-in or
    endpoint starts a new session, so the app never keeps using stale ones.
    """
    if ee_is_initialized() and _SESSION.get("key") == _settings_key(project, key_file, url):
        return
    ee_initialize(project, key_file, url, job=job, timeout=timeout, check_network=check_network)


def ee_initialize(project: Optional[str] = None, key_file: Optional[str | os.PathLike] = None,
                  url: Optional[str] = None, *, check_network: bool = True, timeout: float = DEFAULT_TIMEOUT_S,
                  job: Optional[Job] = None) -> str:
    """Initialise Earth Engine; returns a one-line description of the session.

    Credentials: the service-account ``key_file`` if given, else those stored
    by a previous sign-in (or Application Default Credentials). ``project`` is
    the Cloud project id (a key file's own project is the fallback). ``url``
    is the advanced alternative endpoint passed to ``ee.Initialize``.
    Connectivity is checked first so an offline machine fails in seconds;
    ``timeout`` is the deadline of each request (sign-in included).
    """
    if check_network:
        check_connectivity(url or DEFAULT_EE_URL, "Earth Engine")
    import ee

    _SESSION.clear()

    account = "stored credentials"
    if key_file:
        credentials, key_project, account = _service_account(key_file)
        project = project or key_project
    else:
        try:
            credentials = ee.data.get_persistent_credentials()
        except ee.EEException as exc:
            raise SatSegError(NOT_SIGNED_IN) from exc
        except Exception as exc:  # refreshing the stored token failed on the network
            raise translate_error(exc, "checking the stored Earth Engine credentials") from exc
        project = project or getattr(credentials, "quota_project_id", None)
    if not project:
        raise SatSegError(NO_PROJECT)
    key = str(key_file) if key_file else None
    try:
        netcall.call(lambda: ee.Initialize(credentials, url=url, project=project), job, timeout,
                     "signing in to Earth Engine")
    except Cancelled:
        raise
    except Exception as exc:  # EEException, transport errors, refresh errors, timeouts
        raise translate_error(exc, "signing in to Earth Engine", project=project, key_file=key, timeout=timeout,
                              account=account) from exc
    # Interactive use: our own retry loop reports status codes and honours Cancel.
    ee.data.setMaxRetries(0)
    ee.data.setDeadline(int(timeout * 1000))
    _SESSION.update(key=_settings_key(project, key_file, url), key_file=key, account=account, project=project,
                    credentials=credentials)   # for reading exports back from Drive or Cloud Storage
    return f"Earth Engine project {project} ({account})"


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if seconds >= 60 and minutes == int(minutes):
        return f"{int(minutes)} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def _wait_for_browser(server, timeout_s: float, job: Job) -> None:
    """Wait until the browser's redirect is queued on the library's callback server.

    ``ee.Authenticate`` waits in ``HTTPServer.handle_request()`` with no time
    limit, and if its server timed out the library would go on to prompt on
    stdin for a code. So the wait happens here, on the listening socket, in
    short slices that notice Cancel; the library reads the request only once
    one is there.
    """
    import select

    deadline = time.monotonic() + timeout_s
    while True:
        job.check()
        left = deadline - time.monotonic()
        if left <= 0:
            raise SatSegError(f"Earth Engine sign-in was not completed within {_duration(timeout_s)}; try again")
        ready, _, _ = select.select([server.socket], [], [], min(0.25, left))
        if ready:
            return


def ee_sign_in(auth_mode: str = "localhost", *, check_network: bool = True, timeout_s: float = 300,
               job: Optional[Job] = None, open_browser: Optional[Callable[[str], Any]] = None) -> None:
    """Browser sign-in (blocking: the UI runs it on a worker thread); stores credentials.

    For the localhost modes ("localhost", "localhost:PORT") this drives
    earthengine-api's own ``ee.oauth.Flow`` — the same steps ``ee.Authenticate``
    takes (callback server, PKCE, token exchange, credential file) — but waits
    for the browser at most ``timeout_s`` seconds and honours ``job``'s Cancel,
    then frees the port. Other modes go to ``ee.Authenticate`` unchanged.
    ``open_browser(url)`` defaults to the system browser.
    """
    if check_network:
        check_connectivity("https://accounts.google.com", "Google sign-in")
    import ee

    if not (auth_mode or "").startswith("localhost"):
        try:
            ok = ee.Authenticate(auth_mode=auth_mode, force=True)
        except Exception as exc:
            raise SatSegError(f"Earth Engine sign-in failed: {exc}") from exc
        if ok is False:
            raise SatSegError("Earth Engine sign-in did not complete")
        return

    import webbrowser

    from ee import oauth

    job = ensure_job(job)
    try:
        flow = oauth.Flow(auth_mode)   # starts the library's callback server on localhost
    except OSError as exc:
        raise SatSegError(f"Earth Engine sign-in cannot listen for the browser on localhost ({exc}); "
                          "finish or close the other sign-in, then try again") from exc
    except Exception as exc:
        raise SatSegError(f"Earth Engine sign-in failed: {exc}") from exc
    server = flow.server.server
    try:
        flow.display_instructions()            # prints the sign-in URL, as ee.Authenticate does
        (open_browser or webbrowser.open_new)(flow.auth_url)
        _wait_for_browser(server, timeout_s, job)
        # Reads the queued redirect, exchanges the code with Google (a network call: deadline + Cancel),
        # writes the credentials.
        netcall.call(flow.save_code, job, DEFAULT_TIMEOUT_S, "exchanging the sign-in code with Google")
    except (SatSegError, Cancelled):
        raise
    except Exception as exc:
        raise SatSegError(f"Earth Engine sign-in failed: {exc}") from exc
    finally:
        server.server_close()                  # the port is free for the next attempt


def ee_is_initialized() -> bool:
    import ee

    return bool(ee.data.is_initialized())


# --- graph ----------------------------------------------------------------

def ee_region(roi: Roi):
    """The ROI as an ee.Geometry in its UTM zone (planar, so the antimeridian is a non-issue)."""
    import ee

    geojson = json.loads(json.dumps(mapping(roi.projected)))
    return ee.Geometry(geojson, roi.crs.to_string(), False)


def _filtered(name: str, region, start: dt.date, end: dt.date):
    """A collection cut to the ROI and dates (end inclusive), so the server never scans all of it."""
    import ee

    return (ee.ImageCollection(name).filterBounds(region)
            .filterDate(start.isoformat(), (end + dt.timedelta(days=1)).isoformat()))


def build_search(roi: Roi, start: dt.date, end: dt.date, max_cloud: float):
    """ee.List of [system:index, MGRS_TILE, cloud %] of the candidate scenes, least cloudy first."""
    import ee

    col = _filtered(EE_COLLECTION, ee_region(roi), start, end)
    if max_cloud < 100:
        col = col.filter(ee.Filter.lt(CLOUD_PROPERTY, max_cloud))
    col = col.sort(CLOUD_PROPERTY).limit(MAX_SCENES)
    return col.reduceColumns(ee.Reducer.toList(3), ["system:index", TILE_PROPERTY, CLOUD_PROPERTY]).get("list")


def choose_scenes(rows: list, composite: str) -> list[str]:
    """Scene ids a composite uses: least_cloudy keeps the clearest scene of each grid tile."""
    if composite != "least_cloudy":
        return [str(r[0]) for r in rows]
    best = per_tile(rows, 1, tile_of=lambda r: r[1], cloud_of=lambda r: r[2])
    return [str(r[0]) for r in best]


def build_composite(scene_ids: list[str], bands: list[str], composite: str, roi: Roi, start: dt.date, end: dt.date,
                    cs_threshold: float = 0.6):
    """uint16 DN image, masked -> 0, valid pixels >= 1.

    least_cloudy: a mosaic of the given scenes (least cloudy first in
    ``scene_ids``, drawn on top). median: Cloud Score+ masked median of them.
    """
    import ee

    if composite == "least_cloudy":
        # mosaic() draws the last image on top: the clearest scene goes last.
        images = [ee.Image(f"{EE_COLLECTION}/{i}").select(bands) for i in reversed(scene_ids)]
        image = ee.ImageCollection.fromImages(images).mosaic()
    else:
        region = ee_region(roi)
        col = _filtered(EE_COLLECTION, region, start, end).filter(ee.Filter.inList("system:index", scene_ids))
        col = col.linkCollection(_filtered(CS_PLUS_COLLECTION, region, start, end), [CS_BAND])
        col = col.map(lambda img: img.updateMask(img.select(CS_BAND).gte(cs_threshold)))
        image = col.select(bands).median()
    # 0 means "no data" downstream, so a valid 0 DN (clear water in B11/B12) is raised to 1 first.
    return image.max(1).unmask(0).toUint16()


def pixel_grid(grid: Grid, tile: Tile) -> dict:
    """The computePixels ``grid`` of one tile (an explicit affine grid in the UTM CRS)."""
    t = grid.window_transform(tile.x, tile.y)
    return {
        "dimensions": {"width": tile.width, "height": tile.height},
        "affineTransform": {"scaleX": t.a, "shearX": t.b, "translateX": t.c,
                            "shearY": t.d, "scaleY": t.e, "translateY": t.f},
        "crsCode": grid.crs.to_string(),
    }


def npy_to_dn(arr: np.ndarray, bands: list[str], tile: Tile) -> np.ndarray:
    """computePixels NPY answer (structured (h, w) array, one field per band) -> (bands, h, w) uint16."""
    if arr.dtype.names:
        missing = [b for b in bands if b not in arr.dtype.names]
        if missing:
            raise SatSegError(f"Earth Engine answer for tile {tile.key} lacks bands {', '.join(missing)}")
        data = np.stack([arr[b] for b in bands])
    else:
        data = np.moveaxis(arr, -1, 0) if arr.ndim == 3 else arr[None]
    if data.shape != (len(bands), tile.height, tile.width):
        raise SatSegError(f"Earth Engine answer for tile {tile.key} has shape {data.shape[1:]}, "
                          f"expected {(tile.height, tile.width)}")
    return np.clip(data, 0, 65535).astype(np.uint16)


# --- fetching ---------------------------------------------------------------

def search_scenes(roi: Roi, start: dt.date, end: dt.date, composite: str, max_cloud: float, backoff,
                  job: Optional[Job] = None, project: Optional[str] = None,
                  timeout: float = DEFAULT_TIMEOUT_S) -> list[str]:
    """Ids of the scenes the composite uses, least cloudy first."""
    import ee

    job = ensure_job(job)
    ee.data.setMaxRetries(0)  # the client's own retries hide status codes and ignore Cancel
    rows = call_with_retries(lambda: build_search(roi, start, end, max_cloud).getInfo(),
                             "searching for scenes", backoff, job, project, timeout)
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 3 for r in rows):
        raise SatSegError(f"Earth Engine returned an unexpected scene list: {str(rows)[:200]}")
    if not rows:
        cloud = f" with scene cloud cover < {max_cloud:g} %" if max_cloud < 100 else ""
        raise SatSegError(f"no Sentinel-2 images in {EE_COLLECTION} for this ROI between {start} and {end}{cloud}; "
                          "widen the date range or raise the cloud limit")
    return choose_scenes(rows, composite)


def tile_fetcher(image, grid: Grid, bands: list[str], backoff, job: Job, project: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT_S, tile_size: Optional[int] = None) -> Callable[[Tile], np.ndarray]:
    """A function fetching one tile with computePixels (deadline and retries included)."""
    import ee

    ee.data.setMaxRetries(0)  # the client's own retries hide status codes and ignore Cancel

    def fetch(tile: Tile) -> np.ndarray:
        params = {"expression": image, "fileFormat": "NUMPY_NDARRAY", "bandIds": list(bands),
                  "grid": pixel_grid(grid, tile)}
        arr = call_with_retries(lambda: ee.data.computePixels(params), f"fetching tile {tile.key}", backoff, job,
                                project, timeout, tile_size)
        return npy_to_dn(arr, bands, tile)

    return fetch
