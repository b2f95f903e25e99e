"""Licence texts and versions for Help ▸ About and the installers' LICENSES/ folder."""
import importlib.metadata as md
import json
from pathlib import Path

from desktop_app.core import components

WEB = Path(__file__).resolve().parents[2] / "resources" / "web" / "node_modules"


def test_python_components_carry_each_distributions_own_licence_files():
    found = {c["name"].lower(): c for c in components.python_components()}
    numpy = found["numpy"]
    assert numpy["version"] == md.version("numpy")
    # numpy's wheel ships its licence texts under dist-info/licenses (or LICENSE.txt): read them independently
    shipped = [f for f in md.distribution("numpy").files if "licen" in str(f).lower()]
    assert shipped and len(numpy["files"]) == len([f for f in shipped if Path(md.distribution("numpy").locate_file(f)).is_file()])
    assert "pip" not in found and "pyinstaller" not in found   # build tools are not bundled


def test_web_components_read_the_npm_packages():
    found = {c["name"]: c for c in components.web_components(WEB)}
    pkg = json.loads((WEB / "leaflet" / "package.json").read_text())
    assert found["leaflet"]["version"] == pkg["version"] == "1.9.4"
    assert found["leaflet"]["license"] == "BSD-2-Clause"
    assert found["@geoman-io/leaflet-geoman-free"]["license"] == "MIT"
    assert any(f.endswith("LICENSE") for f in found["leaflet"]["files"])


def test_write_licenses_copies_texts_and_the_index_reads_back(tmp_path):
    comps = [c for c in components.web_components(WEB) if c["name"] in ("leaflet", "@geoman-io/leaflet-geoman-free")]
    comps += [c for c in components.python_components() if c["name"].lower() in ("numpy", "rasterio")]
    index = components.write_licenses(tmp_path / "LICENSES", comps)
    back = components.bundled_components(index.parent)
    assert [c["name"] for c in back] == [c["name"] for c in comps]
    for comp, src in zip(back, comps):
        assert comp["files"], comp
        for rel, original in zip(comp["files"], src["files"]):
            assert (tmp_path / "LICENSES" / rel).read_bytes() == Path(original).read_bytes()
    assert not [p for p in (tmp_path / "LICENSES").rglob("*.part")]
    # two files of one name in different folders stay apart (a wheel may list one text twice, in
    # dist-info/licenses/ and beside the code: the same bytes, checked above, kept once)
    copied = [p for p in (tmp_path / "LICENSES").rglob("*") if p.is_file() and p.name != components.INDEX_NAME]
    assert len(copied) == len({rel for c in back for rel in c["files"]})
    assert (tmp_path / "LICENSES" / "rasterio" / "rasterio" / "gdal_data" / "LICENSE.TXT").is_file()   # GDAL's


def test_versions_come_from_the_libraries_themselves():
    import pyproj
    import rasterio

    v = components.versions()
    assert v["GDAL"] == rasterio.__gdal_version__ and v["PROJ"] == pyproj.proj_version_str
    assert v["torch"] == md.version("torch") and v["sam2"] == md.version("sam2") == "1.1.0"


def test_from_a_checkout_there_is_no_bundled_index():
    assert components.bundled_components() is None
    assert {"numpy", "leaflet"} <= {c["name"] for c in components.installed_components()}
