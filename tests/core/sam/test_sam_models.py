"""Model management: import of Meta-format checkpoints, recognition by tensor shapes, list, remove."""
import hashlib

import pytest
import torch

from desktop_app.core.errors import SatSegError, cli_text
from desktop_app.core.sam import models
from desktop_app.core.sam.runtime import SHRINK_OVERRIDES, build_model


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """Meta's format from a randomly initialised real SAM-2.1 tiny (about 156 MB)."""
    path = tmp_path_factory.mktemp("ckpt") / "my-download.pt"
    torch.save({"model": build_model("tiny", "sam2.1", device="cpu").state_dict()}, path)
    return path


def test_import_list_load_remove(tiny_checkpoint, sam_home):
    info = models.import_checkpoint(tiny_checkpoint)
    assert (info.name, info.size, info.version) == ("sam2.1-tiny", "tiny", "sam2.1")
    assert info.sha256 == hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()
    assert info.bytes == tiny_checkpoint.stat().st_size
    folder = models.models_dir() / "sam2.1-tiny"
    assert folder.is_relative_to(sam_home)
    assert (folder / "checkpoint.pt").read_bytes() == tiny_checkpoint.read_bytes()
    assert [m.name for m in models.list_models()] == ["sam2.1-tiny"]
    # importing the same file again is harmless; another file under the same name is refused
    assert models.import_checkpoint(tiny_checkpoint).sha256 == info.sha256
    other = tiny_checkpoint.with_name("other.pt")
    sd = torch.load(tiny_checkpoint, weights_only=True)["model"]
    sd["sam_mask_decoder.iou_token.weight"] += 1
    torch.save({"model": sd}, other)
    with pytest.raises(SatSegError, match="a different model is already installed as 'sam2.1-tiny'") as err:
        models.import_checkpoint(other)
    assert "Remove" in str(err.value) and "--" not in str(err.value)          # the window's words
    assert cli_text(err.value).endswith("choose another --name or remove it (satseg sam remove)")
    other.unlink()
    model = models.load_model(models.get_model(), device="cpu")
    ref = torch.load(tiny_checkpoint, weights_only=True)["model"]
    key = "sam_mask_decoder.iou_token.weight"
    assert torch.equal(model.state_dict()[key], ref[key])
    # a damaged installed file is detected by its SHA-256
    with open(folder / "checkpoint.pt", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0" * 16)
    with pytest.raises(SatSegError, match="damaged"):
        models.load_model(models.get_model("sam2.1-tiny"))
    models.remove_model("sam2.1-tiny")
    assert models.list_models() == [] and not folder.exists()
    with pytest.raises(SatSegError, match="no SAM-2 model is installed"):
        models.get_model()


def test_size_and_version_come_from_tensor_shapes_not_names():
    v1 = build_model("tiny", "sam2", device="cpu").state_dict()
    assert models.recognise(v1) == ("tiny", "sam2")
    v21 = build_model("small", "sam2.1", device="cpu").state_dict()
    assert models.recognise(v21) == ("small", "sam2.1")


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    bad = tmp_path / "sam2.1_hiera_tiny.pt"
    bad.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    with pytest.raises(SatSegError, match="not a readable PyTorch checkpoint"):
        models.import_checkpoint(bad)
    foreign = tmp_path / "resnet.pt"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(3)}}, foreign)
    with pytest.raises(SatSegError, match="not a SAM-2 checkpoint"):
        models.import_checkpoint(foreign)
    shrunk = tmp_path / "shrunk.pt"
    torch.save({"model": build_model("tiny", overrides=SHRINK_OVERRIDES, device="cpu").state_dict()}, shrunk)
    with pytest.raises(SatSegError, match="not one of SAM-2's"):
        models.import_checkpoint(shrunk)
    truncated = tmp_path / "cut.pt"
    torch.save({"model": build_model("tiny", overrides=SHRINK_OVERRIDES, device="cpu").state_dict()}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    with pytest.raises(SatSegError, match="not a readable"):
        models.import_checkpoint(truncated)
    assert models.list_models() == []
