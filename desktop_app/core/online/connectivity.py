"""A quick reachability check before talking to an online service.

Offline, the Earth Engine client only fails after five retries (about 44 s)
with a transport error; a two-second check tells the user at once.

The check goes the way the clients go: when ``HTTPS_PROXY``/``HTTP_PROXY``
(or the system's proxy settings) apply to the host, and ``NO_PROXY`` does not
exempt it, it asks the proxy to open a tunnel (``CONNECT host:port``) instead
of dialling the host, so a network that only lets the proxy out is not called
"offline". See docs/online.md.
"""
from __future__ import annotations

import http.client
import socket
import urllib.request
from typing import Optional
from urllib.parse import urlparse

from ..errors import SatSegError

OFFLINE_HINT = "connect to the internet or open imagery already cached"


def proxy_for(url: str) -> Optional[str]:
    """The proxy URL the HTTP clients (requests, httplib2, GDAL/curl) would use for ``url``, or None."""
    parsed = urlparse(url)
    if parsed.hostname and urllib.request.proxy_bypass(parsed.hostname):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parsed.scheme) or proxies.get("all")
    return proxy or None


def _via_proxy(proxy: str, host: str, port: int, service: str, timeout: float, tunnel: bool) -> None:
    p = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    if not p.hostname:
        raise SatSegError(f"the proxy setting '{proxy}' is not a valid URL")
    where = f"proxy {p.hostname}:{p.port or 80}"
    conn = http.client.HTTPConnection(p.hostname, p.port or 80, timeout=timeout)
    if tunnel:
        conn.set_tunnel(host, port)
    try:
        conn.connect()   # with a tunnel: sends CONNECT host:port and reads the proxy's answer
    except socket.gaierror as exc:
        raise SatSegError(f"offline: cannot resolve the {where} ({service}); check the proxy setting or "
                          f"{OFFLINE_HINT}") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise SatSegError(f"offline: the {where} did not open a connection to {host}:{port} ({service}: {reason}); "
                          f"check the proxy setting or {OFFLINE_HINT}") from exc
    finally:
        conn.close()


def check_connectivity(url: str, service: str, timeout: float = 3.0) -> None:
    """Raise SatSegError('offline: ...') unless ``url``'s host (or the proxy for it) can be reached."""
    parsed = urlparse(url if "://" in url else f"https://{url}")
    host = parsed.hostname
    if not host:
        raise SatSegError(f"{service} address '{url}' is not a valid URL")
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    proxy = proxy_for(parsed.geturl())
    if proxy:
        # HTTPS goes through a CONNECT tunnel; plain HTTP is forwarded by the proxy, so reaching it is enough.
        return _via_proxy(proxy, host, port, service, timeout, tunnel=parsed.scheme != "http")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as exc:
        raise SatSegError(f"offline: cannot resolve {host} ({service}); {OFFLINE_HINT}") from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SatSegError(f"offline: cannot reach {host}:{port} ({service}: {reason}); {OFFLINE_HINT}") from exc
