"""PySide6 user interface of SatSeg (the only package that imports Qt)."""
# First, before any module emits a signal: PySide6 6.12.0 on Python 3.11 loses a
# reference to True on every Signal.emit (see qt_fixes); this compensates.
from . import qt_fixes  # noqa: F401,E402
