"""The xcb check names the Debian packages that are missing (parsed from real ldd output)."""
from desktop_app.ui.qt_platform import debian_package, missing_message, missing_sonames

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f0a)
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => not found
\tlibX11-xcb.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f0a)
"""


def test_missing_libraries_become_debian_package_names():
    missing = missing_sonames(LDD)
    assert missing == ["libxkbcommon-x11.so.0", "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                       "libX11-xcb.so.1"]
    assert [debian_package(s) for s in missing] == ["libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4",
                                                    "libxcb-keysyms1", "libx11-xcb1"]
    msg = missing_message(missing)
    assert "sudo apt install libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0" in msg
    assert "\n" not in msg


def test_nothing_missing():
    assert missing_sonames("\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n") == []
