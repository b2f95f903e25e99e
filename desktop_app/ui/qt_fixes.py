"""Work-around for a reference-counting defect of the installed Qt binding, applied on import.

PySide6 6.12.0 on CPython 3.11 hands out ``None``, ``True`` and ``False``
without taking a reference: every call of a void Qt method from Python
(``label.setText``, ``app.processEvents``, ``stack.undo`` ...) removes one
reference from ``None``, every ``Signal.emit()`` one from ``True``. After a
few thousand calls, i.e. minutes into a session, CPython aborts with "Fatal
Python error: none_dealloc: deallocating None" (or bool_dealloc). Python
3.12 made these singletons immortal (PEP 683), which hides the defect there;
the wheel evidently assumes that.

The fix does what Python 3.12 does: it gives the three singletons a
reference count so large (2**40) that the lost references can never bring
it to zero. It is measured, not assumed: only if a probe call loses
references is anything changed, and never on Python 3.12+.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

# Far more Qt calls than any session makes (~10^12); far below Py_ssize_t overflow.
_IMMORTAL_REFS = 1 << 40
_PROBES = 16


class _Probe(QObject):
    ping = Signal()


def lost_references() -> dict[str, int]:
    """References that _PROBES void calls / emits lose, for None and True (0 with a sound binding)."""
    probe = _Probe()
    before = sys.getrefcount(None)
    results = [probe.setObjectName("probe") for _ in range(_PROBES)]   # each returns None
    lost_none = before + results.count(None) - sys.getrefcount(None)
    del results
    before = sys.getrefcount(True)
    results = [probe.ping.emit() for _ in range(_PROBES)]               # each returns True
    lost_true = before + results.count(True) - sys.getrefcount(True)
    del results
    return {"None": lost_none, "True": lost_true}


def _add_references(obj, n: int) -> None:
    # ob_refcnt is the first field of every CPython object (Py_ssize_t).
    ctypes.c_ssize_t.from_address(id(obj)).value += n


def _install() -> bool:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False   # None/True/False are immortal there; nothing can run out
    if sys.getrefcount(None) > _IMMORTAL_REFS // 2:
        return True    # already applied (module reloaded)
    lost = lost_references()
    if not any(v > 0 for v in lost.values()):
        return False
    for singleton in (None, True, False):
        _add_references(singleton, _IMMORTAL_REFS)
    return True


SINGLETONS_PINNED = _install()
