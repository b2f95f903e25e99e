"""Shared fixtures. Qt runs offscreen; QtWebEngine needs the sandbox off as root."""
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
# Every test (and every satseg / app process a test starts) uses a private data folder:
# the user's real settings, cache and autosaves are never read or written.
os.environ["SATSEG_HOME"] = tempfile.mkdtemp(prefix="satseg-test-home-")

SHARED_SCENE = Path(__file__).resolve().parents[2] / "shared" / "data" / "s2-l2a-29RKH"


@pytest.fixture(scope="session")
def shared_scene() -> Path:
    """The real decimated Sentinel-2 L2A scene beside the project (optional data)."""
    if not (SHARED_SCENE / "B02.tif").exists():
        pytest.skip(f"optional real Sentinel-2 sample scene not present at {SHARED_SCENE}")
    return SHARED_SCENE


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo scene written once per test session (scene.tif, truth.tif, GeoJSON)."""
    from desktop_app.core.demo_scene import write_demo_scene

    out = tmp_path_factory.mktemp("demo")
    write_demo_scene(out)
    return out
