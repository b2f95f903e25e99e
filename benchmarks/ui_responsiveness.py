"""UI thread stalls while the window classifies a big scene (prints figures; no pass/fail).

    QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1 .venv/bin/python benchmarks/ui_responsiveness.py [SIZE ...]

For each size, the demo image is tiled to SIZE x SIZE (12 bands, in memory), the
default classifier runs from the window, and a 10 ms QTimer on the UI thread
records how late each tick arrives. The target is no gap over 200 ms.
"""
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("SATSEG_HOME", tempfile.mkdtemp(prefix="satseg-bench-"))

import numpy as np  # noqa: E402
import PySide6.QtWebEngineWidgets  # noqa: E402,F401
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def wait_for(signal, timeout_s=600):
    loop = QEventLoop()
    out = []
    signal.connect(lambda *a: (out.append(a), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    return out[0] if out else None


def main(sizes):
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from desktop_app.core.raster import Raster
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.pipeline import ImageDoc

    win = MainWindow(settings=QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat),
                     quiet=True)
    win.show()
    win.open_demo(500)
    wait_for(win.image_displayed)
    small = win.doc
    print(f"{'size':>6} {'run s':>7} {'ticks':>6} {'max gap ms':>11} {'p99 gap ms':>11}")
    for size in sizes:
        reps = -(-size // small.width)
        data = np.tile(small.raster.data, (1, reps, reps))[:, :size, :size].copy()
        doc = ImageDoc(f"tiled {size}", None, list(small.band_names), small.transform, small.crs, size, size,
                       raster=Raster(data, small.transform, small.crs, list(small.band_names)),
                       samples=small.samples)
        win.set_document(doc)
        wait_for(win.image_displayed)
        ticks = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        t0 = time.perf_counter()
        win.run_classification()
        outcome = wait_for(win.classification_finished)
        timer.stop()
        gaps = np.diff(ticks) * 1000
        print(f"{size:>6} {time.perf_counter() - t0:>7.1f} {len(ticks):>6} {gaps.max():>11.0f} "
              f"{np.percentile(gaps, 99):>11.0f}   ({outcome[0] if outcome else 'timeout'})", flush=True)
    win.dirty = False
    win.model.mark_saved()
    win.close()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 3000])
