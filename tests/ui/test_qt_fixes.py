"""The PySide6 emit work-around: thousands of emits must not eat the True singleton."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys

from PySide6.QtCore import QObject, Signal

from desktop_app.ui import qt_fixes


class Emitter(QObject):
    changed = Signal(str)


def test_many_emits_keep_true_refcount():
    e = Emitter()
    got = []
    e.changed.connect(got.append)
    before = sys.getrefcount(True)
    for i in range(20000):   # without the fix this many emits abort the interpreter on 6.12.0 / 3.11
        e.changed.emit("x")
    # Unfixed, the count would drop by 20000; a few references may come and go elsewhere.
    assert abs(sys.getrefcount(True) - before) < 50
    assert len(got) == 20000


def test_fix_only_when_needed():
    # Either the defect was measured and fixed, or it is absent; both leave emit balanced.
    assert qt_fixes.EMIT_FIX_INSTALLED == getattr(type(Emitter().changed).emit, "_satseg_fixed", False)
    assert qt_fixes.emit_loses_true_references() is False   # after the fix, a fresh probe loses nothing
