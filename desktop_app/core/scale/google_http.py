"""Reading an Earth Engine export back from Google Drive or Cloud Storage over their REST APIs.

One ``GoogleHttp`` per download: google-auth's ``AuthorizedSession`` with
the Earth Engine session's credentials (it adds the bearer token and
refreshes it), each request under a deadline and Cancel (``netcall.call``),
429/5xx, dropped connections and timeouts retried on the fetch's back-off
schedule, every other error one line naming the service (docs/scale.md).
A file is streamed to disk in 256 KiB chunks, each chunk under the deadline,
and checked against the size and MD5 the listing gave before it is used.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Iterator, Optional

from ..atomic import _os_message
from ..errors import SatSegError, advised
from ..jobs import Cancelled, Job, ensure_job
from ..online import netcall

DRIVE_SCOPES = {"https://www.googleapis.com/auth/drive", "https://www.googleapis.com/auth/drive.readonly"}
def no_drive_access(why: str):
    """The sign-in cannot read Google Drive: how to sign in again with Drive access, where the user is."""
    from ..online.ee_errors import EE_ACCOUNT_APP

    return advised(f"the Earth Engine sign-in does not allow reading Google Drive ({why})",
                   cli="sign in again with Drive access: 'earthengine authenticate --force' (its default scopes "
                       "include Drive), or use a service-account key (--ee-key), whose Drive is where its exports go",
                   app=f"sign in again (Sign in with Google… under {EE_ACCOUNT_APP}; it asks for Drive access), or "
                       "choose a service-account key there, whose Drive is where its exports go")


RETRY_STATUS = {429, 500, 502, 503, 504}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}   # Drive's 403s that are really 429s
CHUNK = 1 << 18          # 256 KiB: a read waits for a whole chunk, and each read has the deadline
CONNECT_TIMEOUT_S = 10.0


def session_credentials():
    """The credentials of the current Earth Engine session (``earthengine.ee_initialize`` keeps them)."""
    from ..online.ee_errors import NOT_SIGNED_IN, SESSION

    creds = SESSION.get("credentials")
    if creds is None:
        raise SatSegError(NOT_SIGNED_IN)
    return creds


def check_drive_scope(creds) -> None:
    """Refuse before any request when the credentials say they were granted no Drive scope."""
    scopes = set(getattr(creds, "scopes", None) or getattr(creds, "granted_scopes", None) or ())
    if scopes and not scopes & DRIVE_SCOPES:   # unknown scopes (e.g. metadata-server credentials): let Google say
        raise SatSegError(no_drive_access("its scopes are " + ", ".join(sorted(scopes))))


class HttpStatusError(Exception):
    """A non-2xx answer: status, Google's message and its error reasons."""

    def __init__(self, status: int, message: str, reasons: set[str]) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.reasons = status, message, reasons


def _status_error(resp) -> HttpStatusError:
    message, reasons = resp.reason or "", set()
    try:
        err = resp.json().get("error", {})
        message = err.get("message") or message
        reasons = {e.get("reason") for e in err.get("errors", [])} | {d.get("reason") for d in err.get("details", [])}
    except ValueError:     # not JSON (a proxy's HTML page): keep the HTTP reason phrase
        pass
    return HttpStatusError(resp.status_code, message, {r for r in reasons if r})


def _writable(dest: Path):
    try:
        return open(dest, "wb")
    except OSError as exc:   # a local problem: never retried as if the network had failed
        raise SatSegError(f"cannot write {dest.parent}: {_os_message(exc)}") from exc


def _write(fh, chunk: bytes, dest: Path) -> None:
    try:
        fh.write(chunk)
    except OSError as exc:
        raise SatSegError(f"cannot write {dest.parent}: {_os_message(exc)}") from exc


class GoogleHttp:
    """GETs against one Google API with a deadline per request (and per chunk), retries and Cancel."""

    def __init__(self, session, service: str, *, job: Optional[Job] = None, timeout: float = 120.0, backoff=None):
        from ..online.tile_runner import Backoff

        self.session, self.service, self.timeout = session, service, timeout
        self.job, self.backoff = ensure_job(job), backoff or Backoff()

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, HttpStatusError):
            return exc.status in RETRY_STATUS or (exc.status == 403 and bool(exc.reasons & RATE_REASONS))
        import requests

        return netcall.timed_out(exc) or isinstance(exc, (requests.ConnectionError, OSError))

    def _message(self, exc: BaseException, what: str, attempts: int) -> SatSegError:
        after = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(exc, HttpStatusError):
            if exc.status == 403 and exc.reasons & {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}:
                return SatSegError(no_drive_access(exc.message) if self.service == "Google Drive" else
                                   f"the Earth Engine credentials may not read {self.service} ({exc.message})")
            if exc.status == 401:
                return SatSegError(f"{self.service} refused the Earth Engine credentials while {what} ({exc.message}); "
                                   "sign in to Earth Engine again")
            if exc.status == 404:
                return SatSegError(f"not found in {self.service} while {what} ({exc.message}); the export's files "
                                   "may have been moved or deleted")
            return SatSegError(f"{self.service} answered {exc.status}{after} while {what}: {exc.message}")
        if netcall.timed_out(exc):
            return SatSegError(f"{self.service} did not answer within {self.timeout:g} s{after} while {what}; "
                               "try again later")
        from google.auth.exceptions import RefreshError

        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, RefreshError):
            return SatSegError(f"{self.service} refused the Earth Engine credentials while {what} ({first}); "
                               "sign in to Earth Engine again")
        if self._retryable(exc):
            return SatSegError(f"lost the connection to {self.service}{after} while {what} ({first}); "
                               "try again when online")
        return SatSegError(f"{self.service} error while {what}: {first}")

    def _attempts(self, what: str, fn):
        """``fn()`` under the back-off schedule; the last error as one line."""
        for attempt in range(self.backoff.attempts):
            self.job.check()
            try:
                return fn()
            except (Cancelled, SatSegError):
                raise
            except Exception as exc:   # requests, google-auth and our status errors
                if attempt + 1 < self.backoff.attempts and self._retryable(exc):
                    self.backoff.wait(attempt, self.job)
                    continue
                raise self._message(exc, what, attempt + 1) from exc
        raise AssertionError("unreachable")

    def _get(self, url: str, params: dict, what: str, stream: bool = False):
        def get():
            r = self.session.get(url, params=params, stream=stream, timeout=(min(CONNECT_TIMEOUT_S, self.timeout),
                                                                              self.timeout))
            if r.status_code >= 300:
                err = _status_error(r)
                r.close()
                raise err
            return r
        return netcall.call(get, self.job, self.timeout, what)

    def get_json(self, url: str, params: dict, what: str) -> dict:
        return self._attempts(what, lambda: self._get(url, params, what).json())

    def pages(self, url: str, params: dict, what: str, items: str) -> Iterator[dict]:
        """Every item of a paged list (``nextPageToken`` / ``pageToken``, as Drive and Cloud Storage page)."""
        token = None
        while True:
            page = self.get_json(url, {**params, **({"pageToken": token} if token else {})}, what)
            yield from page.get(items, [])
            token = page.get("nextPageToken")
            if not token:
                return

    def download(self, url: str, params: dict, dest: Path, size: Optional[int], md5: Optional[str], what: str,
                 job: Optional[Job] = None) -> None:
        """Stream ``url`` into ``dest`` (a temporary file the caller removes); verify size and MD5."""
        job = job or self.job

        def attempt() -> None:
            r = self._get(url, params, what, stream=True)
            digest, n, whole = hashlib.md5(), 0, False
            try:
                chunks = r.iter_content(CHUNK)
                with _writable(dest) as fh:
                    while True:
                        chunk = netcall.call(lambda: next(chunks, None), self.job, self.timeout, what)
                        if chunk is None:
                            break
                        _write(fh, chunk, dest)
                        digest.update(chunk)
                        n += len(chunk)
                        if size:
                            job.step(n / size, what)
                whole = True
            finally:
                if whole:
                    r.close()
                else:
                    # Cancel or a deadline left a read blocked on the socket; closing waits for that
                    # read (the stream's lock), so it is left to a daemon thread (netcall's rule).
                    threading.Thread(target=r.close, name="satseg-net-close", daemon=True).start()
            if size is not None and n != size:
                raise ConnectionError(f"{n:,} of {size:,} bytes arrived")     # cut off: retried
            if md5 and digest.hexdigest() != md5:
                raise ConnectionError("the download's MD5 does not match the file's")
        self._attempts(what, attempt)
