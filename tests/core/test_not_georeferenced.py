"""A GeoTIFF without georeferencing gets SatSeg's one-line message and no rasterio warning, and opening
it never swaps the process-wide warning filters (warnings.catch_warnings is not thread-safe:
docs/performance.md "rasterio on worker threads")."""
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from desktop_app.core.errors import SatSegError
from desktop_app.core.sources.geotiff_source import NOT_GEOREFERENCED_READ, GeoTiffSource, quiet_not_georeferenced_reads

MESSAGE = "has no coordinate reference system or geotransform (not a georeferenced image, or the file is truncated)"


def _write_without_georeferencing(path) -> list:
    """Write a 4 x 4 GeoTIFF with no transform or CRS; the warnings that raised."""
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        quiet_not_georeferenced_reads()
        with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint16") as ds:
            ds.write(np.full((1, 4, 4), 500, np.uint16))
    return [w for w in log if issubclass(w.category, NotGeoreferencedWarning)]


def test_the_filter_is_for_the_line_that_reads(tmp_path):
    # rasterio.open reads and writes on different lines: the filter names the reading one only,
    # so a dataset written without a transform still warns (the mistake stays visible).
    assert NOT_GEOREFERENCED_READ["lineno"] > 0
    assert len(_write_without_georeferencing(tmp_path / "x.tif")) == 1


def test_opening_it_gives_our_message_no_warning_and_leaves_the_filters_alone(tmp_path, monkeypatch):
    path = tmp_path / "plain.tif"
    _write_without_georeferencing(path)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")   # every warning shows, except what the module's filter hides
        quiet_not_georeferenced_reads()
        filters = list(warnings.filters)

        def swap(*args, **kwargs):
            raise AssertionError("catch_warnings swaps the process-wide filters")

        monkeypatch.setattr(warnings, "catch_warnings", swap)
        try:
            with pytest.raises(SatSegError) as err:
                GeoTiffSource(path)
            # the same from two threads at once: each gets the message, none a warning
            errors = []

            def open_it():
                for _ in range(20):
                    try:
                        GeoTiffSource(path)
                    except SatSegError as exc:
                        errors.append(str(exc))

            threads = [threading.Thread(target=open_it) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            monkeypatch.undo()
        assert warnings.filters == filters
    assert str(err.value) == f"{path} {MESSAGE}"
    assert errors == [f"{path} {MESSAGE}"] * 40
    assert [w for w in log if issubclass(w.category, NotGeoreferencedWarning)] == []


def test_satseg_info_says_it_in_one_line(tmp_path):
    # A real process: the filter installed at import, as for a user.
    path = tmp_path / "plain.tif"
    _write_without_georeferencing(path)
    out = subprocess.run([sys.executable, "-m", "desktop_app.cli", "info", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"satseg: error: {path} {MESSAGE}"], out.stderr


def test_importing_the_source_module_installs_it():
    code = ("import warnings; from desktop_app.core.sources import geotiff_source as g; "
            "f = g.NOT_GEOREFERENCED_READ; "
            "print(any(x[0] == 'ignore' and x[3] is not None and x[3].pattern == f['module'] "
            "and x[4] == f['lineno'] for x in warnings.filters))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
