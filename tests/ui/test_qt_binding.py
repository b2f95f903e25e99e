"""Guard against the PySide6 6.12.0 reference leak that aborts long sessions.

PySide6 6.12.0 on Python 3.11 lost one reference to None per void call and one
to True per signal emit; after a few thousand calls Python aborted with
"Fatal Python error: none_dealloc". pyproject.toml pins a release without it.
"""
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class _Emitter(QObject):
    fired = Signal(int)


def test_void_calls_and_emits_keep_singleton_references(qapp):
    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    assert sys.getrefcount(None) >= before - 10
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.fired.emit(1)
    assert sys.getrefcount(True) >= before - 10
