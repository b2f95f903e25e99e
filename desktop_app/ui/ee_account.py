"""'Earth Engine account': sign in, service-account key, Cloud project, endpoint; test it.

What the user sets here is kept in the window's QSettings (group
``earthengine``) and read by the fetch dialog into every ``FetchRequest``.
Signing in (a blocking browser flow) and testing the connection run as
worker jobs, so the window stays responsive; both check connectivity first,
so an offline machine gets the one-line "offline: ..." message in about a
second instead of waiting through the Earth Engine client's retries.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QToolButton, QVBoxLayout, QWidget)

log = logging.getLogger(__name__)

KEY_PROJECT = "earthengine/project"
KEY_KEY_FILE = "earthengine/key_file"
KEY_URL = "earthengine/url"
SIGN_IN_KIND = "ee-auth"
TEST_KIND = "ee-test"
OK_STYLE = "color: #1b7a2f;"
ERROR_STYLE = "color: #b3261e;"


@dataclass
class EeSettings:
    """The Earth Engine choices a fetch needs; ``None`` means 'not set'."""

    project: Optional[str] = None
    key_file: Optional[str] = None
    url: Optional[str] = None


def _text(settings: QSettings, key: str) -> Optional[str]:
    value = settings.value(key, "")
    value = str(value).strip() if value is not None else ""
    return value or None


def load_ee_settings(settings: QSettings) -> EeSettings:
    return EeSettings(_text(settings, KEY_PROJECT), _text(settings, KEY_KEY_FILE), _text(settings, KEY_URL))


def save_ee_settings(settings: QSettings, ee: EeSettings) -> None:
    for key, value in ((KEY_PROJECT, ee.project), (KEY_KEY_FILE, ee.key_file), (KEY_URL, ee.url)):
        settings.setValue(key, (value or "").strip())
    settings.sync()


def credentials_state() -> str:
    """Plain-language state of the stored sign-in and of this session."""
    from ..core.online.earthengine import ee_is_initialized, has_stored_credentials

    try:
        stored = has_stored_credentials()
        session = ee_is_initialized()
    except Exception as exc:  # a broken earthengine-api install must not stop the dialog opening
        log.warning("cannot read the Earth Engine credential state: %s", exc)
        return f"Cannot read the Earth Engine credential state: {exc}"
    first = ("Stored Google sign-in found." if stored
             else "Not signed in: no stored Google credentials (sign in below or use a service-account key).")
    second = "Earth Engine is initialised in this session." if session else "Earth Engine is not initialised yet."
    return f"{first}\n{second}"


def account_summary(ee: EeSettings) -> str:
    """One line for the fetch dialog: which credentials (and endpoint) a fetch will use."""
    if ee.key_file:
        who = f"service-account key {Path(ee.key_file).name}"
    else:
        from ..core.online.earthengine import has_stored_credentials

        try:
            stored = has_stored_credentials()
        except Exception as exc:  # a broken earthengine-api install: say so instead of failing to open
            log.warning("cannot read the Earth Engine credential state: %s", exc)
            stored = False
        who = "stored Google sign-in" if stored else "not signed in (use Account…)"
    return who + (f", endpoint {ee.url}" if ee.url else "")


class EeAccountDialog(QDialog):
    """Edit and test the Earth Engine account; jobs run on ``runner`` (a TaskRunner)."""

    def __init__(self, settings: QSettings, runner, notify: Optional[Callable[[str, str], None]] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.settings, self.runner = settings, runner
        self.notify = notify or (lambda text, level: None)
        self._tasks: dict[str, object] = {}    # kind -> the Task this dialog started
        self.setWindowTitle("Earth Engine account")
        self.setMinimumWidth(520)
        saved = load_ee_settings(settings)

        self.state = QLabel()
        self.state.setWordWrap(True)

        creds = QGroupBox("Credentials")
        c = QVBoxLayout(creds)
        self.sign_in = QPushButton("Sign in with Google…")
        self.sign_in.setToolTip("Opens your browser for Google's Earth Engine sign-in; the credentials are stored "
                                "like 'earthengine authenticate' does")
        sign_row = QHBoxLayout()
        sign_row.addWidget(self.sign_in)
        sign_row.addStretch(1)
        c.addLayout(sign_row)
        c.addWidget(QLabel("or a service-account key (JSON), which takes precedence over the sign-in:"))
        key_row = QHBoxLayout()
        self.key_file = QLineEdit(saved.key_file or "")
        self.key_file.setPlaceholderText("No key file: use the stored sign-in")
        self.key_file.setClearButtonEnabled(True)
        self.pick_key = QPushButton("Browse…")
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(self.pick_key)
        c.addLayout(key_row)

        form = QFormLayout()
        self.project = QLineEdit(saved.project or "")
        self.project.setPlaceholderText("e.g. my-ee-project (registered for Earth Engine)")
        form.addRow("Cloud project id", self.project)

        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        a = QFormLayout(self.advanced)
        a.setContentsMargins(0, 0, 0, 0)
        self.url = QLineEdit(saved.url or "")
        self.url.setPlaceholderText("https://earthengine.googleapis.com (default)")
        self.url.setToolTip("Alternative Earth Engine endpoint passed to ee.Initialize. The high-volume endpoint "
                            "https://earthengine-highvolume.googleapis.com suits many small requests without "
                            "aggregation (such as the least-cloudy scene); keep the default endpoint for "
                            "median composites, which aggregate many scenes.")
        a.addRow("Endpoint URL", self.url)
        # Collapsed unless the user already chose an endpoint: most never need it.
        self.advanced_toggle.setChecked(bool(saved.url))
        self._show_advanced(bool(saved.url))

        test_row = QHBoxLayout()
        self.test = QPushButton("Test connection")
        self.test.setToolTip("Initialise Earth Engine with these settings (checks the network first)")
        test_row.addWidget(self.test)
        test_row.addStretch(1)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addWidget(self.state)
        lay.addWidget(creds)
        lay.addLayout(form)
        lay.addWidget(self.advanced_toggle)
        lay.addWidget(self.advanced)
        lay.addLayout(test_row)
        lay.addWidget(self.result)
        lay.addStretch(1)
        lay.addWidget(buttons)

        self.sign_in.clicked.connect(self.start_sign_in)
        self.pick_key.clicked.connect(self._pick_key)
        self.test.clicked.connect(self.start_test)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        for w in (self.project, self.key_file, self.url):
            w.editingFinished.connect(self.save)
        self.runner.task_finished.connect(self._on_task_finished)
        self.refresh_state()

    # ---------------------------------------------------------------- state
    def values(self) -> EeSettings:
        return EeSettings(self.project.text().strip() or None, self.key_file.text().strip() or None,
                          self.url.text().strip() or None)

    def save(self) -> None:
        save_ee_settings(self.settings, self.values())

    def done(self, result: int) -> None:  # Close, Esc and the window's X all end here
        self.save()
        super().done(result)

    def refresh_state(self) -> None:
        self.state.setText(credentials_state())

    def _show_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def _pick_key(self) -> None:
        start = self.key_file.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Service-account key file", start, "JSON key (*.json);;All files (*)")
        if path:
            self.key_file.setText(path)
            self.save()

    def _show_result(self, text: str, ok: bool) -> None:
        self.result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.result.setText(text)

    # ---------------------------------------------------------------- jobs
    def _busy(self, kind: str, busy: bool) -> None:
        (self.sign_in if kind == SIGN_IN_KIND else self.test).setEnabled(not busy)

    def start_sign_in(self) -> None:
        from ..core.online import earthengine

        self._busy(SIGN_IN_KIND, True)
        self._show_result("Waiting for the Google sign-in in your browser…", True)
        self._tasks[SIGN_IN_KIND] = self.runner.start(
            SIGN_IN_KIND, lambda job: earthengine.ee_sign_in(job=job), label="Signing in to Earth Engine",
            on_done=self._signed_in, on_error=self._sign_in_failed)
        if self._tasks[SIGN_IN_KIND] is None:   # the window is closing
            self._busy(SIGN_IN_KIND, False)

    def _signed_in(self, _result) -> None:
        self.refresh_state()
        self._show_result("Signed in; the credentials are stored. Set the project id and press Test connection.", True)
        self.notify("Signed in to Earth Engine", "info")

    def _sign_in_failed(self, msg: str) -> None:
        self._show_result(f"Sign-in failed: {msg}", False)
        self.notify(f"Earth Engine sign-in failed: {msg}", "error")

    def start_test(self) -> None:
        from ..core.online import earthengine

        self.save()
        ee = self.values()
        self._busy(TEST_KIND, True)
        self._show_result("Testing the connection…", True)
        self._tasks[TEST_KIND] = self.runner.start(
            TEST_KIND, lambda job: earthengine.ee_initialize(ee.project, ee.key_file, ee.url, job=job),
            label="Testing the Earth Engine connection", on_done=self._tested, on_error=self._test_failed)
        if self._tasks[TEST_KIND] is None:   # the window is closing
            self._busy(TEST_KIND, False)

    def _tested(self, description: str) -> None:
        self.refresh_state()
        self._show_result(f"Connected: {description}", True)

    def _test_failed(self, msg: str) -> None:
        self.refresh_state()
        self._show_result(msg, False)

    def _on_task_finished(self, task, outcome: str) -> None:
        # Re-enable the button whatever the outcome (done, failed, cancelled from the status bar).
        for kind, mine in list(self._tasks.items()):
            if mine is task:
                del self._tasks[kind]
                self._busy(kind, False)
                if outcome == "cancelled":
                    self._show_result("Cancelled.", False)


def open_ee_account(win, parent: Optional[QWidget] = None) -> EeAccountDialog:
    """Show the account dialog for ``win`` (non-modal from the menu; one instance per window)."""
    dlg = getattr(win, "_ee_account_dialog", None)
    if dlg is None:
        dlg = EeAccountDialog(win.settings, win.runner, win.notify, parent or win)
        win._ee_account_dialog = dlg
    dlg.refresh_state()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
