"""Wrap dist/satseg/ (PyInstaller's output) into a versioned .tar.gz and a .deb.

The .deb installs the folder as /opt/satseg, links `satseg` and `satseg-app`
into /usr/bin, and adds a menu entry and icon. Its Depends line lists the
Debian packages of the system libraries the bundle links to, found with ldd
and dpkg -S, so it stays right when the bundle changes. docs/packaging.md.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desktop_app import __version__  # noqa: E402
from desktop_app.core.atomic import atomic_path  # noqa: E402

DIST = ROOT / "dist"
BUNDLE = DIST / "satseg"
ARCH = "amd64"
DEB = DIST / f"satseg_{__version__}_{ARCH}.deb"
TARBALL = DIST / f"satseg-{__version__}-linux-x86_64.tar.gz"
STAGE = ROOT / "build" / "deb-root"


def elf_files(folder: Path):
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    yield path


def system_dependencies(folder: Path) -> list[str]:
    """Debian packages owning the libraries outside the bundle that its programs and libraries load."""
    libs = set()
    for elf in elf_files(folder):
        out = subprocess.run(["ldd", str(elf)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split("=>")
            if len(parts) == 2 and parts[1].strip().startswith("/"):
                lib = parts[1].split()[0]
                if not Path(lib).resolve().is_relative_to(folder.resolve()):
                    libs.add(lib)
    packages = set()
    for lib in sorted(libs):
        found = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
        if found.returncode != 0:   # /usr/lib vs /lib on merged-/usr systems
            found = subprocess.run(["dpkg", "-S", str(Path(lib).resolve())], capture_output=True, text=True)
        if found.returncode == 0:
            packages.add(found.stdout.split(":")[0].strip())
        else:
            print(f"make_installers: {lib} belongs to no Debian package; left out of Depends", file=sys.stderr)
    return sorted(packages)


def write_tarball() -> None:
    with atomic_path(TARBALL) as tmp:
        with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
            tar.add(BUNDLE, arcname=f"satseg-{__version__}")
    print(f"{TARBALL.relative_to(ROOT)}: {TARBALL.stat().st_size / 1e6:.0f} MB")


def write_deb() -> None:
    shutil.rmtree(STAGE, ignore_errors=True)
    opt = STAGE / "opt" / "satseg"
    opt.parent.mkdir(parents=True)
    shutil.copytree(BUNDLE, opt, symlinks=True, copy_function=os.link)   # hard links: no second copy
    usr_bin = STAGE / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    for prog in ("satseg", "satseg-app"):
        (usr_bin / prog).symlink_to(f"/opt/satseg/{prog}")
    apps = STAGE / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copyfile(ROOT / "installer" / "satseg.desktop", apps / "satseg.desktop")
    icons = STAGE / "usr" / "share" / "icons" / "hicolor"
    for sub, name in (("256x256/apps", "satseg.png"), ("scalable/apps", "satseg.svg")):
        (icons / sub).mkdir(parents=True)
        shutil.copyfile(ROOT / "resources" / "icons" / name, icons / sub / name)
    size_kb = sum(p.stat().st_size for p in STAGE.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = STAGE / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"Package: satseg\nVersion: {__version__}\nArchitecture: {ARCH}\nSection: science\nPriority: optional\n"
        f"Maintainer: SatSeg developers <satseg@localhost>\nInstalled-Size: {size_kb}\n"
        f"Depends: {', '.join(system_dependencies(BUNDLE))}\n"
        "Description: land-use / land-cover segmentation of Sentinel-2 imagery\n"
        " Desktop GIS (satseg-app) and batch command (satseg) with their own Python,\n"
        " Qt, GDAL and CPU-only PyTorch; works offline. Installed in /opt/satseg.\n")
    with atomic_path(DEB) as tmp:
        # gzip: every dpkg reads it (zstd needs dpkg >= 1.21.18) and it is several times faster
        # to build than xz on 2 cores; the size target (<= 700 MB) is met (README figures).
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(STAGE), str(tmp)],
                       check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(STAGE)
    print(f"{DEB.relative_to(ROOT)}: {DEB.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    if not (BUNDLE / "satseg").is_file() or not (BUNDLE / "satseg-app").is_file():
        sys.exit(f"make_installers: {BUNDLE} has no satseg / satseg-app; run PyInstaller first")
    write_tarball()
    write_deb()
