"""The one per-user SatSeg data folder, and the named places inside it.

Everything SatSeg keeps for a user between runs lives under :func:`data_home`:
projects (the default place to save one), the imagery cache, imported models
(SAM checkpoints), the autosave of an untitled session and the app settings.
``SATSEG_HOME`` overrides the folder (tests, portable installs); otherwise
platformdirs picks the platform's user data folder (``~/.local/share/SatSeg``
on Linux, ``%LOCALAPPDATA%\\SatSeg`` on Windows, ``~/Library/Application
Support/SatSeg`` on macOS). See docs/data-folder.md.

Functions only name paths; they create nothing, so asking for a path never
writes to the disk. Callers create a folder when they first write into it.
"""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "SatSeg"
HOME_ENV = "SATSEG_HOME"


def data_home() -> Path:
    """The user's SatSeg folder: ``$SATSEG_HOME`` if set, else the platform's user data folder."""
    override = os.environ.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    # appauthor=False: no "SatSeg\SatSeg" nesting on Windows.
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))


def projects_dir() -> Path:
    """Default folder offered for new projects."""
    return data_home() / "projects"


def cache_dir() -> Path:
    """Per-user imagery tile cache (used when no project folder is given)."""
    return data_home() / "imagery-cache"


def models_dir() -> Path:
    """Imported model files (e.g. SAM checkpoints); never downloaded by the app."""
    return data_home() / "models"


def autosave_dir() -> Path:
    """Where an untitled (never saved) session autosaves."""
    return data_home() / "autosave"


def settings_file() -> Path:
    """The app's settings (window layout, dialog choices, Earth Engine account) as an INI file."""
    return data_home() / "settings.ini"
