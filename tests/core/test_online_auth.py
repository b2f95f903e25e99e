"""Earth Engine sign-in paths without any network: offline, keys, missing sign-in/project, endpoint URL."""
from __future__ import annotations

import json
import socket
import time

import pytest

import ee  # noqa: E402  (a project dependency; the tests use its offline harness)

from desktop_app.core.errors import SatSegError, cli_text  # noqa: E402
from desktop_app.core.online import earthengine as E  # noqa: E402
from desktop_app.core.online.connectivity import check_connectivity  # noqa: E402
from desktop_app.core.online.fetch import FetchRequest, fetch_imagery  # noqa: E402

ROI = {"type": "Polygon", "coordinates": [[[77.0, 28.5], [77.02, 28.5], [77.02, 28.52], [77.0, 28.5]]]}


@pytest.fixture(autouse=True)
def fresh_ee_state():
    ee.Reset()
    yield
    ee.Reset()


@pytest.fixture()
def closed_port_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def _key(tmp_path, project="my-ee-project", private_key=None):
    if private_key is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_key = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    info = {"type": "service_account", "client_email": "fetcher@my-ee-project.iam.gserviceaccount.com",
            "private_key": private_key, "private_key_id": "abc", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}
    if project:
        info["project_id"] = project
    p = tmp_path / "key.json"
    p.write_text(json.dumps(info))
    return p


def test_offline_is_reported_fast_without_retries(closed_port_url, monkeypatch):
    called = []
    monkeypatch.setattr(ee, "Initialize", lambda *a, **k: called.append(1))
    t0 = time.monotonic()
    with pytest.raises(SatSegError, match=r"offline: cannot reach 127\.0\.0\.1:\d+ \(Earth Engine"):
        E.ee_initialize("p", url=closed_port_url)
    assert time.monotonic() - t0 < 3 and not called


def test_fetch_signs_in_first_and_fails_offline(closed_port_url, tmp_path):
    req = FetchRequest(source="earthengine", roi=ROI, start="2024-01-01", end="2024-01-31", bands=["B4"],
                       ee_project="p", ee_url=closed_port_url)
    with pytest.raises(SatSegError, match="offline"):
        fetch_imagery(req, tmp_path)


def test_check_connectivity_rejects_a_non_url():
    with pytest.raises(SatSegError, match="not a valid URL"):
        check_connectivity("http://", "Earth Engine")


@pytest.fixture()
def no_proxy_env(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_connectivity_goes_through_the_https_proxy(no_proxy_env):
    """Behind a proxy the host need not resolve locally: the check asks the proxy for a tunnel, as clients do."""
    from netfaults import ConnectProxy

    with ConnectProxy() as proxy:
        no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        check_connectivity("https://earthengine.googleapis.com", "Earth Engine")
    assert proxy.requests and proxy.requests[0].startswith("CONNECT earthengine.googleapis.com:443 ")


def test_a_proxy_that_refuses_the_tunnel_is_named(no_proxy_env):
    from netfaults import ConnectProxy

    with ConnectProxy("403 Forbidden") as proxy:
        no_proxy_env.setenv("https_proxy", proxy.url)
        with pytest.raises(SatSegError, match=rf"offline: the proxy 127.0.0.1:{proxy.port} did not open a connection "
                                              r"to earth-search.aws.element84.com:443 \(STAC catalogue: .*403"):
            check_connectivity("https://earth-search.aws.element84.com/v1", "STAC catalogue")


def test_no_proxy_and_plain_http_proxies(no_proxy_env, closed_port_url):
    from netfaults import ConnectProxy

    with ConnectProxy() as proxy:
        no_proxy_env.setenv("HTTP_PROXY", proxy.url)
        no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        check_connectivity("http://stac.example.test/v1", "STAC catalogue")   # reaching the proxy is enough
        no_proxy_env.setenv("NO_PROXY", "127.0.0.1,localhost")
        with pytest.raises(SatSegError, match=r"offline: cannot reach 127\.0\.0\.1"):
            check_connectivity(closed_port_url, "STAC catalogue")             # exempt: dialled directly
    assert proxy.requests == []   # a plain-HTTP check sends nothing through the proxy
    with pytest.raises(SatSegError, match="offline: .*proxy 127.0.0.1"):
        check_connectivity("https://earthengine.googleapis.com", "Earth Engine", timeout=1)  # proxy gone


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("not json", "is not JSON"),
    (json.dumps({"type": "authorized_user", "refresh_token": "x"}), "is not a Google service-account key"),
])
def test_bad_key_files(tmp_path, content, message):
    p = tmp_path / "key.json"
    if content is not None:
        p.write_text(content)
    with pytest.raises(SatSegError, match=message):
        E.ee_initialize("p", key_file=p, check_network=False)


def test_key_with_a_broken_private_key(tmp_path):
    p = _key(tmp_path, private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SatSegError, match="is damaged or incomplete") as err:
        E.ee_initialize("p", key_file=p, check_network=False)
    # the library's own wording (ASN.1, deserialize) is not what a user is shown
    assert "ASN" not in str(err.value) and "deserial" not in str(err.value).lower()
    assert "\n" not in str(err.value)


def test_key_without_project_and_no_project_given(tmp_path):
    with pytest.raises(SatSegError, match="no Google Cloud project set") as err:
        E.ee_initialize(None, key_file=_key(tmp_path, project=None), check_network=False)
    assert str(err.value).endswith("; enter its id as EE project in the Fetch imagery for ROI… dialog "
                                   "(Image panel)")
    assert cli_text(err.value).endswith("; give its id with --ee-project")


def test_key_project_and_endpoint_reach_ee_initialize(tmp_path, monkeypatch):
    calls, deadlines = [], []
    monkeypatch.setattr(ee, "Initialize", lambda credentials, **kw: calls.append((credentials, kw)))
    monkeypatch.setattr(ee.data, "setDeadline", deadlines.append)
    ee.data.setMaxRetries(5)
    desc = E.ee_initialize(None, key_file=_key(tmp_path), url="https://ee.example.test", check_network=False)
    creds, kw = calls[0]
    assert kw == {"url": "https://ee.example.test", "project": "my-ee-project"}
    assert creds.service_account_email == "fetcher@my-ee-project.iam.gserviceaccount.com"
    assert "my-ee-project" in desc and "fetcher@" in desc
    assert ee.data._get_state().max_retries == 0  # our own retry loop takes over
    assert deadlines == [E.DEFAULT_TIMEOUT_S * 1000]  # every later request has a deadline
    E.ee_initialize("other-project", key_file=_key(tmp_path), check_network=False)
    assert calls[1][1]["project"] == "other-project" and calls[1][1]["url"] is None


def test_changed_settings_start_a_new_session(tmp_path, monkeypatch):
    """The app keeps one process: a new project, endpoint or key must not reuse the old session."""
    import os

    calls = []
    monkeypatch.setattr(ee, "Initialize", lambda credentials, **kw: calls.append(kw))
    monkeypatch.setattr(ee.data, "setDeadline", lambda ms: None)
    monkeypatch.setattr(E, "ee_is_initialized", lambda: bool(calls))
    key = _key(tmp_path)
    E.ensure_session("p1", key_file=key, check_network=False)
    E.ensure_session("p1", key_file=key, check_network=False)
    assert len(calls) == 1                       # same settings: the session is reused
    E.ensure_session("p2", key_file=key, check_network=False)
    assert len(calls) == 2 and calls[-1]["project"] == "p2"
    E.ensure_session("p2", key_file=key, url="https://ee.example.test", check_network=False)
    assert len(calls) == 3 and calls[-1]["url"] == "https://ee.example.test"
    st = key.stat()
    os.utime(key, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))  # a new key saved over the old file
    E.ensure_session("p2", key_file=key, url="https://ee.example.test", check_network=False)
    assert len(calls) == 4


def test_revoked_key_has_its_own_message(tmp_path, monkeypatch):
    from google.auth.exceptions import RefreshError

    def refuse(credentials, **kw):
        raise RefreshError("invalid_grant: Invalid JWT Signature.",
                           {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})

    monkeypatch.setattr(ee, "Initialize", refuse)
    with pytest.raises(SatSegError, match=r"Google refused the service-account key key.json .*revoked or deleted.*"
                                          r"new key for fetcher@my-ee-project") as err:
        E.ee_initialize(None, key_file=_key(tmp_path), check_network=False)
    assert "earthengine authenticate" not in str(err.value)
    assert str(err.value).endswith("Cloud console and choose it with Account… in the Fetch imagery for ROI… dialog "
                                   "(Image panel)")
    assert cli_text(err.value).endswith("Cloud console and give it with --ee-key")


def test_not_signed_in(tmp_path, monkeypatch):
    from google.auth.compute_engine import _metadata

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)  # never probe a metadata server
    assert not E.has_stored_credentials()
    with pytest.raises(SatSegError, match="not signed in to Earth Engine; sign in, or choose a service-account key "
                                          "file, with Account… in the Fetch imagery for ROI… dialog") as err:
        E.ee_initialize("p", check_network=False)
    assert "--" not in str(err.value)
    assert cli_text(err.value) == ("not signed in to Earth Engine; run 'earthengine authenticate', or give a "
                                   "service-account key file with --ee-key")


def test_initialize_errors_are_translated(tmp_path, monkeypatch):
    def refuse(credentials, **kw):
        raise ee.EEException("Earth Engine API has not been used in project 123 before or it is disabled. "
                             "Caller does not have required permission to use project p")

    monkeypatch.setattr(ee, "Initialize", refuse)
    with pytest.raises(SatSegError, match="refused access for project my-ee-project"):
        E.ee_initialize(None, key_file=_key(tmp_path), check_network=False)


def test_sign_in_other_modes_go_to_ee_authenticate(monkeypatch):
    calls = []
    monkeypatch.setattr(ee, "Authenticate", lambda **kw: calls.append(kw) or True)
    E.ee_sign_in("gcloud", check_network=False)
    assert calls == [{"auth_mode": "gcloud", "force": True}]
    monkeypatch.setattr(ee, "Authenticate", lambda **kw: (_ for _ in ()).throw(RuntimeError("browser closed")))
    with pytest.raises(SatSegError, match="sign-in failed: browser closed"):
        E.ee_sign_in("notebook", check_network=False)


def _port_of(auth_url: str) -> int:
    from urllib.parse import parse_qs, urlparse

    redirect = parse_qs(urlparse(auth_url).query)["redirect_uri"][0]
    assert redirect.startswith("http://localhost:")
    return int(redirect.rsplit(":", 1)[1])


def _port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_sign_in_gives_up_after_the_time_limit_and_frees_the_port():
    # The library's own localhost flow (port 0 = any free port); no browser ever answers.
    opened = []
    t0 = time.monotonic()
    with pytest.raises(SatSegError, match=r"^Earth Engine sign-in was not completed within 0\.4 s; try again$"):
        E.ee_sign_in("localhost:0", check_network=False, timeout_s=0.4, open_browser=opened.append)
    assert 0.35 < time.monotonic() - t0 < 3
    assert len(opened) == 1 and opened[0].startswith("https://accounts.google.com/o/oauth2/auth?")
    assert _port_is_closed(_port_of(opened[0]))        # a new attempt can listen again
    assert E._duration(300) == "5 minutes" and E._duration(60) == "1 minute"


def test_sign_in_honours_cancel_while_waiting_for_the_browser():
    import threading

    from desktop_app.core.jobs import Cancelled, Job

    job = Job()
    opened, when = [], {}

    def browser(url):   # Cancel arrives while the app waits for the browser, however slow the start was
        opened.append(url)
        when["cancel"] = time.monotonic() + 0.3
        threading.Timer(0.3, job.cancel).start()

    with pytest.raises(Cancelled):
        E.ee_sign_in("localhost:0", check_network=False, timeout_s=60, job=job, open_browser=browser)
    assert time.monotonic() - when["cancel"] < 2
    assert _port_is_closed(_port_of(opened[0]))


def test_sign_in_completes_when_the_browser_redirect_arrives(tmp_path, monkeypatch):
    """The browser's redirect reaches the library's server; the token exchange answers as Google does."""
    import http.client
    import io
    import threading
    import urllib.parse

    creds_path = tmp_path / "credentials"
    monkeypatch.setattr(ee.oauth, "get_credentials_path", lambda: str(creds_path))
    posted = {}

    def token_endpoint(url, data=None, *a, **kw):       # Google's token endpoint, recorded reply
        posted.update(url=url, form=urllib.parse.parse_qs(data.decode()))
        return io.BytesIO(json.dumps({"access_token": "ya29.x", "expires_in": 3599, "refresh_token": "1//refresh",
                                      "scope": " ".join(ee.oauth.SCOPES), "token_type": "Bearer"}).encode())

    monkeypatch.setattr(ee.oauth.urllib.request, "urlopen", token_endpoint)
    replies, threads = [], []

    def browser(url):                                     # the user signs in; Google redirects to localhost
        def redirect():
            time.sleep(0.2)
            conn = http.client.HTTPConnection("localhost", _port_of(url), timeout=5)
            conn.request("GET", "/?code=4/auth-code&scope=x")
            replies.append(conn.getresponse().read())
        threads.append(threading.Thread(target=redirect, daemon=True))
        threads[0].start()

    E.ee_sign_in("localhost:0", check_network=False, timeout_s=10, open_browser=browser)
    assert posted["url"] == ee.oauth.TOKEN_URI
    assert posted["form"]["code"] == ["4/auth-code"]
    assert posted["form"]["redirect_uri"][0].startswith("http://localhost:")
    assert posted["form"]["code_verifier"][0]
    saved = json.loads(creds_path.read_text())
    assert saved["refresh_token"] == "1//refresh"
    threads[0].join(5)
    assert b"authorization successful" in replies[0]      # the library's own page in the browser
