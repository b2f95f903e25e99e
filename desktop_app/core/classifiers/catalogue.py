"""Signature catalogues: the signatures of a project saved as JSON, merged across scenes,
with classes that may roll up into macroclasses for output.

The file format is described in docs/classifiers.md ("Signature catalogues").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..atomic import write_text_atomic
from ..classes import ClassInfo
from ..errors import SatSegError
from .signature_set import SignatureSet

FORMAT = "satseg-signatures"
VERSION = 1


@dataclass
class Catalogue:
    signatures: SignatureSet
    macroclass_of: dict[str, str] = field(default_factory=dict)      # class name -> macroclass name
    macroclasses: list[ClassInfo] = field(default_factory=list)
    scenes: list[str] = field(default_factory=list)                  # (S,) scene each signature came from

    def to_dict(self) -> dict:
        d = self.signatures.to_dict()
        for c in d["classes"]:
            if c["name"] in self.macroclass_of:
                c["macroclass"] = self.macroclass_of[c["name"]]
        for row, scene in zip(d["signatures"], self.scenes or [""] * self.signatures.n):
            row["scene"] = scene
        return {"format": FORMAT, "version": VERSION, **d,
                "macroclasses": [c.to_dict() for c in self.macroclasses]}


def catalogue_from_signatures(sigs: SignatureSet, scene: str = "") -> Catalogue:
    return Catalogue(sigs, {}, [], [scene] * sigs.n)


def save_catalogue(cat: Catalogue, path) -> Path:
    return write_text_atomic(path, json.dumps(cat.to_dict(), indent=1))


def load_catalogue(path) -> Catalogue:
    path = Path(path)
    if not path.is_file():
        raise SatSegError(f"signature catalogue {path} does not exist")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SatSegError(f"{path} is not a signature catalogue (not JSON: {exc})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise SatSegError(f"{path} is not a SatSeg signature catalogue")
    if not isinstance(d.get("version"), int) or d["version"] > VERSION:
        raise SatSegError(f"{path} was written by a newer SatSeg (catalogue version {d.get('version')})")
    sigs = SignatureSet.from_dict(d, f"the signatures in {path}")
    macro = {str(c["name"]): str(c["macroclass"]) for c in d["classes"] if c.get("macroclass")}
    macroclasses = [ClassInfo(int(c["id"]), str(c["name"]), str(c.get("color") or "#808080"))
                    for c in d.get("macroclasses") or []]
    unknown = set(macro.values()) - {m.name for m in macroclasses}
    if unknown:
        raise SatSegError(f"{path}: class(es) roll up into macroclass(es) not listed: {', '.join(sorted(unknown))}")
    scenes = [str(r.get("scene", "")) for r in d["signatures"]]
    return Catalogue(sigs, macro, macroclasses, scenes)


def merge_catalogues(cats: list[Catalogue]) -> Catalogue:
    """One catalogue from several (e.g. scenes): classes matched by name and renumbered in
    order of first appearance; bands must be the same; macroclasses merged by name."""
    if not cats:
        raise SatSegError("nothing to merge")
    bands = cats[0].signatures.band_names
    classes: list[ClassInfo] = []
    macros: list[ClassInfo] = []
    macro_of: dict[str, str] = {}
    rows = []
    for n, cat in enumerate(cats):
        s = cat.signatures
        if s.band_names != bands:
            raise SatSegError(f"catalogue {n + 1} has bands {', '.join(s.band_names)}, the first has "
                              f"{', '.join(bands)}: only catalogues with the same bands merge")
        for m in cat.macroclasses:
            if all(x.name != m.name for x in macros):
                macros.append(ClassInfo(len(macros) + 1, m.name, m.color))
        for name, m in cat.macroclass_of.items():
            if macro_of.setdefault(name, m) != m:
                raise SatSegError(f"class '{name}' rolls up into '{macro_of[name]}' in one catalogue and '{m}' in another")
        for i in range(s.n):
            cname = s.class_name(i)
            cls = next((c for c in classes if c.name == cname), None)
            if cls is None:
                color = next(c.color for c in s.classes if c.name == cname)
                cls = ClassInfo(len(classes) + 1, cname, color)
                classes.append(cls)
            rows.append((cls.id, i, s, (cat.scenes or [""] * s.n)[i]))
    names, seen = [], {}
    for cid, i, s, _ in rows:
        base = s.names[i]
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")   # names stay unique
    merged = SignatureSet(
        list(bands), classes, np.array([r[0] for r in rows], np.int64), names, [r[2].sources[r[1]] for r in rows],
        np.array([r[2].counts[r[1]] for r in rows]), np.array([r[2].means[r[1]] for r in rows]),
        np.array([r[2].covs[r[1]] for r in rows]), np.array([r[2].mins[r[1]] for r in rows]),
        np.array([r[2].maxs[r[1]] for r in rows]))
    return Catalogue(merged, macro_of, macros, [r[3] for r in rows])


def roll_up(clf, cat: Catalogue) -> None:
    """Make a fitted classifier write macroclasses: each signature's class maps to its macroclass."""
    if not cat.macroclasses:
        raise SatSegError("the catalogue defines no macroclasses")
    by_name = {m.name: m for m in cat.macroclasses}
    missing = [c.name for c in clf.classes if c.name not in cat.macroclass_of]
    if missing:
        raise SatSegError(f"class(es) {', '.join(missing)} belong to no macroclass in the catalogue")
    macro_id = {c.id: by_name[cat.macroclass_of[c.name]].id for c in clf.classes}
    used = sorted(set(macro_id.values()))
    clf.row_ids = np.array([macro_id[int(i)] for i in clf.row_ids], np.uint8)
    clf.classes = [m for m in cat.macroclasses if m.id in used]
    clf.class_ids = np.array(used, np.uint8)
    clf.row_class = np.searchsorted(clf.class_ids, clf.row_ids)


def set_macroclasses(cat: Catalogue, mapping: dict[str, str], colors: Optional[dict] = None) -> Catalogue:
    """A catalogue whose classes roll up as ``mapping`` (class name -> macroclass name) says."""
    names = list(dict.fromkeys(mapping.values()))
    macros = [ClassInfo(i + 1, n, (colors or {}).get(n, "#808080")) for i, n in enumerate(names)]
    return Catalogue(cat.signatures, dict(mapping), macros, list(cat.scenes))
