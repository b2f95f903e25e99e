"""A quick reachability check before talking to an online service.

Offline, the Earth Engine client only fails after five retries (about 44 s)
with a transport error; a two-second TCP connect tells the user at once.
"""
from __future__ import annotations

import socket
from urllib.parse import urlparse

from ..errors import SatSegError


def check_connectivity(url: str, service: str, timeout: float = 3.0) -> None:
    """Raise SatSegError('offline: ...') unless a TCP connection to ``url``'s host opens."""
    parsed = urlparse(url if "://" in url else f"https://{url}")
    host = parsed.hostname
    if not host:
        raise SatSegError(f"{service} address '{url}' is not a valid URL")
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as exc:
        raise SatSegError(
            f"offline: cannot resolve {host} ({service}); connect to the internet or open imagery already cached"
        ) from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SatSegError(
            f"offline: cannot reach {host}:{port} ({service}: {reason}); connect to the internet or open imagery "
            "already cached"
        ) from exc
