"""Work-arounds for defects of the installed Qt binding, applied once on import.

PySide6 6.12.0 on CPython 3.11: ``SignalInstance.emit()`` returns ``True``
without taking a reference to it, so every emit from Python removes one
reference from the ``True`` singleton. After a few thousand emits (a few
minutes of drawing, or one classification reporting progress) CPython
aborts with "Fatal Python error: bool_dealloc: deallocating True or False".
Python 3.12+ makes ``True`` immortal, so the defect is harmless there.

The fix is measured, not assumed: emit a signal a few times on a scratch
object and look at ``sys.getrefcount(True)``. Only if references are lost
is ``emit`` wrapped to give back the reference it took. A fixed PySide6
measures zero loss and is left alone.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_Py_IncRef = ctypes.pythonapi.Py_IncRef
_Py_IncRef.argtypes = [ctypes.py_object]
_Py_IncRef.restype = None

_PROBES = 16


class _Probe(QObject):
    ping = Signal()


def emit_loses_true_references() -> bool:
    """True when this PySide6 drops a reference to ``True`` on every ``emit``."""
    probe = _Probe()
    before = sys.getrefcount(True)
    results = [probe.ping.emit() for _ in range(_PROBES)]   # keep the results alive while counting
    lost = before + results.count(True) - sys.getrefcount(True)
    del results
    if lost == _PROBES:
        for _ in range(_PROBES):   # give back what the probe itself just lost
            _Py_IncRef(True)
        return True
    return False


def _install() -> bool:
    if getattr(SignalInstance.emit, "_satseg_fixed", False):
        return True
    if not emit_loses_true_references():
        return False
    original = SignalInstance.emit

    def emit(self, *args):
        result = original(self, *args)
        if result is True:
            _Py_IncRef(True)   # the reference PySide6 handed us without owning it
        return result

    emit._satseg_fixed = True
    emit.__doc__ = original.__doc__
    SignalInstance.emit = emit
    return True


EMIT_FIX_INSTALLED = _install()
