"""The app's QSettings, kept as an INI file in the user's SatSeg data folder (docs/data-folder.md)."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from ..core.paths import settings_file


def user_settings() -> QSettings:
    """Window layout, dialog choices and the Earth Engine account, in ``settings_file()``."""
    return QSettings(str(settings_file()), QSettings.Format.IniFormat)
