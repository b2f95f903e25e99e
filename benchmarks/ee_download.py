"""`satseg ee-tasks download` of a split Drive export, as a whole process, against a loopback Drive server.

A class raster of SIDE x SIDE px (default 10980, a Sentinel-2 tile at 10 m) is
cut into 2 x 2 tiles named as Earth Engine names a split export
(PREFIX-<row>-<col>.tif) and served by the test suite's Drive v3 server on
127.0.0.1 (tests/core/google_apis.py: files.list with paging, alt=media).
A child process runs the download path of `satseg ee-tasks download`
(core/scale/ee_tasks.download with google-auth's AuthorizedSession): list,
stream each tile to disk with its size and MD5 checked, mosaic by windows.
Printed: wall time, MB moved, peak RSS of the child (sampled every 0.1 s),
and whether the written raster equals the source pixel for pixel.

    .venv/bin/python benchmarks/ee_download.py [--side 10980]

Figures go to README "Scale-out"; what the code relies on is docs/scale.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "core"))

CLASSES = [{"id": 1, "name": "crop", "color": "#00ff00"}, {"id": 2, "name": "urban", "color": "#ff0000"},
           {"id": 3, "name": "water", "color": "#0000ff"}]


def child(drive_api: str, out: str) -> None:
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2.credentials import Credentials

    from desktop_app.core.scale import ee_tasks as T

    record = {"id": "BENCH", "dest": "drive:satseg/up", "out": out, "classes": CLASSES, "tags": {}}
    session = AuthorizedSession(Credentials(token="test-token", scopes=["https://www.googleapis.com/auth/drive"]))
    T.download(record, {"state": "COMPLETED"}, session, drive_api=drive_api)


def make_tiles(folder: Path, side: int) -> dict[str, Path]:
    """Fields of 40 x 90 px with a random class each, 10 % speckle: Earth Engine's uint8 export tiles, 2 x 2."""
    import numpy as np
    from affine import Affine
    from rasterio.crs import CRS

    from desktop_app.core.geotiff import GeoTiffWriter

    half = side // 2
    t = Affine(10, 0, 500000, 0, -10, 3300000)
    tiles = {}
    for r0, r1 in ((0, half), (half, side)):
        for c0, c1 in ((0, half), (half, side)):
            rng = np.random.default_rng(r0 * 7 + c0)
            rows, cols = np.ogrid[r0:r1, c0:c1]
            arr = ((rows // 40 * 7919 + cols // 90 * 104729) % 4).astype(np.uint8)
            speckle = rng.random(arr.shape) < 0.1
            arr[speckle] = rng.integers(0, 4, int(speckle.sum()))
            name = f"up-{r0:010d}-{c0:010d}.tif"
            with GeoTiffWriter(folder / name, width=c1 - c0, height=r1 - r0, count=1, dtype="uint8",
                               transform=t @ Affine.translation(c0, r0), crs=CRS.from_epsg(32643)) as w:
                w.write(arr)
            tiles[name] = folder / name
    return tiles


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=10980)
    ap.add_argument("--child", nargs=2, metavar=("DRIVE_API", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    import numpy as np
    import rasterio
    from google_apis import GoogleApis

    from benchmarks.dask_scale import run_measured

    folder = Path(tempfile.mkdtemp(prefix="satseg-ee-download-"))
    tiles = make_tiles(folder, args.side)
    moved = sum(p.stat().st_size for p in tiles.values()) / 2 ** 20
    out = folder / "out" / "classes.tif"
    out.parent.mkdir()
    with GoogleApis(page_size=100) as api:
        parent = api.folder("satseg")
        for name, p in tiles.items():
            api.drive_file(name, parent, p.read_bytes())
        wall, peak, _tree = run_measured([sys.executable, str(Path(__file__).resolve()), "--child", api.drive_api,
                                          str(out)])
    same = True
    with rasterio.open(out) as ds:
        for name, p in tiles.items():
            with rasterio.open(p) as t:
                col, row = ~ds.transform @ (t.transform.c, t.transform.f)
                for _, w in t.block_windows(1):
                    got = ds.read(1, window=w.__class__(w.col_off + round(col), w.row_off + round(row),
                                                        w.width, w.height))
                    same &= bool(np.array_equal(got, t.read(1, window=w)))
        size = (ds.width, ds.height)
    print(json.dumps({"side": args.side, "tiles": len(tiles), "megapixels": round(size[0] * size[1] / 1e6, 1),
                      "downloaded_MB": round(moved, 2), "wall_s": round(wall, 1), "peak_rss_MB": round(peak),
                      "identical": same}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
