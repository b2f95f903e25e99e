"""The Qt-free state of one working session: what the window shows and what a project saves.

A ``Document`` holds the open image, the last classification result, the
region of interest, a reference to the sample polygons, the settings of the
run, the project folder and whether there is unsaved work. The window keeps
no copy: it changes the document and redraws when the document tells it
what changed (``observe``; plain callbacks, no Qt). New features (SAM-2
refinement, analysis layers) add their state here, in one place, and get
saving, autosave and recovery with it.

The image and result are the objects the UI works with (``ui.pipeline``'s
``ImageDoc`` and ``RunResult``); the document only reads the attributes it
needs to save them (``path``, ``is_demo``, ``width``, ``band_names``,
``transform``, ``crs``; ``class_array``, ``classes``, ``classifier``,
``request``). The samples are any collection with ``to_geojson()``,
``classes()``, ``is_modified()`` and ``mark_saved()``.

Saved / unsaved, autosave and recovery follow docs/data-safety.md §3–4.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from . import project as core_project

#: What an observer is told changed.
IMAGE, RESULT, ROI, PROJECT, DIRTY, SETTINGS, SAM = "image", "result", "roi", "project", "dirty", "settings", "sam"


@dataclass
class RunSettings:
    """How the image is shown and classified (what a project stores besides samples and results)."""

    display_bands: list = field(default_factory=list)
    classifier_bands: Optional[list] = None       # None = all bands
    method: str = "mahalanobis"
    options: dict = field(default_factory=dict)
    thresholds: Optional[dict] = None             # class name -> value; None = all off
    layers: dict = field(default_factory=dict)    # layer id -> {"opacity": …, "visible": …}


class Document:
    """One working session. Change it through its methods; observers hear about every change."""

    def __init__(self, samples: Any = None) -> None:
        self.image: Any = None
        self.result: Any = None
        self.roi: Optional[dict] = None
        self.samples = samples
        self.settings = RunSettings()
        from .sam.state import SamState

        self.sam = SamState()              # the SAM-2 stage's settings and results (docs/sam.md)
        self.project_folder: Optional[Path] = None
        self.basemap: Optional[str] = None   # the offline basemap file the user chose (saved with the project)
        self._dirty = False
        # Folders this session's autosaves are in (and a recovered one): removed by a save or a clean exit.
        self.autosave_dirs: set[Path] = set()
        self._observers: list[Callable[[str], None]] = []

    # ------------------------------------------------------------ observers
    def observe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(what)`` after every change; returns a function that stops it."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def _changed(self, what: str) -> None:
        for callback in list(self._observers):
            callback(what)

    # ------------------------------------------------------------ state
    def set_image(self, image: Any) -> None:
        """A new open image; the old result no longer applies. A project's image change is unsaved work."""
        self.image = image
        self.result = None
        self._changed(IMAGE)
        if self.project_folder is not None:
            self.mark_dirty()

    def set_result(self, result: Any, dirty: bool = True) -> None:
        self.result = result
        self._changed(RESULT)
        if dirty and result is not None:
            self.mark_dirty()

    def set_roi(self, roi: Optional[dict]) -> None:
        self.roi = roi
        self._changed(ROI)
        self.mark_dirty()

    def set_settings(self, settings: RunSettings) -> None:
        """Settings read from a project or an autosave: the window puts them into its panels."""
        self.settings = settings
        self._changed(SETTINGS)

    def set_sam(self, sam, dirty: bool = True) -> None:
        """New SAM-2 state (a ``core.sam.state.SamState``): settings changed or a SAM result arrived."""
        self.sam = sam
        self._changed(SAM)
        if dirty:
            self.mark_dirty()

    def set_basemap(self, path: Optional[str]) -> None:
        """The user chose another offline basemap file: unsaved work when it differs."""
        if path != self.basemap:
            self.basemap = path
            self.mark_dirty()

    def set_project_folder(self, folder: Optional[str | Path]) -> None:
        self.project_folder = Path(folder) if folder else None
        self._changed(PROJECT)

    # ------------------------------------------------------------ saved or not
    def is_dirty(self) -> bool:
        """Unsaved work: sample edits, a new result, ROI or project image, or recovered work."""
        return self._dirty or bool(self.samples is not None and self.samples.is_modified())

    def mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            self._changed(DIRTY)

    def samples_edited(self) -> None:
        """The samples became modified or saved (an edit, an undo back to the save): ``is_dirty`` may differ."""
        self._changed(DIRTY)

    def mark_saved(self) -> None:
        """Everything on screen is what the project (or the freshly opened image) holds."""
        if self.samples is not None:
            self.samples.mark_saved()
        self._dirty = False
        self._changed(DIRTY)

    def caption(self) -> str:
        """The window's title: the project's (else the image's) name, and ``*`` while there is unsaved work."""
        name = self.project_folder.name if self.project_folder else getattr(self.image, "title", None)
        return ("SatSeg — " + name if name else "SatSeg") + ("*" if self.is_dirty() else "")

    # ------------------------------------------------------------ project
    def to_project_state(self, name: Optional[str] = None) -> core_project.ProjectState:
        image, result, s = self.image, self.result, self.settings
        extra: dict = {"roi": self.roi}
        if image is not None and getattr(image, "is_demo", False):
            extra["demo_size"] = image.width
        if result is not None and result.classifier is not None:
            r = result.request
            extra["result"] = {"method": r.method, "thresholds": r.thresholds, "bands": r.bands}
        if getattr(image, "baseline", None):  # the S2 baseline the user stated (docs/sentinel2.md)
            extra["baseline"] = image.baseline
        if getattr(image, "indices", None):   # spectral index bands (docs/analysis.md)
            extra["indices"] = [i.to_dict() for i in image.indices]
        extra["sam"] = self.sam.to_dict()
        bands = s.classifier_bands
        return core_project.ProjectState(
            name=name or (self.project_folder.name if self.project_folder else "Untitled project"),
            image=getattr(image, "path", None),
            display_bands=list(s.display_bands or []),
            classifier_bands=None if image is None or bands is None or list(bands) == list(image.band_names)
            else list(bands),
            classes=self.samples.classes() if self.samples is not None else [],
            samples=self.samples.to_geojson() if self.samples is not None else {"type": "FeatureCollection",
                                                                                  "features": []},
            method=s.method, options=dict(s.options or {}), thresholds=s.thresholds, layers=dict(s.layers or {}),
            basemap=self.basemap, extra=extra,
        )

    def save(self, folder: str | Path, copy_image: bool = False) -> Path:
        """Save as a project folder (all files first, then switched in; docs/data-safety.md §3).

        ``copy_image`` copies the image file into the project (fetched imagery).
        Afterwards no autosave of this session is left to offer.
        """
        folder = Path(folder)
        state = self.to_project_state(folder.name)
        res = self.result
        raster = None if res is None else (res.class_array, res.request.doc.transform, res.request.doc.crs,
                                           res.classes)
        manifest = core_project.save_project(folder, state, class_raster=raster, copy_image=copy_image)
        self.discard_autosaves()
        self.set_project_folder(folder)
        self.mark_saved()
        return manifest

    def apply_project_state(self, state: core_project.ProjectState, folder: Optional[str | Path]) -> None:
        """Take over the settings, ROI and project folder of a loaded project or autosave."""
        self.set_settings(RunSettings(list(state.display_bands or []), state.classifier_bands, state.method,
                                      dict(state.options or {}), state.thresholds, dict(state.layers or {})))
        self.roi = state.extra.get("roi")
        self._changed(ROI)
        # Kept even when the file is missing (the user may put it back; the window says so). A project
        # without one leaves the basemap on screen, which a save then stores.
        if state.basemap:
            self.basemap = state.basemap
        from .sam.state import SamState

        self.set_sam(SamState.from_dict(state.extra.get("sam")), dirty=False)
        self.set_project_folder(folder)

    # ------------------------------------------------------------ autosave and recovery
    def autosave_folder(self) -> Path:
        return self.project_folder or core_project.user_autosave_dir()

    def autosave(self) -> Path:
        """Write the session's autosave (samples and settings; results stay in the project)."""
        folder = self.autosave_folder()
        path = core_project.autosave(folder, self.to_project_state(), self.project_folder)
        self.autosave_dirs.add(folder)
        return path

    def discard_autosaves(self) -> None:
        """No recovery offer is left for this session: after a save, or a clean exit."""
        for folder in self.autosave_dirs | {self.autosave_folder()}:
            core_project.discard_recovery(folder)
        self.autosave_dirs.clear()

    def recovered(self, rec: core_project.Recovery) -> None:
        """Work restored from ``rec`` is unsaved work until the user saves it."""
        self.autosave_dirs.add(rec.path.parent)
        self.mark_dirty()

