"""Before Qt starts on X11: name the Debian packages its xcb plugin is missing.

When a shared library of the xcb platform plugin is absent, Qt prints a long
plugin message and aborts inside QApplication, where Python cannot catch it.
So the app asks the dynamic loader first (``ldd`` on the plugin) and, if
something is missing, says which packages to install in one line.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

# Sonames whose Debian package name does not follow the usual "libname<version>" rule.
_PACKAGE_EXCEPTIONS = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0"}
# The ones Qt 6 needs that a minimal desktop install most often lacks (named in the README too).
COMMON_PACKAGES = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1")


def debian_package(soname: str) -> str:
    """'libxcb-cursor.so.0' -> 'libxcb-cursor0'; 'libxkbcommon-x11.so.0' -> 'libxkbcommon-x11-0'."""
    if soname in _PACKAGE_EXCEPTIONS:
        return _PACKAGE_EXCEPTIONS[soname]
    name, _, version = soname.partition(".so.")
    name = name.lower()
    if not version:
        return name
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_sonames(ldd_output: str) -> list[str]:
    """Sonames that ``ldd`` reports as 'not found', in order, without repeats."""
    out: list[str] = []
    for line in ldd_output.splitlines():
        if "=> not found" in line:
            so = line.split("=>")[0].strip()
            if so not in out:
                out.append(so)
    return out


def missing_message(sonames: list[str]) -> str:
    packages = sorted({debian_package(s) for s in sonames})
    return (f"Qt cannot use the X11 display: missing {', '.join(sonames)}. On Debian/Ubuntu install them with "
            f"'sudo apt install {' '.join(packages)}' (Qt 6 needs {' '.join(COMMON_PACKAGES)}).")


def _xcb_plugin() -> Optional[Path]:
    import PySide6

    p = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return p if p.exists() else None


def check_xcb() -> Optional[str]:
    """A one-line message when Qt would start on X11 and its xcb plugin cannot load; else None."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")) \
            or not os.environ.get("DISPLAY") or (not platform and os.environ.get("WAYLAND_DISPLAY")):
        return None
    plugin = _xcb_plugin()
    if plugin is None:
        return None
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None   # no ldd: let Qt try and report for itself
    missing = missing_sonames(out)
    return missing_message(missing) if missing else None
