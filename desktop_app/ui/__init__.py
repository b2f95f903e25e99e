"""PySide6 user interface of SatSeg (the only package that imports Qt)."""
