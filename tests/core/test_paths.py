"""One user data folder (docs/data-folder.md): platformdirs by default, SATSEG_HOME overrides."""
from pathlib import Path

import platformdirs

from desktop_app.core import paths
from desktop_app.core.online.fetch import default_cache_dir
from desktop_app.core.project import user_autosave_dir


def test_everything_lives_in_one_platform_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SATSEG_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))      # platformdirs honours it on Linux
    home = Path(platformdirs.user_data_dir("SatSeg", appauthor=False))
    assert paths.data_home() == home
    if Path(platformdirs.user_data_dir("x")).is_relative_to(tmp_path):   # Linux and other XDG systems
        assert home == tmp_path / "xdg" / "SatSeg"
    # The imagery cache and the untitled autosave share the one folder (they used to be
    # "SatSeg" and "satseg": two folders on Linux).
    for where in (default_cache_dir(), user_autosave_dir(), paths.projects_dir(), paths.models_dir(),
                  paths.settings_file()):
        assert where.parent == home, where
    assert len({default_cache_dir(), user_autosave_dir(), paths.projects_dir(), paths.models_dir()}) == 4


def test_satseg_home_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("SATSEG_HOME", str(tmp_path / "portable"))
    assert default_cache_dir() == tmp_path / "portable" / "imagery-cache"
    assert user_autosave_dir() == tmp_path / "portable" / "autosave"
    assert paths.settings_file() == tmp_path / "portable" / "settings.ini"
    assert not (tmp_path / "portable").exists()        # naming a path writes nothing
