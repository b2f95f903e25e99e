"""Classify ▸ Earth Engine tasks…: the exports SatSeg started, their state, Cancel, Download, Remove from list
(docs/scale.md).

A small non-modal table of the recorded tasks (``core/scale/ee_tasks.py``,
the same list ``satseg ee-tasks`` shows). Reading states and cancelling are
short Earth Engine requests with a deadline; they run on the dialog's own
worker lane, so a long download or classification never holds them up and
the window never waits. While the dialog is open the states are read again
every ``POLL_S`` seconds (a tick-box turns that off). Download runs on the
window's long-job runner (progress and Cancel in the status bar) and shows
the class raster with ``ee_classify_box.show_class_raster``. Remove from list
forgets a finished, failed or cancelled task, or one Earth Engine no longer knows
(``ee_tasks.forget``): SatSeg's list only, never Earth Engine or a file.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

POLL_S = 30
COLUMNS = ("Started", "State", "Destination", "Method", "Saved as")
ACTIVE = ("READY", "RUNNING")
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "UNKNOWN", "UNSUBMITTED")   # states that never change again


def destination_text(dest: str) -> str:
    """'drive:satseg/up' -> 'Google Drive folder satseg (up.tif)', in the user's words."""
    from ..core.scale.ee_tasks import parse_destination

    kind, where, prefix = parse_destination(dest)
    if kind == "drive":
        return f"Google Drive folder {where} ({prefix}.tif)"
    return f"Cloud Storage gs://{where}/{prefix}.tif"


def state_text(status: Optional[dict], out: Path, short: bool = True) -> str:
    """A few words per state for the table (``short``); the server's reason too for the selected task's line."""
    from ..core.scale import ee_tasks as T

    if status is None:
        return "not checked yet"
    state = status.get("state")
    if state == T.DONE:
        return "done, downloaded" if out.exists() else "done, ready to download"
    words = {"READY": "waiting to start", "RUNNING": "running", "CANCEL_REQUESTED": "cancelling",
             T.FAILED: "failed", T.CANCELLED: "cancelled"}
    if short or state not in (T.FAILED, T.UNKNOWN, "UNSUBMITTED"):
        return words.get(state, "unknown" if short else T.describe(status))
    return T.describe(status)


def _signed_in(win, job) -> None:
    """The Earth Engine session of the window's account settings (a no-op when it is already open)."""
    from ..core.online.earthengine import ensure_session
    from ..core.scale.ee_tasks import STATE_TIMEOUT_S
    from .ee_account import load_ee_settings

    ee = load_ee_settings(win.settings)
    ensure_session(ee.project, ee.key_file, ee.url, job=job, timeout=STATE_TIMEOUT_S)


class EeTasksDialog(QDialog):
    def __init__(self, win) -> None:
        super().__init__(win)
        from .workers import TaskRunner

        self.win = win
        self.setWindowTitle("Earth Engine tasks")
        self.setModal(False)
        self.resize(min(1000, win.width() - 40), 320)
        # State reads and cancels: a lane of their own, never queued behind a long download.
        self.lane = TaskRunner(self, max_threads=1, display_threads=1)
        self.records: list[dict] = []
        self.states: dict[str, dict] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for i in range(len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Saved as"), QHeaderView.ResizeMode.Stretch)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)       # long names keep both ends
        self.table.setWordWrap(False)
        self.detail, self.note = QLabel(""), QLabel("")       # the selected task; what just happened
        for label in (self.detail, self.note):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)     # file names and server messages are text
        self.refresh_button = QPushButton("Refresh")
        self.cancel_button = QPushButton("Cancel task")
        self.download_button = QPushButton("Download and show")
        self.remove_button = QPushButton("Remove from list")
        self.remove_button.setToolTip("Remove this finished, failed or cancelled task, or one Earth Engine no longer "
                                      "knows, from SatSeg's list. Nothing is "
                                      "deleted: the task on Earth Engine, its files in Google Drive or Cloud Storage "
                                      "and any downloaded class raster stay as they are.")
        self._downloading: Optional[str] = None      # the task whose download runs now
        self.poll = QCheckBox(f"Refresh every {POLL_S} s")
        self.poll.setChecked(True)
        close = QPushButton("Close")
        row = QHBoxLayout()
        for w in (self.refresh_button, self.poll):
            row.addWidget(w)
        row.addStretch(1)
        for w in (self.cancel_button, self.download_button, self.remove_button, close):
            row.addWidget(w)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.detail)
        lay.addWidget(self.note)
        lay.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_S * 1000)
        self.timer.timeout.connect(lambda: self.refresh(manual=False))
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self.cancel_button.clicked.connect(self.ask_cancel)
        self.download_button.clicked.connect(self.download)
        self.remove_button.clicked.connect(self.ask_remove)
        self.poll.toggled.connect(self._poll_toggled)
        close.clicked.connect(self.close)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(self._describe_selected)
        from PySide6.QtWidgets import QApplication

        QApplication.instance().aboutToQuit.connect(self.lane.shutdown)   # never keep the app waiting on a read
        win.runner.task_finished.connect(self._runner_finished)

    # ---------------------------------------------------------------- table
    def reload(self, select: Optional[str] = None) -> None:
        """The recorded tasks (newest first) with the states last read."""
        from ..core.errors import SatSegError
        from ..core.scale.ee_tasks import read_records

        keep = select or self.selected_id()
        try:
            self.records = list(reversed(read_records()))
        except SatSegError as exc:
            self.records = []
            self.note.setText(str(exc))
        self.table.setRowCount(len(self.records))
        for i, r in enumerate(self.records):
            out = Path(r["out"])
            cells = (r.get("started", ""), state_text(self.states.get(r["id"]), out), destination_text(r["dest"]),
                     (r.get("tags") or {}).get("SATSEG_METHOD", ""), out.name)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(str(text))          # table items are plain text, never HTML
                item.setToolTip(str(out) if j == len(cells) - 1 else str(text))
                self.table.setItem(i, j, item)
            if r["id"] == keep:
                self.table.selectRow(i)
        if not self.records:
            self.note.setText("No Earth Engine exports yet: tick 'on Earth Engine' beside Run classification and "
                              "choose an export destination.")
        self._update_buttons()
        self._describe_selected()

    def selected(self) -> Optional[dict]:
        rows = self.table.selectionModel().selectedRows()
        return self.records[rows[0].row()] if rows and rows[0].row() < len(self.records) else None

    def selected_id(self) -> Optional[str]:
        r = self.selected()
        return r["id"] if r else None

    def _describe_selected(self) -> None:
        """The selected task in full: its id, the state with the server's reason, where it is saved."""
        r = self.selected()
        state = r and state_text(self.states.get(r["id"]), Path(r["out"]), short=False)
        self.detail.setText(f"Task {r['id']}: {state}. Saved as {r['out']}." if r else "")

    def _update_buttons(self) -> None:
        from ..core.scale.ee_tasks import DONE, FORGETTABLE

        r = self.selected()
        state = (self.states.get(r["id"]) or {}).get("state") if r else None
        self.cancel_button.setEnabled(r is not None and (state is None or state in ACTIVE))
        self.download_button.setEnabled(r is not None and state == DONE
                                        and not self.win.runner.busy("ee-download"))
        # Only a state read from Earth Engine that can never change again; not while it downloads.
        self.remove_button.setEnabled(r is not None and state in FORGETTABLE and r["id"] != self._downloading)

    # ---------------------------------------------------------------- states
    def refresh(self, manual: bool = True) -> None:
        """Read the tasks' states off the UI thread (deadline per request, retries).

        Only tasks that can still change are asked about; the timer asks nothing once all are
        finished, a click on Refresh then asks about every task again.
        """
        from ..core.scale.ee_tasks import statuses

        records = [r for r in self.records if (self.states.get(r["id"]) or {}).get("state") not in FINAL]
        if manual and not records:
            records = list(self.records)
        if self.lane.busy("ee-task-states") or not records:
            return
        win = self.win

        def read(job):
            _signed_in(win, job.sub(0.0, 0.1))
            return statuses(records, job.sub(0.1, 1.0))

        self.refresh_button.setEnabled(False)
        self.note.setText("Asking Earth Engine for the state of the tasks…")
        self.lane.start("ee-task-states", read, label="Reading Earth Engine task states",
                        on_done=lambda got: self._got_states(records, got), on_error=self._state_error)

    def _got_states(self, records, got) -> None:
        self.states.update({r["id"]: s for r, s in zip(records, got)})
        self.refresh_button.setEnabled(True)
        self.reload()
        self.note.setText(f"States read from Earth Engine at {time.strftime('%H:%M:%S')}.")

    def _state_error(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.note.setText(f"Could not read the task states: {message}")

    def _poll_toggled(self, on: bool) -> None:
        if on and self.isVisible():
            self.timer.start()
        else:
            self.timer.stop()

    # ---------------------------------------------------------------- cancel
    def ask_cancel(self) -> None:
        r = self.selected()
        if r is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Cancel Earth Engine task",
                          f"Stop the export to {destination_text(r['dest'])}? Earth Engine does not keep a "
                          "partly written result.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda rec=r: self.cancel_task(rec))
        self.confirm = box
        box.open()            # window-modal, never blocks the event loop

    def cancel_task(self, record: dict) -> None:
        from ..core.scale.ee_tasks import cancel

        win = self.win

        def run(job):
            _signed_in(win, job)
            cancel(record["id"], job)

        self.cancel_button.setEnabled(False)
        self.note.setText(f"Asking Earth Engine to cancel the export to {destination_text(record['dest'])}…")

        def done(_result) -> None:
            self.note.setText(f"Cancel requested for the export to {destination_text(record['dest'])}.")
            self.refresh()

        self.lane.start("ee-task-cancel", run, label="Cancelling the Earth Engine task", on_done=done,
                        on_error=lambda msg: (self.note.setText(f"Could not cancel the task: {msg}"),
                                              self._update_buttons()))

    # ---------------------------------------------------------------- remove from list
    def ask_remove(self) -> None:
        """Remove at once, except a finished export not downloaded yet (SatSeg could not download it later)
        and a task Earth Engine no longer knows (the user may have expected it to be there): ask first."""
        from ..core.scale.ee_tasks import DONE, UNKNOWN

        r = self.selected()
        if r is None:
            return
        state = (self.states.get(r["id"]) or {}).get("state")
        question = None
        if state == DONE and not Path(r["out"]).exists():
            question = (f"The export to {destination_text(r['dest'])} is finished but not downloaded. Once it is off "
                        "the list SatSeg cannot download it; the file stays where Earth Engine wrote it. Remove it "
                        "from the list?")
        elif state in (UNKNOWN, "UNSUBMITTED"):
            question = (f"Task {r['id']}, the export to {destination_text(r['dest'])}, is unknown to Earth Engine: it "
                        "expired, was deleted, or was started under another Cloud project. Nothing is lost by "
                        "removing it: files already written or downloaded stay. Remove it from the list?")
        if question:
            box = QMessageBox(QMessageBox.Icon.Question, "Remove Earth Engine task from the list", question,
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.accepted.connect(lambda rec=r: self.remove_task(rec))
            self.confirm = box
            box.open()        # window-modal, never blocks the event loop
            return
        self.remove_task(r)

    def remove_task(self, record: dict) -> None:
        from ..core.errors import SatSegError
        from ..core.scale.ee_tasks import forget

        try:
            forget(record["id"], self.states.get(record["id"]) or {})
        except SatSegError as exc:
            self.note.setText(f"Not removed: {exc}")
            return
        self.states.pop(record["id"], None)
        self.reload()
        self.note.setText(f"Removed the export to {destination_text(record['dest'])} from the list; nothing was "
                          "deleted.")

    # ---------------------------------------------------------------- download
    def download(self) -> None:
        """Download the finished export on the window's runner, then show it as the window's result."""
        from ..core.scale import ee_tasks as T
        from .ee_classify_box import show_class_raster

        record, win = self.selected(), self.win
        if record is None:
            return

        def run(job):
            _signed_in(win, job.sub(0.0, 0.02))
            [status] = T.statuses([record], job.sub(0.02, 0.04))    # fresh: the files it lists are this run's
            return T.download(record, status, T.authorized_session(), job=job.sub(0.04, 1.0))

        def done(path) -> None:
            self.note.setText(f"Downloaded {Path(path).name}; showing it on the map.")
            win.notify(f"Downloaded the Earth Engine export into {path}", "info")
            show_class_raster(win, path)

        def failed(message: str) -> None:
            self.note.setText(f"Download failed: {message}")
            win.notify(f"Downloading the Earth Engine export failed: {message}", "error")

        self.download_button.setEnabled(False)
        self._downloading = record["id"]
        self._update_buttons()
        self.note.setText(f"Downloading {Path(record['out']).name} (progress and Cancel in the status bar)…")
        win.runner.start("ee-download", run, label="Downloading the Earth Engine export", on_done=done,
                         on_error=failed)

    def _runner_finished(self, task, _outcome: str) -> None:
        if task.kind == "ee-download":        # done, failed or cancelled (Esc): Download is possible again
            self._downloading = None
            self.reload()

    # ---------------------------------------------------------------- lifetime
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._poll_toggled(self.poll.isChecked())

    def hideEvent(self, event) -> None:
        self.timer.stop()
        self.lane.cancel("ee-task-states")     # a requested cancel still reaches Earth Engine
        super().hideEvent(event)


def show_tasks(win, select: Optional[str] = None) -> EeTasksDialog:
    """Open (or raise) the window's tasks dialog and read the states at once."""
    dlg = getattr(win, "ee_tasks_dialog", None)
    if dlg is None:
        dlg = win.ee_tasks_dialog = EeTasksDialog(win)
    dlg.reload(select)
    dlg.show()
    dlg.raise_()
    dlg.refresh()
    return dlg
