"""How often rasterio's in-memory NotGeoreferencedWarning escapes on two threads, with and without
SatSeg's filter (docs/performance.md, "rasterio on worker threads").

    .venv/bin/python benchmarks/rasterio_warning_race.py [runs] [calls]

Each run is a fresh process: one thread rasterizes, one reprojects an array, ``calls`` times each.
"""
import subprocess
import sys

RUN = r'''
import sys, threading, warnings
import numpy as np
from affine import Affine
from rasterio.features import rasterize
from rasterio.warp import reproject
from shapely.geometry import box
escaped = []
warnings.showwarning = lambda message, *args, **kwargs: escaped.append(str(message))
warnings.simplefilter("always")
if sys.argv[2] == "filter":
    import desktop_app.core
    desktop_app.core.quiet_rasterio_in_memory_datasets()
T, N = Affine(10, 0, 500000, 0, -10, 3300000), int(sys.argv[1])
def rast():
    for _ in range(N):
        rasterize([(box(500100, 3299000, 500500, 3299800), 1)], out_shape=(64, 64), transform=T, dtype="uint8")
def warp():
    src, dst = np.ones((64, 64), np.float32), np.zeros((64, 64), np.float32)
    for _ in range(N):
        reproject(src, dst, src_transform=T, src_crs="EPSG:32643", dst_transform=T, dst_crs="EPSG:32643")
threads = [threading.Thread(target=f) for f in (rast, warp)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sum("no geotransform" in m for m in escaped))
'''


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    calls = sys.argv[2] if len(sys.argv) > 2 else "3000"
    for mode in ("no-filter", "filter"):
        counts = [int(subprocess.run([sys.executable, "-c", RUN, calls, mode], capture_output=True, text=True,
                                     check=True, timeout=600).stdout) for _ in range(runs)]
        print(f"{mode:9s}: warning escaped in {sum(c > 0 for c in counts)} of {runs} runs "
              f"({sum(counts)} warnings; {calls} rasterize + {calls} reproject calls on two threads per run)")


if __name__ == "__main__":
    main()
