"""Versions and licences of the components SatSeg is built from (Help ▸ About, LICENSES/).

The installers carry a ``LICENSES/`` folder next to the programs with the
licence texts each component ships and a ``components.json`` index; the
build writes both with :func:`write_licenses` and the About dialog reads the
index back with :func:`bundled_components`. From a checkout the same list is
read live from the installed distributions and ``resources/web/node_modules``.
See docs/packaging.md.
"""
from __future__ import annotations

import importlib.metadata as md
import json
import re
import sys
from pathlib import Path
from typing import Iterable, Optional

from . import atomic

INDEX_NAME = "components.json"
# Licence files as wheels and npm packages ship them (dist-info/licenses/…, LICENSE, COPYING, NOTICE, AUTHORS).
_LICENCE_FILE = re.compile(r"(^|/)(licen[cs]es?/|(licen[cs]e|copying|notice|authors)[^/]*$)", re.IGNORECASE)
_NOT_TEXT = (".py", ".pyc", ".pyi", ".so", ".pyd", ".dll", ".dylib")
# Distributions that build the installers but are not part of them.
BUILD_ONLY = {"pip", "setuptools", "wheel", "pyinstaller", "pyinstaller-hooks-contrib", "altgraph",
              "packaging", "torchvision"}


def app_root() -> Path:
    """Folder of the programs in an installed bundle; the checkout root otherwise."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parents[2]


def licenses_dir() -> Path:
    return app_root() / "LICENSES"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_version(name: str) -> Optional[str]:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _dist_licence(dist: md.Distribution) -> str:
    meta = dist.metadata
    expr = meta.get("License-Expression")
    if expr:
        return expr
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::") and c.strip() != "License :: OSI Approved"]
    # A "License:" field is often the whole licence text: keep it only when it is a name.
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 60:
        return text
    return ", ".join(classifiers) or "see licence files"


def python_components(skip: Iterable[str] = BUILD_ONLY) -> list[dict]:
    """Every installed distribution: name, version, licence, its licence files (absolute paths)."""
    skip = {_norm(s) for s in skip}
    out: dict[str, dict] = {}
    for dist in md.distributions():
        name = dist.metadata.get("Name")
        if not name or _norm(name) in skip or _norm(name) in out:
            continue
        files = [Path(dist.locate_file(f)) for f in (dist.files or [])
                 if _LICENCE_FILE.search(str(f)) and not str(f).endswith(_NOT_TEXT)]
        out[_norm(name)] = {"name": name, "version": dist.version, "license": _dist_licence(dist),
                            "kind": "python", "root": str(dist.locate_file("")),
                            "files": [str(f) for f in files if f.is_file()]}
    return sorted(out.values(), key=lambda c: c["name"].lower())


def web_components(node_modules: Path) -> list[dict]:
    """The npm packages of the map page (Leaflet, Leaflet-Geoman and what Geoman bundles)."""
    out = []
    for pkg_json in sorted(node_modules.glob("*/package.json")) + sorted(node_modules.glob("@*/*/package.json")):
        pkg = json.loads(pkg_json.read_text(encoding="utf-8"))
        files = [p for p in sorted(pkg_json.parent.iterdir()) if p.is_file() and _LICENCE_FILE.search(p.name)]
        out.append({"name": pkg.get("name", pkg_json.parent.name), "version": pkg.get("version", "?"),
                    "license": pkg.get("license") or "see licence files", "kind": "web",
                    "root": str(pkg_json.parent), "files": [str(f) for f in files]})
    return out


def write_licenses(dest: Path, components: list[dict]) -> Path:
    """Copy each component's licence texts to ``dest/<name>/`` and write ``dest/components.json``."""
    index = []
    for comp in components:
        folder = re.sub(r"[^A-Za-z0-9._-]+", "_", comp["name"]).strip("_")
        names = []
        for src in comp["files"]:
            src = Path(src)
            # the path inside the package (two files of one name stay apart), without the
            # dist-info/licenses/ prefix wheels put before the texts of their bundled libraries
            try:
                rel = src.relative_to(comp["root"]) if comp.get("root") else Path(src.name)
            except ValueError:   # a file the wheel installs outside its own folder
                rel = Path(src.name)
            parts = [q for q in rel.parts if not q.endswith(".dist-info")]
            if parts and parts[0].lower() in ("licenses", "licences") and len(parts) > 1:
                parts = parts[1:]
            rel = Path(*parts)
            target = dest / folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes_atomic(target, src.read_bytes())
            names.append(str(Path(folder) / rel))
        index.append({k: comp[k] for k in ("name", "version", "license", "kind")} | {"files": names})
    path = dest / INDEX_NAME
    dest.mkdir(parents=True, exist_ok=True)
    atomic.write_text_atomic(path, json.dumps(index, indent=1) + "\n")
    return path


def bundled_components(folder: Optional[Path] = None) -> Optional[list[dict]]:
    """The index written by the build, or None when running from a checkout."""
    path = (folder or licenses_dir()) / INDEX_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def installed_components() -> list[dict]:
    """What the About dialog lists: the bundle's index, else the live environment."""
    found = bundled_components()
    if found is not None:
        return found
    return python_components() + web_components(app_root() / "resources" / "web" / "node_modules")


def versions() -> dict[str, str]:
    """SatSeg, GDAL, PROJ, torch, sam2 versions (Qt's comes from the UI, which may import Qt)."""
    from .. import __version__

    out = {"SatSeg": __version__}
    try:
        import rasterio

        out["GDAL"] = rasterio.__gdal_version__
    except ImportError:
        out["GDAL"] = "not installed"
    try:
        import pyproj

        out["PROJ"] = pyproj.proj_version_str
    except ImportError:
        out["PROJ"] = "not installed"
    # Metadata, not an import: importing torch takes seconds.
    for label, dist in (("torch", "torch"), ("sam2", "sam2"), ("NumPy", "numpy")):
        out[label] = dist_version(dist) or "not installed"
    return out
