"""Models that come with an installation (make package SAM2_CHECKPOINT=...): listed, used, never removed."""
import json

import pytest

from desktop_app.core import components
from desktop_app.core.errors import SatSegError
from desktop_app.core.sam import models


def _entry(folder, name, sha):
    folder.mkdir(parents=True)
    (folder / models.CHECKPOINT_NAME).write_bytes(b"not really a checkpoint")
    info = {"name": name, "size": "tiny", "version": "sam2.1", "sha256": sha, "bytes": 23,
            "source": "build", "imported_at": "2026-01-01T00:00:00"}
    (folder / models.INFO_NAME).write_text(json.dumps(info))


def test_bundled_models_are_listed_after_the_users_and_cannot_be_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(components, "app_root", lambda: tmp_path / "opt-satseg")
    bundled = tmp_path / "opt-satseg" / "sam-models"
    _entry(bundled / "sam2.1-tiny", "sam2.1-tiny", "a" * 64)
    _entry(bundled / "field", "field", "b" * 64)
    assert models.bundled_models_dir() == bundled
    assert [(m.name, m.path) for m in models.list_models()] == [
        ("field", str(bundled / "field")), ("sam2.1-tiny", str(bundled / "sam2.1-tiny"))]
    assert models.get_model().name == "field"
    with pytest.raises(SatSegError, match="came with the installation"):
        models.remove_model("field")
    assert (bundled / "field" / models.INFO_NAME).is_file()
    # the user's own import of the same name comes first and hides the bundled one
    _entry(models.models_dir() / "sam2.1-tiny", "sam2.1-tiny", "c" * 64)
    listed = {m.name: m for m in models.list_models()}
    assert listed["sam2.1-tiny"].sha256 == "c" * 64 and len(listed) == 2
    models.remove_model("sam2.1-tiny")   # removes the user's copy only
    assert models.get_model("sam2.1-tiny").sha256 == "a" * 64
