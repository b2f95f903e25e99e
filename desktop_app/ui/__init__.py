"""PySide6 user interface of SatSeg (the only package that imports Qt)."""
# First, before any Qt call: PySide6 6.12.0 on Python 3.11 loses a reference to
# None on every void call and to True on every emit; qt_fixes keeps those
# singletons alive (as Python 3.12 does) so a long session cannot abort.
from . import qt_fixes  # noqa: F401,E402
