"""Qt-free engine of SatSeg.

Nothing under this package may import PySide6 or pyqtgraph (a test checks it);
heavy optional libraries (torch, sam2, ee) are imported inside the functions
that need them so that the CLI and the window start fast.
"""
