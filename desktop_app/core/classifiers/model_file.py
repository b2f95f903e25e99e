"""Trained classifiers saved to a ``.satseg-model`` file and applied to other scenes.

The file is a zip holding ``model.json`` (format, version, method, options,
bands, classes and colours, training statistics and, for the statistics
methods, the signatures that fully define the classifier) and, for random
forest and SVM, ``estimator.skops``: the scikit-learn estimator in skops'
format, loaded only when every type it names is on a fixed allow-list. No
file is ever unpickled. The format is described in docs/classifiers.md
("Model files").
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from ..atomic import write_bytes_atomic
from ..classes import ClassInfo
from ..errors import SatSegError

FORMAT = "satseg-model"
VERSION = 1
SUFFIX = ".satseg-model"
# Types skops may rebuild beyond its own safe defaults: the trees of a forest and the
# Platt calibration of the SVM. Anything else in a file is refused.
TRUSTED = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
})
# A model keeps how the band folder it learnt from was scaled (docs/sentinel2.md): learnt from
# pixels read without the 0.1 offset they needed, it expects every reflectance 0.1 too high.
UNKNOWN_BASELINE = (
    "{name} was trained on a Sentinel-2 band folder whose processing baseline was unknown (read with no "
    "offset): if it was 04.00 or later, the model expects reflectances 0.1 too high and misclassifies "
    "images read right; train it again with the baseline stated"
)


def model_dict(clf, training_pixels=None, indices=None, baseline=None) -> dict:
    if not clf.fitted:
        raise SatSegError("only a trained classifier can be saved")
    d = {
        "format": FORMAT, "version": VERSION, "method": clf.name, "options": dict(clf.options),
        "bands": list(clf.band_names), "classes": [c.to_dict() for c in clf.classes],
        "signature_names": list(clf.row_names), "warnings": list(clf.warnings),
        "training_pixels": training_pixels,
        # Index bands the model was trained on ({"name", "formula"}): recomputed on the new image.
        "indices": [dict(i) for i in (indices or [])],
        # Sentinel-2 band folder: processing baseline, where it came from, DN offset (ImageSource.baseline_record).
        "baseline": None if baseline is None else dict(baseline),
    }
    if clf.from_signatures:
        d["signatures"] = clf.input_signatures.to_dict()
    return d


def save_model(clf, path, training_pixels=None, indices=None, baseline=None) -> Path:
    """Write ``clf`` (fitted) to ``path`` atomically; ``indices``: index bands as {"name", "formula"};
    ``baseline``: the training image's ``baseline_record()``."""
    path = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.json", json.dumps(model_dict(clf, training_pixels, indices, baseline), indent=1))
        if not clf.from_signatures:
            import skops.io as sio

            z.writestr("estimator.skops", sio.dumps(clf.model))
    return write_bytes_atomic(path, buf.getvalue())


def load_model(path):
    """The fitted classifier saved in ``path``; SatSegError for anything unexpected."""
    from . import make_classifier
    from .signature_set import SignatureSet

    path = Path(path)
    if not path.is_file():
        raise SatSegError(f"model file {path} does not exist")
    try:
        with zipfile.ZipFile(path) as z:
            d = json.loads(z.read("model.json").decode("utf-8"))
            estimator = z.read("estimator.skops") if "estimator.skops" in z.namelist() else None
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise SatSegError(f"{path} is not a SatSeg model file ({exc})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise SatSegError(f"{path} is not a SatSeg model file")
    if not isinstance(d.get("version"), int) or d["version"] > VERSION:
        raise SatSegError(f"{path} was saved by a newer SatSeg (model format {d.get('version')}); update SatSeg")
    clf = make_classifier(str(d.get("method")), **dict(d.get("options") or {}))
    clf.model_indices = [{"name": str(i["name"]), "formula": str(i["formula"])} for i in d.get("indices") or []]
    if clf.from_signatures:
        clf.fit_signatures(SignatureSet.from_dict(d.get("signatures") or {}, f"the signatures in {path}"))
        return _with_baseline(clf, d, path)
    if estimator is None:
        raise SatSegError(f"{path} lacks its trained estimator")
    import skops.io as sio

    try:
        untrusted = set(sio.get_untrusted_types(data=estimator))
        if not untrusted <= TRUSTED:
            raise SatSegError(f"{path} holds types SatSeg does not load: {', '.join(sorted(untrusted - TRUSTED))}")
        model = sio.loads(estimator, trusted=sorted(untrusted))
    except SatSegError:
        raise
    except Exception as exc:  # skops raises several kinds for a damaged or foreign file
        raise SatSegError(f"{path}: the trained estimator cannot be read ({type(exc).__name__}: {exc})") from None
    classes = [ClassInfo(int(c["id"]), str(c["name"]), str(c["color"])) for c in d["classes"]]
    clf.restore(model, classes, [str(b) for b in d["bands"]])
    return _with_baseline(clf, d, path)


def _with_baseline(clf, d: dict, path: Path):
    """``clf`` with the training folder's baseline record, warned about when it was unknown."""
    clf.model_baseline = d.get("baseline") if isinstance(d.get("baseline"), dict) else None
    if clf.model_baseline is not None and clf.model_baseline.get("baseline_from") is None:
        clf.warnings.append(UNKNOWN_BASELINE.format(name=path.name))
    return clf
