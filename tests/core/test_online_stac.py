"""STAC source against a STAC API + COG server on 127.0.0.1 (no network).

The server answers the landing page and item search the way Earth Search
does and serves COG files with HTTP Range requests, so pystac-client and
rasterio/GDAL (/vsicurl) run their real code paths. COGs are built in a tmp
folder from the demo scene (always) and from the real 29RKH scene in
../shared/data (skipped with a reason when absent).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box, mapping, shape

from desktop_app.core.demo_scene import make_demo_scene
from desktop_app.core.errors import SatSegError, cli_text
from desktop_app.core.geo import WGS84, bounds_to_wgs84, transform_geometry
from desktop_app.core.jobs import Cancelled, Job
from desktop_app.core.online.fetch import FetchRequest, fetch_imagery
from desktop_app.core.online.roi import parse_roi
from desktop_app.core.online.stac import ASSET_KEYS
from desktop_app.core.sources import open_image



class StacServer:
    """A tiny STAC API + static file server bound to 127.0.0.1 only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.items: list[dict] = []
        self.log: list[tuple[str, str, str]] = []  # (method, path, range)
        self.bytes_served: dict[str, int] = {}
        self.fail_once: dict[str, int] = {}  # file name -> HTTP status to answer on its next GET
        self.searches: list[dict] = []      # every search body (GET parameters or POST JSON)
        self.search_failures: list[int] = []  # HTTP statuses to answer the next searches with
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep pytest output clean
                pass

            def _json(self, obj, status=200):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                server.log.append(("GET", self.path, self.headers.get("Range", "")))
                path = self.path.split("?")[0]
                if path in ("/", ""):
                    return self._json(server.landing())
                if path == "/search":
                    return self._json(server.search({}))
                if path.startswith("/files/"):
                    return self._file(path[len("/files/"):], head=False)
                self._json({"code": "NotFound"}, 404)

            def do_HEAD(self):
                server.log.append(("HEAD", self.path, ""))
                if self.path.startswith("/files/"):
                    return self._file(self.path[len("/files/"):], head=True)
                self.send_response(404)
                self.end_headers()

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                server.log.append(("POST", self.path, json.dumps(body)))
                if self.path.split("?")[0] == "/search":
                    if server.search_failures:
                        return self._json({"code": "Unavailable"}, server.search_failures.pop(0))
                    return self._json(server.search(body))
                self._json({"code": "NotFound"}, 404)

            def _file(self, name, head):
                p = server.root / name
                if not p.is_file():
                    self.send_response(404)
                    self.end_headers()
                    return
                status = server.fail_once.pop(name, None) if not head else None
                if status:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = p.read_bytes()
                rng = self.headers.get("Range")
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
                if m:
                    start = int(m.group(1))
                    end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
                    chunk = data[start:end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    chunk = data
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "image/tiff")
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if not head:
                    self.wfile.write(chunk)
                    server.bytes_served[name] = server.bytes_served.get(name, 0) + len(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def landing(self) -> dict:
        return {
            "type": "Catalog", "id": "test-earth-search", "stac_version": "1.0.0", "description": "local test",
            "conformsTo": ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                           "https://api.stacspec.org/v1.0.0/item-search#query",
                           "https://api.stacspec.org/v1.0.0/item-search#sort"],
            "links": [{"rel": "self", "href": self.url + "/", "type": "application/json"},
                      {"rel": "root", "href": self.url + "/", "type": "application/json"},
                      {"rel": "search", "href": self.url + "/search", "type": "application/geo+json", "method": "POST"},
                      {"rel": "search", "href": self.url + "/search", "type": "application/geo+json", "method": "GET"}],
        }

    def search(self, body: dict) -> dict:
        """Item search as Earth Search answers it: filters, query (eo:cloud_cover), sortby, limit + next page."""
        self.searches.append(body)
        feats = list(self.items)
        if body.get("datetime"):
            lo, hi = body["datetime"].split("/")
            lo_d, hi_d = dt.datetime.fromisoformat(lo.replace("Z", "+00:00")), dt.datetime.fromisoformat(hi.replace("Z", "+00:00"))
            feats = [f for f in feats
                     if lo_d <= dt.datetime.fromisoformat(f["properties"]["datetime"].replace("Z", "+00:00")) <= hi_d]
        if body.get("intersects"):
            g = shape(body["intersects"])
            feats = [f for f in feats if shape(f["geometry"]).intersects(g)]
        if body.get("collections"):
            feats = [f for f in feats if f.get("collection") in body["collections"]]
        for prop, ops in (body.get("query") or {}).items():
            for op, v in ops.items():
                test = {"lte": lambda x: x <= v, "lt": lambda x: x < v, "gte": lambda x: x >= v}[op]
                feats = [f for f in feats if test(f["properties"][prop])]
        for key in reversed(body.get("sortby") or []):
            field = key["field"].removeprefix("properties.")
            feats.sort(key=lambda f: f["properties"][field], reverse=key.get("direction") == "desc")
        limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
        chunk = feats[(page - 1) * limit:page * limit]
        links = []
        if page * limit < len(feats):
            links.append({"rel": "next", "href": self.url + "/search", "method": "POST",
                          "body": dict(body, page=page + 1)})
        return {"type": "FeatureCollection", "features": chunk, "links": links}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def write_cog(path: Path, array: np.ndarray, transform: Affine, crs) -> None:
    """A real Cloud-Optimized GeoTIFF (GDAL COG driver, 256 px blocks, overviews)."""
    profile = dict(driver="COG", width=array.shape[1], height=array.shape[0], count=1, dtype=array.dtype.name,
                   crs=crs, transform=transform, nodata=0, compress="DEFLATE", blocksize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)


def stac_item(server: StacServer, item_id: str, when: str, cloud: float, files: dict, bounds, crs,
              dn_offset: float = 0.0, collection: str = "sentinel-2-l2a", props: Optional[dict] = None) -> dict:
    """An Earth Search v1 style item: common-name asset keys, raster:bands scale/offset, MGRS tile.

    ``props`` adds item properties (processing baseline, boa_offset_applied);
    without them the baseline follows ``dn_offset`` (04.00 when the data carry +1000).
    """
    w, s, e, n = bounds_to_wgs84(bounds, crs)
    assets = {}
    for band, fname in files.items():
        key = ASSET_KEYS[band][0]
        rb = {"nodata": 0, "data_type": "uint16"}
        if band != "SCL":
            rb.update(scale=0.0001, offset=round(dn_offset * 0.0001, 6))
        assets[key] = {"href": f"{server.url}/files/{fname}", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                       "roles": ["data"], "raster:bands": [rb]}
    properties = {"datetime": when, "eo:cloud_cover": cloud, "grid:code": "MGRS-43QGU",
                  "s2:processing_baseline": "04.00" if dn_offset else "03.01", "earthsearch:boa_offset_applied": False}
    properties.update(props or {})
    return {"type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": collection,
            "bbox": [w, s, e, n], "geometry": mapping(box(w, s, e, n)),
            "properties": properties, "assets": assets, "links": []}


def roi_inside(bounds, crs, margins=(300, 250, 260, 310)) -> dict:
    l, b, r, t = bounds
    inner = box(l + margins[0], b + margins[1], r - margins[2], t - margins[3])
    return mapping(transform_geometry(inner, crs, WGS84))


def expected_on_grid(arr: np.ndarray, src_transform: Affine, grid_transform: Affine, h: int, w: int) -> np.ndarray:
    col, row = ~src_transform @ (grid_transform.c, grid_transform.f)
    col, row = int(round(col)), int(round(row))
    return arr[..., row:row + h, col:col + w]


# --- demo-scene COGs: always available -------------------------------------

BANDS = ["B4", "B3", "B2", "B8"]


@pytest.fixture()
def demo_catalog(tmp_path):
    scene = make_demo_scene(size=256)
    img = scene.image
    dn = np.rint(img.data * 10000).clip(1, 65535).astype(np.uint16)
    files_dir = tmp_path / "files"
    files_dir.mkdir()
    h, w = img.shape
    clouds = {"A": (slice(20, 90), slice(30, 120)), "B": (slice(150, 220), slice(100, 200)), "C": None}
    shift = {"A": 0, "B": 200, "C": 400}
    stored_offset = {"A": 0, "B": 0, "C": 1000}  # C mimics baseline >= 04.00 (+1000 DN, offset -0.1)
    truth = {}
    server = StacServer(files_dir)
    for sid in "ABC":
        files = {}
        for band in BANDS:
            k = img.band_names.index(band)
            arr = (dn[k].astype(np.int32) + shift[sid] + stored_offset[sid]).clip(1, 65535).astype(np.uint16)
            fname = f"{sid}_{band}.tif"
            write_cog(files_dir / fname, arr, img.transform, img.crs)
            files[band] = fname
        scl = np.full((h, w), 4, np.uint8)
        valid = np.ones((h, w), bool)
        if clouds[sid] is not None:
            scl[clouds[sid]] = 9
            valid[clouds[sid]] = False
        write_cog(files_dir / f"{sid}_SCL.tif", scl, img.transform, img.crs)
        files["SCL"] = f"{sid}_SCL.tif"
        truth[sid] = (np.stack([dn[img.band_names.index(b)].astype(np.float64) + shift[sid] for b in BANDS]), valid)
        cloud_cover = {"A": 12.0, "B": 20.0, "C": 35.0}[sid]
        server.items.append(stac_item(server, f"S2_DEMO_{sid}", f"2024-03-{5 + 5 * 'ABC'.index(sid):02d}T05:40:00Z",
                                      cloud_cover, files, img.bounds, img.crs, dn_offset=-stored_offset[sid]))
    with server:
        yield server, scene, truth


def _request(server, scene, **kw):
    args = dict(source="stac", roi=roi_inside(scene.image.bounds, scene.image.crs), start="2024-03-01",
                end="2024-03-31", bands=BANDS, scale=10, stac_url=server.url, tile_size=64, workers=3)
    args.update(kw)
    return FetchRequest(**args)


def test_demo_median_equals_scl_masked_median_of_source_pixels(demo_catalog, tmp_path):
    server, scene, truth = demo_catalog
    progress = []
    result = fetch_imagery(_request(server, scene), tmp_path / "cache", Job(lambda f, m: progress.append(m)))
    assert sorted(result.scenes) == ["S2_DEMO_A", "S2_DEMO_B", "S2_DEMO_C"]
    assert str(result.crs) == "EPSG:32643" and result.transform.a == 10
    stack = np.stack([np.where(v, a, np.nan) for a, v in truth.values()])
    exp_full = np.nanmedian(stack, axis=0)
    exp = expected_on_grid(exp_full, scene.image.transform, result.transform, result.height, result.width)
    with open_image(result.path) as src:
        assert src.band_names == BANDS and src.crs == result.crs and src.transform == result.transform
        r = src.read()
        assert json.loads(src.metadata["SATSEG_SCENES"]) == result.scenes
        assert src.metadata["SATSEG_COLLECTION"] == "sentinel-2-l2a" and src.metadata["SATSEG_CLOUD_MASK"] == "SCL"
    roi = parse_roi(_request(server, scene).roi)
    inside = ~roi.mask(roi.grid(10))
    assert inside.mean() > 0.9 and (~inside).any()
    assert r.nodata_mask[~inside].all() and not r.nodata_mask[inside].any()
    np.testing.assert_allclose(r.data[:, inside], np.rint(exp[:, inside]) / 10000, atol=1e-7)
    # Where scene A is clouded the median is of B and C only (not A's value).
    assert any(m.startswith("tile ") for m in progress)
    # The search went to our server with the ROI and the dates; COGs were read by HTTP range.
    post = [json.loads(b) for m, p, b in server.log if m == "POST"]
    assert post and post[0]["datetime"].startswith("2024-03-01") and post[0]["intersects"]["type"] == "Polygon"
    assert any(rng.startswith("bytes=") for m, p, rng in server.log if m == "GET" and p.startswith("/files/"))


def test_demo_least_cloudy_is_the_one_scene_unmasked(demo_catalog, tmp_path):
    server, scene, truth = demo_catalog
    result = fetch_imagery(_request(server, scene, composite="least_cloudy"), tmp_path / "cache")
    assert result.scenes == ["S2_DEMO_A"]
    a, _ = truth["A"]
    exp = expected_on_grid(a, scene.image.transform, result.transform, result.height, result.width)
    with open_image(result.path) as src:
        r = src.read()
    inside = ~r.nodata_mask
    assert inside.mean() > 0.9
    np.testing.assert_allclose(r.data[:, inside], exp[:, inside] / 10000, atol=1e-7)


def test_demo_coarser_scale_averages(demo_catalog, tmp_path):
    server, scene, truth = demo_catalog
    result = fetch_imagery(_request(server, scene, composite="least_cloudy", scale=20), tmp_path / "cache")
    a, _ = truth["A"]
    col, row = ~scene.image.transform @ (result.transform.c, result.transform.f)
    col, row = int(round(col)), int(round(row))
    block = a[:, row:row + 2 * result.height, col:col + 2 * result.width]
    exp = block.reshape(len(BANDS), result.height, 2, result.width, 2).mean(axis=(2, 4))
    with open_image(result.path) as src:
        r = src.read()
    inside = ~r.nodata_mask
    np.testing.assert_allclose(r.data[:, inside], exp[:, inside] / 10000, atol=1.01e-4)


def test_demo_cancel_then_resume(demo_catalog, tmp_path):
    server, scene, truth = demo_catalog
    job = Job()

    def progress(f, msg):
        if msg.startswith("tile ") and int(msg.split()[1].split("/")[0]) >= 3:
            job.cancel()

    job.progress = progress
    with pytest.raises(Cancelled):
        fetch_imagery(_request(server, scene, workers=1), tmp_path / "cache", job)
    cached = len(list((tmp_path / "cache" / "tiles").glob("*/*.npy")))
    assert cached >= 3
    searches = sum(1 for m, p, _ in server.log if m == "POST")
    result = fetch_imagery(_request(server, scene), tmp_path / "cache")
    assert result.tiles_cached == cached and result.tiles_fetched == result.tiles_total - cached > 0
    assert sum(1 for m, p, _ in server.log if m == "POST") == searches  # scene list reused from the cache
    # Done: the same request again needs no server at all.
    server.items.clear()
    again = fetch_imagery(_request(server, scene), tmp_path / "cache")
    assert again.from_cache and again.path == result.path


def test_no_scenes_in_date_range(demo_catalog, tmp_path):
    server, scene, _ = demo_catalog
    with pytest.raises(SatSegError, match="no Sentinel-2 L2A scenes .* between 2023-01-01 and 2023-01-31"):
        fetch_imagery(_request(server, scene, start="2023-01-01", end="2023-01-31"), tmp_path / "cache")


def test_cloud_filter_removes_every_scene(demo_catalog, tmp_path):
    server, scene, _ = demo_catalog
    with pytest.raises(SatSegError, match=r"cloud cover <= 5 % \(0 found before filtering\)"):
        fetch_imagery(_request(server, scene, max_cloud=5), tmp_path / "cache")
    assert server.searches[-1]["query"] == {"eo:cloud_cover": {"lte": 5}}  # filtered by the server


def test_offline_stac_fails_fast(tmp_path):
    import socket
    import time

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    roi = {"type": "Polygon", "coordinates": [[[77.0, 28.5], [77.02, 28.5], [77.02, 28.52], [77.0, 28.5]]]}
    req = FetchRequest(source="stac", roi=roi,
                       start="2024-03-01", end="2024-03-31", bands=BANDS, stac_url=f"http://127.0.0.1:{port}")
    t0 = time.monotonic()
    with pytest.raises(SatSegError, match="offline: cannot reach 127.0.0.1"):
        fetch_imagery(req, tmp_path / "cache")
    assert time.monotonic() - t0 < 5


# --- the real 29RKH scene (shared data) -------------------------------------

@pytest.fixture()
def rkh_catalog(tmp_path, shared_scene):
    """The real 29RKH COGs behind a local STAC server (skips without the optional shared data)."""
    item = json.loads((shared_scene / "S2A_29RKH_20200219_0_L2A.json").read_text())
    files_dir = tmp_path / "files"
    files_dir.mkdir()
    server = StacServer(files_dir)
    arrays = {}
    # The shared files are decimated x10; re-label their pixels at the native size
    # (same origin, same UTM zone) so the fetch reads them on a true Sentinel-2 grid.
    for band, fname in {"B4": "B04", "B3": "B03", "B2": "B02", "B8": "B08", "B11": "B11", "SCL": "SCL"}.items():
        with rasterio.open(shared_scene / f"{fname}.tif") as src:
            arr = src.read(1)
            t = src.transform
            native = 20 if band in ("B11", "SCL") else 10
            transform = Affine(native, 0, t.c, 0, -native, t.f)
            crs = src.crs
        write_cog(files_dir / f"{fname}.tif", arr, transform, crs)
        arrays[band] = (arr, transform)
    for key, asset in item["assets"].items():
        asset["href"] = f"{server.url}/files/{Path(asset['href']).name}"
    item["assets"] = {k: v for k, v in item["assets"].items() if k in ("red", "green", "blue", "nir", "swir16", "scl")}
    server.items.append(item)
    with server:
        yield server, arrays, crs


def test_real_scene_window_reads_equal_source_pixels(rkh_catalog, tmp_path):
    server, arrays, crs = rkh_catalog
    arr, t = arrays["B4"]
    bounds = (t.c + 2000, t.f - 7000, t.c + 5000, t.f - 4000)  # 3 x 3 km inside the 10.98 km tile
    roi = mapping(transform_geometry(box(*bounds), crs, WGS84))
    req = FetchRequest(source="stac", roi=roi, start="2020-02-01", end="2020-02-29", bands=["B4", "B3", "B2", "B8"],
                       scale=10, composite="least_cloudy", stac_url=server.url, tile_size=128)
    result = fetch_imagery(req, tmp_path / "cache")
    assert result.scenes == ["S2A_29RKH_20200219_0_L2A"] and str(result.crs) == "EPSG:32629"
    with open_image(result.path) as src:
        r = src.read()
    inside = ~r.nodata_mask
    assert inside.mean() > 0.9
    for i, band in enumerate(["B4", "B3", "B2", "B8"]):
        a, at = arrays[band]
        exp = expected_on_grid(a, at, result.transform, result.height, result.width).astype(np.float64)
        np.testing.assert_allclose(r.data[i][inside], exp[inside] / 10000, atol=1e-7)
    # Only the ROI window was read, not whole files.
    whole = (server.root / "B04.tif").stat().st_size
    assert 0 < server.bytes_served.get("B04.tif", 0) < whole


def test_real_scene_median_masks_scl_clouds(rkh_catalog, tmp_path):
    server, arrays, crs = rkh_catalog
    scl, st = arrays["SCL"]
    b11, _ = arrays["B11"]
    # An ROI over the cloudiest 3 x 3 km of the scene so the SCL mask has work to do.
    masked = np.isin(scl, [0, 1, 3, 8, 9, 10]).astype(float)
    k = 150
    win = np.lib.stride_tricks.sliding_window_view(masked, (k, k))[::15, ::15].mean(axis=(2, 3))
    r0, c0 = np.unravel_index(np.argmax(win), win.shape)
    r0, c0 = r0 * 15, c0 * 15
    x0, y0 = st @ (c0, r0)
    roi = mapping(transform_geometry(box(x0 + 100, y0 - 20 * k + 100, x0 + 20 * k - 100, y0 - 100), crs, WGS84))
    req = FetchRequest(source="stac", roi=roi, start="2020-02-19", end="2020-02-19", bands=["B11"], scale=20,
                       composite="median", stac_url=server.url, tile_size=256)
    result = fetch_imagery(req, tmp_path / "cache")
    exp_scl = expected_on_grid(scl, st, result.transform, result.height, result.width)
    exp_b11 = expected_on_grid(b11, st, result.transform, result.height, result.width).astype(float)
    with open_image(result.path) as src:
        r = src.read()
    roi_in = ~parse_roi(roi).mask(parse_roi(roi).grid(20))
    cloudy = np.isin(exp_scl, [0, 1, 3, 8, 9, 10]) & roi_in
    clear = ~np.isin(exp_scl, [0, 1, 3, 8, 9, 10]) & roi_in & (exp_b11 > 0)
    assert cloudy.sum() > 0 and clear.sum() > 0
    assert r.nodata_mask[cloudy].all()
    np.testing.assert_allclose(r.data[0][clear], exp_b11[clear] / 10000, atol=1e-7)


def test_class_samples_work_on_the_cached_composite_offline(demo_catalog, tmp_path):
    """After the fetch the server is gone; sampling the cached GeoTIFF needs no network."""
    from desktop_app.core.samples import collect_training, samples_from_geojson

    server, scene, truth = demo_catalog
    req = _request(server, scene, composite="least_cloudy")  # scene A = the demo scene's own DN
    result = fetch_imagery(req, tmp_path / "cache")
    server.__exit__(None, None, None)  # offline from here on
    roi = parse_roi(req.roi).geometry
    fc = dict(scene.samples)
    fc["features"] = [f for f in fc["features"] if roi.contains(shape(f["geometry"]))]
    samples = samples_from_geojson(fc)
    assert len(samples.classes) >= 3
    with open_image(result.path) as src:
        cached = collect_training(src, samples, bands=BANDS)
    reference = collect_training(scene.image, samples, bands=BANDS)
    assert cached.pixels_per_class == reference.pixels_per_class and cached.X.shape[0] > 100
    for c in samples.classes:
        np.testing.assert_allclose(cached.X[cached.y == c.id].mean(axis=0),
                                   reference.X[reference.y == c.id].mean(axis=0), atol=1e-4)


def test_scene_from_the_neighbouring_utm_zone_is_warped_onto_the_roi_grid(tmp_path):
    """An ROI near a zone boundary gets its centre's zone; scenes stored in the next zone are reprojected."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    scene = make_demo_scene(size=256)
    img = scene.image
    dn = np.rint(img.data[img.band_names.index("B4")] * 10000).clip(1, 65535).astype(np.uint16)
    other = rasterio.crs.CRS.from_epsg(img.crs.to_epsg() + 1)  # the next UTM zone east
    t2, w2, h2 = calculate_default_transform(img.crs, other, img.width, img.height, *img.bounds, resolution=10)
    warped = np.zeros((h2, w2), np.uint16)
    reproject(dn, warped, src_transform=img.transform, src_crs=img.crs, dst_transform=t2, dst_crs=other,
              src_nodata=0, dst_nodata=0, resampling=Resampling.nearest)
    files_dir = tmp_path / "files"
    files_dir.mkdir()
    write_cog(files_dir / "B4.tif", warped, t2, other)
    server = StacServer(files_dir)
    from rasterio.transform import array_bounds

    server.items.append(stac_item(server, "S2_OTHER_ZONE", "2024-03-05T05:40:00Z", 1.0, {"B4": "B4.tif"},
                                  array_bounds(h2, w2, t2), other))
    with server:
        req = FetchRequest(source="stac", roi=roi_inside(img.bounds, img.crs), start="2024-03-01", end="2024-03-31",
                           bands=["B4"], scale=10, composite="least_cloudy", stac_url=server.url)
        result = fetch_imagery(req, tmp_path / "cache")
    assert result.crs == img.crs  # the ROI's own zone, not the scene's
    with open_image(result.path) as src:
        r = src.read()
    exp = expected_on_grid(dn, img.transform, result.transform, result.height, result.width)
    inside = ~r.nodata_mask
    assert inside.mean() > 0.9
    got = np.rint(r.data[0][inside] * 10000)
    # Two nearest-neighbour warps: most pixels come back exactly, the rest are a neighbour's value.
    assert (got == exp[inside]).mean() > 0.9
    assert np.corrcoef(got, exp[inside])[0, 1] > 0.95


def test_missing_cog_is_named_and_finished_tiles_stay(demo_catalog, tmp_path):
    server, scene, _ = demo_catalog
    (server.root / "A_B8.tif").unlink()
    with pytest.raises(SatSegError, match=r"cannot read B8 from http://127\.0\.0\.1:\d+/files/A_B8\.tif"):
        fetch_imagery(_request(server, scene, composite="least_cloudy", workers=1), tmp_path / "cache")


def test_antimeridian_roi_is_searched_as_a_split_multipolygon(tmp_path):
    server = StacServer(tmp_path)
    roi = {"type": "Polygon", "coordinates": [[[179.9, -17.0], [-179.9, -17.0], [-179.9, -16.8], [179.9, -16.8],
                                               [179.9, -17.0]]]}
    with server:
        req = FetchRequest(source="stac", roi=roi, start="2024-03-01", end="2024-03-31", bands=["B4"],
                           stac_url=server.url)
        with pytest.raises(SatSegError, match="no Sentinel-2 L2A scenes"):
            fetch_imagery(req, tmp_path / "cache")
    body = [json.loads(b) for m, p, b in server.log if m == "POST"][0]
    g = shape(body["intersects"])
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2
    w, s, e, n = g.bounds
    assert (w, e) == (-180.0, 180.0) and g.area < 0.05  # two slivers, not a band around the planet


def test_everything_clouded_is_an_error_not_an_empty_image(demo_catalog, tmp_path):
    server, scene, _ = demo_catalog
    for sid in "ABC":
        with rasterio.open(server.root / f"{sid}_SCL.tif") as src:
            t, crs, shape_ = src.transform, src.crs, src.shape
        write_cog(server.root / f"{sid}_SCL.tif", np.full(shape_, 9, np.uint8), t, crs)
    with pytest.raises(SatSegError, match="no cloud-free pixels in the ROI between 2024-03-01 and 2024-03-31"):
        fetch_imagery(_request(server, scene), tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.tif"))


def test_a_503_from_the_file_server_is_retried(demo_catalog, tmp_path):
    server, scene, truth = demo_catalog
    server.fail_once["A_B4.tif"] = 503
    result = fetch_imagery(_request(server, scene, composite="least_cloudy", workers=1), tmp_path / "cache")
    assert "A_B4.tif" not in server.fail_once  # the failure was served, then retried
    a, _ = truth["A"]
    exp = expected_on_grid(a, scene.image.transform, result.transform, result.height, result.width)
    with open_image(result.path) as src:
        r = src.read()
    inside = ~r.nodata_mask
    np.testing.assert_allclose(r.data[:, inside], exp[:, inside] / 10000, atol=1e-7)


# --- Collection 1, the offset rule, search paging, per-tile choice, stalls ----------

def _add_scene(server, scene, dn, sid, when, cloud, *, stored_add=0, props=None, collection="sentinel-2-c1-l2a",
               tile="43QGU", keep_cols=None, raster_offset=None):
    """COGs of the demo DN (+ ``stored_add`` as the archive stores it) and their item; SCL all clear.

    ``keep_cols`` = (lo, hi) keeps only those columns (0 = no data elsewhere),
    like a scene of one grid tile covering part of the ROI.
    """
    img = scene.image
    files = {}
    for band in BANDS:
        arr = dn[img.band_names.index(band)].astype(np.int32) + stored_add
        if keep_cols is not None:
            arr[:, :keep_cols[0]] = 0
            arr[:, keep_cols[1]:] = 0
        write_cog(server.root / f"{sid}_{band}.tif", arr.clip(0, 65535).astype(np.uint16), img.transform, img.crs)
        files[band] = f"{sid}_{band}.tif"
    write_cog(server.root / f"{sid}_SCL.tif", np.full(img.shape, 4, np.uint8), img.transform, img.crs)
    files["SCL"] = f"{sid}_SCL.tif"
    item = stac_item(server, sid, when, cloud, files, img.bounds, img.crs,
                     dn_offset=-1000 if raster_offset is None else raster_offset, collection=collection,
                     props=dict({"grid:code": f"MGRS-{tile}"}, **(props or {})))
    server.items.append(item)
    return item


@pytest.fixture()
def empty_catalog(tmp_path):
    scene = make_demo_scene(size=256)
    dn = np.rint(scene.image.data * 10000).clip(1, 65535).astype(np.uint16)
    (tmp_path / "files").mkdir()
    with StacServer(tmp_path / "files") as server:
        yield server, scene, dn


def test_offset_rule_uses_boa_offset_applied_and_processing_baseline():
    from desktop_app.core.online.stac import dn_offset

    wrong = {"raster:bands": [{"scale": 0.0001, "offset": -0.1}]}   # as on the items of Earth Search #66/#71
    assert dn_offset({"earthsearch:boa_offset_applied": True, "s2:processing_baseline": "04.00"}, wrong) == 0
    assert dn_offset({"earthsearch:boa_offset_applied": False, "s2:processing_baseline": "05.10"}, wrong) == -1000
    assert dn_offset({"s2:processing_baseline": "04.00"}, {}) == -1000    # no raster:bands needed either
    assert dn_offset({"earthsearch:boa_offset_applied": False, "s2:processing_baseline": "03.01"}, wrong) == 0
    assert dn_offset({}, wrong) == -1000 and dn_offset({}, {}) == 0      # another catalogue: raster:bands


@pytest.mark.parametrize("case, stored_add, props", [
    ("offset applied", 0, {"earthsearch:boa_offset_applied": True, "s2:processing_baseline": "04.00"}),
    ("offset needed", 1000, {"earthsearch:boa_offset_applied": False, "s2:processing_baseline": "05.10"}),
    ("old baseline", 0, {"earthsearch:boa_offset_applied": False, "s2:processing_baseline": "03.01"}),
])
def test_three_offset_cases_give_the_same_harmonised_pixels(empty_catalog, tmp_path, case, stored_add, props):
    """Every item says raster:bands offset -0.1; only the properties tell the three archives apart."""
    server, scene, dn = empty_catalog
    dn = dn.copy()
    k = scene.image.band_names.index("B8")
    dn[k, 100, 100] = 1          # clear water: 0 reflectance after the offset in the "needed" case
    _add_scene(server, scene, dn, "S2_CASE", "2024-03-10T05:40:00Z", 5.0, stored_add=stored_add, props=props,
               collection="sentinel-2-l2a")
    if stored_add:
        # the darkest water the archive can hold: DN 1000 = reflectance 0 (a 0 band would be no data)
        with rasterio.open(server.root / "S2_CASE_B8.tif") as src:
            arr = src.read(1)
            arr[100, 100] = 1000
            write_cog(server.root / "S2_CASE_B8.tif", arr, src.transform, src.crs)
    result = fetch_imagery(_request(server, scene, composite="least_cloudy"), tmp_path / "cache")
    truth = dn.astype(np.float64)[[scene.image.band_names.index(b) for b in BANDS]]
    if stored_add:
        truth[BANDS.index("B8"), 100, 100] = 1   # kept at 1 DN, not no data
    exp = expected_on_grid(truth, scene.image.transform, result.transform, result.height, result.width)
    with open_image(result.path) as src:
        r = src.read()
    inside = ~r.nodata_mask
    assert inside.mean() > 0.9, case
    np.testing.assert_allclose(r.data[:, inside], exp[:, inside] / 10000, atol=1e-7, err_msg=case)
    col, row = ~result.transform @ scene.image.transform @ (100.5, 100.5)
    assert not r.nodata_mask[int(row), int(col)] and r.data[BANDS.index("B8"), int(row), int(col)] == \
        pytest.approx(1e-4)


def test_collection_1_first_the_older_collection_only_fills_its_gaps(empty_catalog, tmp_path):
    server, scene, dn = empty_catalog
    needed = {"s2:processing_baseline": "05.10"}
    _add_scene(server, scene, dn, "C1_0305", "2024-03-05T05:40:10Z", 10.0, stored_add=1000, props=needed)
    _add_scene(server, scene, dn, "L2A_0305", "2024-03-05T05:40:00Z", 9.0, stored_add=1000,
               props={"s2:processing_baseline": "05.10"}, collection="sentinel-2-l2a")      # the same acquisition
    _add_scene(server, scene, dn, "L2A_0315", "2024-03-15T05:40:00Z", 20.0, stored_add=1000,
               props={"s2:processing_baseline": "05.10"}, collection="sentinel-2-l2a")      # a gap in C1
    result = fetch_imagery(_request(server, scene), tmp_path / "cache")
    assert result.scenes == ["C1_0305", "L2A_0315"]
    assert result.tags["SATSEG_COLLECTION"] == "sentinel-2-c1-l2a,sentinel-2-l2a"
    assert server.searches[0]["collections"] == ["sentinel-2-c1-l2a", "sentinel-2-l2a"]
    exp = expected_on_grid(dn[[scene.image.band_names.index(b) for b in BANDS]].astype(float),
                           scene.image.transform, result.transform, result.height, result.width)
    with open_image(result.path) as src:
        r = src.read()
    inside = ~r.nodata_mask
    np.testing.assert_allclose(r.data[:, inside], exp[:, inside] / 10000, atol=1e-7)


def test_search_pages_of_100_filtered_sorted_by_the_server_and_balanced_per_tile(empty_catalog):
    """150 clear scenes of one tile and 5 cloudier ones of its neighbour: both tiles make the median."""
    import datetime as dt

    from desktop_app.core.online import stac

    server, scene, dn = empty_catalog
    files = {b: "none.tif" for b in BANDS + ["SCL"]}
    for i in range(150):
        server.items.append(stac_item(server, f"A{i:03d}", "2024-03-05T05:40:00Z", 1 + i * 0.1, files,
                                      scene.image.bounds, scene.image.crs, props={"grid:code": "MGRS-43QGU"}))
    for i in range(5):
        server.items.append(stac_item(server, f"B{i}", "2024-03-06T05:40:00Z", 30.0 + i, files,
                                      scene.image.bounds, scene.image.crs, props={"grid:code": "MGRS-43QHU"}))
    server.items.append(stac_item(server, "CLOUDY", "2024-03-07T05:40:00Z", 80.0, files, scene.image.bounds,
                                  scene.image.crs))
    roi = parse_roi(roi_inside(scene.image.bounds, scene.image.crs))
    scenes = stac.search_scenes(roi, dt.date(2024, 3, 1), dt.date(2024, 3, 31), BANDS, "median", 60, server.url)
    body = server.searches[0]
    assert body["limit"] >= 100 and body["query"] == {"eo:cloud_cover": {"lte": 60}}
    assert body["sortby"] == [{"field": "properties.eo:cloud_cover", "direction": "asc"}]
    assert len(server.searches) == 2                        # 155 items: two pages, not sixteen
    ids = [s.id for s in scenes]
    assert ids == [f"A{i:03d}" for i in range(stac.MAX_MEDIAN_SCENES)] + [f"B{i}" for i in range(5)]
    least = stac.search_scenes(roi, dt.date(2024, 3, 1), dt.date(2024, 3, 31), BANDS, "least_cloudy", 60, server.url)
    assert [s.id for s in least] == ["A000", "B0"]


def test_least_cloudy_mosaics_the_clearest_scene_of_each_grid_tile(empty_catalog, tmp_path):
    """An ROI across two grid tiles: each half comes from its own tile's clearest scene, no hole."""
    server, scene, dn = empty_catalog
    _add_scene(server, scene, dn, "WEST", "2024-03-05T05:40:00Z", 3.0, stored_add=1000,
               props={"s2:processing_baseline": "05.10"}, tile="43QGU", keep_cols=(0, 128))
    _add_scene(server, scene, dn, "EAST", "2024-03-09T05:40:00Z", 20.0, stored_add=1000,
               props={"s2:processing_baseline": "05.10"}, tile="43QHU", keep_cols=(128, 256))
    _add_scene(server, scene, dn, "WEST2", "2024-03-20T05:40:00Z", 9.0, stored_add=1500,   # not the clearest
               props={"s2:processing_baseline": "05.10"}, tile="43QGU")
    result = fetch_imagery(_request(server, scene, composite="least_cloudy"), tmp_path / "cache")
    assert result.scenes == ["WEST", "EAST"]
    exp = expected_on_grid(dn[[scene.image.band_names.index(b) for b in BANDS]].astype(float),
                           scene.image.transform, result.transform, result.height, result.width)
    with open_image(result.path) as src:
        r = src.read()
        assert json.loads(src.metadata["SATSEG_SCENES"]) == ["WEST", "EAST"]
    roi = parse_roi(_request(server, scene).roi)
    inside = ~roi.mask(roi.grid(10))
    assert not r.nodata_mask[inside].any()                  # both halves are there
    np.testing.assert_allclose(r.data[:, inside], exp[:, inside] / 10000, atol=1e-7)


def test_a_silent_stac_server_times_out_with_a_clear_message(tmp_path):
    import time

    from netfaults import SilentServer

    roi = {"type": "Polygon", "coordinates": [[[77.0, 28.5], [77.02, 28.5], [77.02, 28.52], [77.0, 28.5]]]}
    with SilentServer() as silent:
        req = FetchRequest(source="stac", roi=roi, start="2024-03-01", end="2024-03-31", bands=BANDS,
                           stac_url=silent.url, timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(SatSegError, match=r"STAC catalogue at http://127.0.0.1:\d+ did not answer within 0.5 s"
                                              r"; try again later$") as err:
            fetch_imagery(req, tmp_path / "cache")
        # The window has no timeout setting; the command line names the flag.
        assert cli_text(err.value).endswith("; try again later (or raise --timeout)") and "--" not in str(err.value)
        assert time.monotonic() - t0 < 4
        assert silent.accepted == 3   # the connectivity check, then the landing page tried twice


def _stalled_cog_catalog(server, stall, scene):
    files = {b: f"{b}.tif" for b in BANDS + ["SCL"]}
    item = stac_item(server, "STALLED", "2024-03-05T05:40:00Z", 5.0, files, scene.image.bounds, scene.image.crs)
    for asset in item["assets"].values():
        asset["href"] = asset["href"].replace(server.url, stall.url)
    server.items.append(item)


def test_a_503_from_the_catalogue_is_retried(demo_catalog, tmp_path):
    from desktop_app.core.online.tile_runner import Backoff

    server, scene, _ = demo_catalog
    server.search_failures[:] = [503, 502]
    result = fetch_imagery(_request(server, scene, composite="least_cloudy"), tmp_path / "cache",
                           backoff=Backoff(attempts=3, base=0.01))
    assert result.scenes == ["S2_DEMO_A"] and server.search_failures == []
    server.search_failures[:] = [503] * 3
    with pytest.raises(SatSegError, match=r"STAC search at http://127.0.0.1:\d+ failed.*503"):
        fetch_imagery(_request(server, scene, composite="least_cloudy", start="2024-03-02"), tmp_path / "cache",
                      backoff=Backoff(attempts=3, base=0.01))


def test_a_silent_file_server_times_out_with_a_clear_message(empty_catalog, tmp_path):
    import time

    from desktop_app.core.online.tile_runner import Backoff
    from netfaults import StallingHttpServer

    server, scene, _ = empty_catalog
    with StallingHttpServer({}) as stall:
        _stalled_cog_catalog(server, stall, scene)
        t0 = time.monotonic()
        with pytest.raises(SatSegError, match=r"file server did not answer within 1 s while reading B4 from "
                                              r"http://127\.0\.0\.1:\d+/files/B4\.tif.*cached"):
            fetch_imagery(_request(server, scene, composite="least_cloudy", timeout=1, workers=1),
                          tmp_path / "cache", backoff=Backoff(attempts=2, base=0.1))
        assert time.monotonic() - t0 < 8 and stall.held


def test_cancel_during_a_stalled_cog_read_returns_in_seconds(empty_catalog, tmp_path):
    import threading
    import time

    from netfaults import StallingHttpServer

    server, scene, _ = empty_catalog
    with StallingHttpServer({}) as stall:
        _stalled_cog_catalog(server, stall, scene)
        job, when = Job(), {}

        def cancel_mid_read():   # Cancel once a COG read is really stalled, however slow the start was
            if stall.holding.wait(60):
                when["cancel"] = time.monotonic()
                job.cancel()

        canceller = threading.Thread(target=cancel_mid_read, daemon=True)
        canceller.start()
        with pytest.raises(Cancelled):
            fetch_imagery(_request(server, scene, composite="least_cloudy"), tmp_path / "cache", job)  # 30 s deadline
        assert stall.held and time.monotonic() - when["cancel"] < 4
