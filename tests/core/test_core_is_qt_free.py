"""desktop_app.core must never pull in Qt (it runs headless in the CLI and in workers)."""
import subprocess
import sys


def test_importing_every_core_module_loads_no_qt():
    code = r"""
import importlib, pkgutil, sys
import desktop_app.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".")]
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"))
print(len(names), qt)
assert not qt, qt
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + out.stdout
    count = int(out.stdout.split()[0])
    assert count >= 10
