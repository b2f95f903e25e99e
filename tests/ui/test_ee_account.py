"""Earth Engine account dialog and the fetch dialog's account/bands/scale controls.

No live service is called. The offline paths run the real core code: the
test endpoint is on the reserved ``.invalid`` domain (RFC 2606), which never
resolves, so "offline" is deterministic on any machine; the sandbox has no
internet anyway.
"""
import threading
import time

import pytest
from PySide6.QtCore import QSettings, QTimer

from desktop_app.ui.ee_account import (ERROR_STYLE, KEY_KEY_FILE, KEY_PROJECT, KEY_URL, OK_STYLE, EeAccountDialog,
                                       EeSettings, load_ee_settings, save_ee_settings)
from desktop_app.ui.fetch_dialog import FetchDialog
from desktop_app.ui.workers import TaskRunner

ROI = {"type": "Polygon", "coordinates": [[[74.30, 31.50], [74.33, 31.50], [74.33, 31.52], [74.30, 31.52],
                                          [74.30, 31.50]]]}
UNREACHABLE = "https://satseg-test-endpoint.invalid"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def runner():
    r = TaskRunner()
    yield r
    r.shutdown()


@pytest.fixture
def account(qtbot, settings, runner):
    notes = []
    dlg = EeAccountDialog(settings, runner, lambda text, level: notes.append((level, text)))
    dlg.notes = notes
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_account_settings_persist(qtbot, tmp_path, settings, runner, account):
    assert not account.advanced.isVisible(), "the endpoint option starts collapsed"
    account.project.setText("  my-ee-project ")
    account.key_file.setText("/keys/sa.json")
    account.advanced_toggle.setChecked(True)
    assert account.advanced.isVisible()
    account.url.setText("https://earthengine-highvolume.googleapis.com")
    account.close()  # closing saves (reject -> done)

    reread = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert reread.value(KEY_PROJECT) == "my-ee-project"
    assert reread.value(KEY_KEY_FILE) == "/keys/sa.json"
    assert reread.value(KEY_URL) == "https://earthengine-highvolume.googleapis.com"

    again = EeAccountDialog(reread, runner)
    qtbot.addWidget(again)
    again.show()
    assert again.project.text() == "my-ee-project"
    assert again.key_file.text() == "/keys/sa.json"
    assert again.advanced.isVisible(), "a saved endpoint is shown, not hidden"

    account.key_file.setText("")
    account.url.setText("")
    account.save()
    assert load_ee_settings(settings) == EeSettings("my-ee-project", None, None)


def test_state_label_reports_credentials(account):
    from desktop_app.core.online.earthengine import has_stored_credentials

    text = account.state.text()
    if has_stored_credentials():
        assert "Stored Google sign-in found" in text
    else:
        assert text.startswith("Not signed in")
    assert "initialised" in text


def test_fetch_request_carries_account_bands_and_scale(qtbot, tmp_path, settings):
    save_ee_settings(settings, EeSettings("proj-1", "/keys/sa.json", "https://ee.example.test"))
    dlg = FetchDialog(ROI, tmp_path / "cache", settings=settings)
    qtbot.addWidget(dlg)
    dlg.source.setCurrentIndex(dlg.source.findData("earthengine"))
    assert dlg.ee_project.text() == "proj-1"
    assert dlg.ee_project.isEnabled() and "sa.json" in dlg.ee_account.text()

    dlg.bands.setText("B4, B3,B2,B8")
    dlg.scale.setCurrentIndex(dlg.scale.findData(20))
    req = dlg.request()
    assert (req.source, req.ee_project, req.ee_key_file, req.ee_url) == \
        ("earthengine", "proj-1", "/keys/sa.json", "https://ee.example.test")
    assert req.bands == ["B4", "B3", "B2", "B8"] and req.scale == 20
    assert "at 20 m" in dlg.plan.text() and dlg.ok.isEnabled()

    dlg.band_preset.activated.emit(0)   # the default preset
    from desktop_app.core.online.fetch import DEFAULT_BANDS, SCALES

    assert dlg.request().bands == list(DEFAULT_BANDS)
    assert [dlg.scale.itemData(i) for i in range(dlg.scale.count())] == list(SCALES)

    dlg.bands.setText("B4,B13")
    assert not dlg.ok.isEnabled() and "B13" in dlg.plan.text()

    dlg.bands.setText("B4,B3,B2")
    dlg.source.setCurrentIndex(dlg.source.findData("stac"))
    assert not dlg.ee_project.isEnabled() and not dlg.account_button.isEnabled()
    req = dlg.request()
    assert req.source == "stac" and req.ee_project is None and req.ee_key_file is None and req.ee_url is None

    dlg.source.setCurrentIndex(dlg.source.findData("earthengine"))
    dlg.ee_project.setText("proj-2")
    dlg.accept()
    assert load_ee_settings(settings).project == "proj-2", "the project typed in the fetch dialog is remembered"


def test_test_connection_offline_is_quick_and_clear(qtbot, account):
    """Real ee_initialize against an endpoint that cannot resolve: the offline message, in seconds."""
    account.project.setText("my-ee-project")
    account.url.setText(UNREACHABLE)
    t0 = time.monotonic()
    account.test.click()
    assert not account.test.isEnabled(), "no second test while one runs"
    qtbot.waitUntil(lambda: account.test.isEnabled(), timeout=15000)
    elapsed = time.monotonic() - t0
    assert account.result.text().startswith("offline: cannot resolve satseg-test-endpoint.invalid"), \
        account.result.text()
    assert account.result.styleSheet() == ERROR_STYLE
    assert elapsed < 10, f"offline test took {elapsed:.1f} s"
    # Still usable: fields edit, the saved settings are what was tested.
    account.project.setText("other")
    assert account.project.text() == "other"
    assert account.settings.value(KEY_URL) == UNREACHABLE


def test_test_connection_default_endpoint_offline(qtbot, account):
    """This sandbox has no internet: the default endpoint fails with the offline message, not a retry wait."""
    from desktop_app.core.errors import SatSegError
    from desktop_app.core.online.connectivity import check_connectivity
    from desktop_app.core.online.earthengine import DEFAULT_EE_URL

    try:
        check_connectivity(DEFAULT_EE_URL, "Earth Engine", 3.0)
        online = True
    except SatSegError:
        online = False
    account.project.setText("my-ee-project")
    t0 = time.monotonic()
    account.test.click()
    qtbot.waitUntil(lambda: account.test.isEnabled(), timeout=30000)
    text = account.result.text()
    if online:   # a developer machine: whatever the outcome, it is shown as one line, not a crash
        assert text and "\n" not in text
    else:
        assert text.startswith("offline:") and "earthengine.googleapis.com" in text, text
        assert time.monotonic() - t0 < 10


def test_sign_in_failure_is_reported(qtbot, monkeypatch, account):
    """Sign-in runs on the worker; offline it fails at the connectivity check with a clear message.

    ``ee.oauth.Flow`` (what the localhost sign-in drives) and ``ee.Authenticate``
    are replaced by ones that fail (the user closing the browser), only so that a
    machine *with* internet never opens a browser during tests; offline they are
    not even reached. Nothing fakes success.
    """
    import ee

    def closed_browser(*a, **kw):
        raise RuntimeError("the browser was closed before sign-in finished")

    monkeypatch.setattr(ee, "Authenticate", closed_browser)
    monkeypatch.setattr(ee.oauth, "Flow", closed_browser)
    account.sign_in.click()
    assert not account.sign_in.isEnabled()
    qtbot.waitUntil(lambda: account.sign_in.isEnabled(), timeout=15000)
    text = account.result.text()
    assert text.startswith("Sign-in failed: ")
    assert "offline: cannot resolve accounts.google.com" in text or "browser was closed" in text, text
    assert account.result.styleSheet() == ERROR_STYLE
    assert account.notes and account.notes[-1][0] == "error" and "sign-in failed" in account.notes[-1][1]


def test_tile_size_option_reaches_the_request_and_the_plan(qtbot, tmp_path, settings):
    dlg = FetchDialog(ROI, tmp_path / "cache", settings=settings)
    qtbot.addWidget(dlg)
    dlg.source.setCurrentIndex(dlg.source.findData("earthengine"))
    assert dlg.tile_size.value() == 0 and dlg.tile_size.text() == "automatic" and dlg.request().tile_size is None
    auto_tiles = int(dlg.plan.text().split(" tile(s)")[0].split()[-1])
    dlg.tile_size.setValue(32)
    assert dlg.request().tile_size == 32 and dlg.ok.isEnabled()
    assert int(dlg.plan.text().split(" tile(s)")[0].split()[-1]) > auto_tiles   # smaller requests, more of them
    dlg.tile_size.setValue(16)
    assert not dlg.ok.isEnabled() and "at least 32 px" in dlg.plan.text()
    assert "memory limit" in dlg.tile_size.toolTip()


def test_high_volume_tooltip_does_not_recommend_it_for_medians(account):
    tip = account.url.toolTip()
    assert "without aggregation" in tip and "keep the default endpoint for median" in tip


def test_test_connection_passes_the_settings_to_ee_initialize(qtbot, monkeypatch, account):
    """Success path at the UI boundary: ``earthengine.ee_initialize`` is replaced by a recorder.

    Earth Engine cannot be reached from here and the earthengine-api has no
    simple offline harness for ``ee.Initialize``, so this checks what the
    dialog hands to the real function (and on which thread), and how it shows
    the one-line result.
    """
    from desktop_app.core.online import earthengine

    calls = []

    def record(project=None, key_file=None, url=None, **kw):
        calls.append((project, key_file, url, threading.current_thread() is threading.main_thread()))
        return f"Earth Engine project {project} (service account)"

    monkeypatch.setattr(earthengine, "ee_initialize", record)
    account.project.setText("proj-9")
    account.key_file.setText("/keys/sa.json")
    account.url.setText("https://earthengine-highvolume.googleapis.com")
    account.test.click()
    qtbot.waitUntil(lambda: account.test.isEnabled(), timeout=10000)
    assert calls == [("proj-9", "/keys/sa.json", "https://earthengine-highvolume.googleapis.com", False)]
    assert account.result.text() == "Connected: Earth Engine project proj-9 (service account)"
    assert account.result.styleSheet() == OK_STYLE


def test_account_button_in_fetch_dialog_updates_request(qtbot, tmp_path, settings, runner):
    dlg = FetchDialog(ROI, tmp_path / "cache", settings=settings, runner=runner)
    qtbot.addWidget(dlg)
    dlg.source.setCurrentIndex(dlg.source.findData("earthengine"))
    assert dlg.account_button.isEnabled()
    seen = {}

    def edit_account():
        acc = dlg.account_dialog
        seen["modal"] = acc.isModal()
        acc.project.setText("from-account")
        acc.key_file.setText("/keys/other.json")
        acc.close()

    QTimer.singleShot(0, edit_account)
    dlg.open_account()
    assert seen == {"modal": True}
    req = dlg.request()
    assert (req.ee_project, req.ee_key_file) == ("from-account", "/keys/other.json")
    assert "other.json" in dlg.ee_account.text()


def test_menu_opens_account_dialog_on_window_settings(qtbot, window):
    act = next(a for a in window.menuBar().actions()[0].menu().actions() if "Earth Engine" in a.text())
    act.trigger()
    dlg = window._ee_account_dialog
    assert dlg.isVisible() and dlg.settings is window.settings and dlg.runner is window.runner
    dlg.project.setText("win-project")
    dlg.close()
    assert load_ee_settings(window.settings).project == "win-project"


def test_cancel_in_the_app_ends_a_stalled_fetch_in_seconds(qtbot, tmp_path, runner):
    """A STAC server that accepts and never answers (a captive portal): Cancel still returns at once."""
    import sys
    from pathlib import Path

    from desktop_app.core.online.fetch import FetchRequest, fetch_imagery

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from netfaults import SilentServer

    with SilentServer() as silent:
        req = FetchRequest(source="stac", roi=ROI, start="2024-03-01", end="2024-03-31", bands=["B4"],
                           stac_url=silent.url)   # default 30 s deadline: only Cancel ends it sooner
        runner.start("fetch", lambda job: fetch_imagery(req, tmp_path / "cache", job), label="Fetching imagery")
        qtbot.waitUntil(lambda: silent.accepted >= 2, timeout=30000)   # the check, then the search request
        t0 = time.monotonic()
        with qtbot.waitSignal(runner.task_finished, timeout=5000) as finished:
            runner.cancel("fetch")
        assert finished.args[1] == "cancelled" and time.monotonic() - t0 < 3


def test_fetch_dialog_starts_on_the_keyless_source_and_states_small_sizes(qtbot, tmp_path, settings):
    dlg = FetchDialog(ROI, tmp_path / "cache", settings=settings)
    qtbot.addWidget(dlg)
    assert dlg.request().source == "stac"          # no account needed for a first fetch
    assert not dlg.account_button.isEnabled()
    dlg.bands.setText("B4")
    dlg.scale.setCurrentIndex(dlg.scale.findData(60))   # a tiny download: ~50 x 40 px of uint16
    text = dlg.plan.text()
    assert "about 0 MB" not in text and " kB" in text, text
