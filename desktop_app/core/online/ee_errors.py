"""Earth Engine errors: what is retried, and one line for the user for everything else.

Retry policy (docs/online.md): 429/5xx, dropped connections, timeouts,
"too many concurrent" and "quota exceeded" are retried on the back-off
schedule; 400/401/403 fail at once with their own message. Each attempt
runs under ``netcall.call`` with the request deadline, so Cancel ends it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import Advice, SatSegError, advised
from ..jobs import Cancelled, Job
from . import netcall

RETRY_STATUS = {429, 500, 502, 503, 504}
DEFAULT_TIMEOUT_S = 120.0  # a median over many scenes can take a minute before the first byte
# Where the window keeps the Earth Engine sign-in, key file and project.
EE_ACCOUNT_APP = "Account… in the Fetch imagery for ROI… dialog (Image panel)"
NOT_SIGNED_IN = advised("not signed in to Earth Engine",
                        cli="run 'earthengine authenticate', or give a service-account key file with --ee-key",
                        app=f"sign in, or choose a service-account key file, with {EE_ACCOUNT_APP}")
KEY_REFUSED = ("Google refused the service-account key {key} ({msg}): it was probably revoked or deleted; create a "
               "new key for {account} in the Cloud console")
KEY_CHOSEN_CLI = "and give it with --ee-key"
KEY_CHOSEN_APP = f"and choose it with {EE_ACCOUNT_APP}"
RESUME = "; finished tiles are cached, fetch again to resume"
# The credentials of the current session (set by earthengine.ee_initialize), named in messages.
SESSION: dict = {}


def http_status(exc: BaseException) -> Optional[int]:
    """HTTP status behind an error; EEException keeps the HttpError as its __context__."""
    seen = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        status = getattr(getattr(e, "resp", None), "status", None)
        if status:
            return int(status)
        e = e.__cause__ or e.__context__
    return None


def _is_connection_error(exc: BaseException) -> bool:
    import httplib2
    from google.auth.exceptions import TransportError

    return isinstance(exc, (OSError, httplib2.HttpLib2Error, TransportError)) and http_status(exc) is None


def is_retryable(exc: BaseException) -> bool:
    status = http_status(exc)
    if status is not None:
        return status in RETRY_STATUS
    if netcall.timed_out(exc):
        return True
    text = str(exc).lower()
    return _is_connection_error(exc) or "too many concurrent" in text or "quota exceeded" in text


def translate_error(exc: BaseException, what: str, *, attempts: int = 1, project: Optional[str] = None,
                    key_file: Optional[str] = None, timeout: Optional[float] = None,
                    account: Optional[str] = None, tile_size: Optional[int] = None,
                    resume: bool = True) -> SatSegError:
    """One line for the user: what failed, why, and what to do (``resume``: say that fetched tiles are kept)."""
    if isinstance(exc, SatSegError):
        return exc
    key_file = key_file or SESSION.get("key_file")
    account = account or SESSION.get("account") or "the service account"
    status = http_status(exc)
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    after = f" after {attempts} attempts" if attempts > 1 else ""
    resume = RESUME if resume else "; try again"
    low = msg.lower()
    now = f"now {tile_size} px" if tile_size else ""
    smaller = Advice(f"; try a smaller Tile size{f' ({now})' if now else ''} in the Fetch imagery or Classify on "
                     "Earth Engine dialog", f"; try a smaller tile size (--tile-size{f', {now}' if now else ''})")
    if status is None and netcall.timed_out(exc):
        wait = f" within {timeout:g} s" if timeout else ""
        said = f"Earth Engine did not answer{wait}{after} while {what}"
        app = f"{said}{smaller if tile_size else ''}{resume}"
        return SatSegError(Advice(app, f"{said}{smaller.cli if tile_size else ''}{resume}"
                                       f"{' (or raise --timeout)' if resume == RESUME else ''}"))
    if key_file and ("invalid_grant" in low or "invalid jwt" in low or "refresherror" in type(exc).__name__.lower()):
        refused = KEY_REFUSED.format(key=Path(key_file).name, msg=msg, account=account)
        return SatSegError(Advice(f"{refused} {KEY_CHOSEN_APP}", f"{refused} {KEY_CHOSEN_CLI}"))
    if status == 429 or "quota exceeded" in low or "too many concurrent" in low:
        return SatSegError(f"Earth Engine quota exceeded{after} while {what} ({msg}){resume} later")
    if status == 401 or "authorize access" in low or "invalid_grant" in low or "refresherror" in type(exc).__name__.lower():
        why = f" (credentials missing or expired: {msg})"
        return SatSegError(Advice(f"{NOT_SIGNED_IN}{why}", f"{NOT_SIGNED_IN.cli}{why}"))
    if status == 403 or "not registered" in low or "permission" in low:
        return SatSegError(f"Earth Engine refused access for project {project or '(unset)'} while {what}: {msg}; "
                           "check the project is registered for Earth Engine and the API is enabled")
    if status is not None and status >= 500:
        return SatSegError(f"Earth Engine server error {status}{after} while {what}: {msg}{resume}")
    if status is None and _is_connection_error(exc):
        return SatSegError(f"lost the connection to Earth Engine{after} while {what} ({msg}){resume} when online")
    if status == 400 and ("memory" in low or "timed out" in low or "too many pixels" in low):
        said = f"Earth Engine ran out of memory or time while {what} ({msg})"
        return SatSegError(Advice(f"{said}{smaller}{resume}", f"{said}{smaller.cli}{resume}"))
    if status is not None:
        return SatSegError(f"Earth Engine rejected the request ({status}) while {what}: {msg}")
    return SatSegError(f"Earth Engine error while {what}: {msg}")


def call_with_retries(fn: Callable[[], Any], what: str, backoff, job: Job, project: Optional[str] = None,
                      timeout: float = DEFAULT_TIMEOUT_S, tile_size: Optional[int] = None,
                      resume: bool = True) -> Any:
    """Run ``fn`` with a deadline, retrying 429/5xx/connection errors/timeouts on the back-off schedule."""
    for attempt in range(backoff.attempts):
        job.check()
        try:
            return netcall.call(fn, job, timeout, what)
        except Cancelled:
            raise
        except Exception as exc:
            if attempt + 1 < backoff.attempts and is_retryable(exc):
                backoff.wait(attempt, job)
                continue
            raise translate_error(exc, what, attempts=attempt + 1, project=project, timeout=timeout,
                                  tile_size=tile_size, resume=resume) from exc
    raise AssertionError("unreachable")
