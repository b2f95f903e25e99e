"""The work-around for PySide6 6.12.0 / Python 3.11 losing references to None and True.

Without it, the loops below abort the interpreter ("deallocating None").
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from desktop_app.ui import qt_fixes


class Emitter(QObject):
    changed = Signal(str)


def test_many_void_calls_and_emits_survive(qapp):
    label = QLabel()
    e = Emitter()
    got = []
    e.changed.connect(got.append)
    start = sys.getrefcount(None)
    for i in range(30000):        # ~ more than None's natural reference count in this process
        label.setText("x")
        e.changed.emit("x")
    assert len(got) == 30000 and label.text() == "x"
    assert sys.getrefcount(None) > 0 and sys.getrefcount(True) > 0
    if qt_fixes.SINGLETONS_PINNED:
        assert start > 2 ** 39


def test_pinning_only_where_needed():
    lost = qt_fixes.lost_references()
    if sys.version_info >= (3, 12):
        assert not qt_fixes.SINGLETONS_PINNED
    elif any(v > 0 for v in lost.values()):
        # The defect is present in this binding: then the singletons must be pinned.
        assert qt_fixes.SINGLETONS_PINNED and sys.getrefcount(None) > 2 ** 39
