"""Opening an image on a worker, making it the window's document, and drawing it on the map.

Mixed into MainWindow. Small images go to the page as one picture; big ones as
tiles drawn on demand (docs/performance.md). Also the questions an image can raise:
an unknown Sentinel-2 processing baseline, a project image that has moved.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.errors import SatSegError
from . import basemap, pipeline
from .layers_panel import IMAGE


def open_error_text(path: str, message: str) -> str:
    """'Cannot open X: why', naming X once (core messages often name the file already)."""
    name = Path(path).name
    if str(path) in message or (name and name in message):
        return f"Cannot open the image: {message}"
    return f"Cannot open {path}: {message}"


class ImageLoadingMixin:
    """Mixed into MainWindow; uses its runner, panels, map and document."""

    def open_path(self, path: str, then=None, baseline: Optional[str] = None) -> None:
        """Open an image on a worker; ``then(doc)`` replaces the default (show it) when given.

        ``baseline``: the Sentinel-2 processing baseline the user stated for a band folder.
        """
        self.runner.start("open", lambda job: pipeline.open_image_doc(path, job, baseline),
                          label=f"Opening {Path(path).name}",
                          on_done=then or self.set_document,
                          on_error=lambda msg: self.notify(open_error_text(path, msg), "error"))

    def open_demo(self, size: int = 1000, then=None) -> None:
        self.runner.start("open", lambda job: pipeline.open_demo_doc(job, size), label="Creating demo scene",
                          on_done=then or self.set_document,
                          on_error=lambda msg: self.notify(f"Cannot create the demo scene: {msg}", "error"))

    def set_document(self, doc: pipeline.ImageDoc, load_samples: bool = True) -> None:
        """Make ``doc`` the open image: bands, map picture, and its own samples (demo)."""
        self.runner.cancel("classify")
        self.runner.cancel("predict")
        if self.doc is not None and self.doc is not doc:
            self.doc.close()
        self.document.set_image(doc)   # drops the old result; a project's new image is unsaved work
        self._footprint = None
        self._image_shown_once = False
        self.clear_result()
        self.bands_panel.set_band_names(doc.band_names)
        self.model_panel.set_band_count(len(self.bands_panel.classifier_bands()))
        self.imagery_panel.set_image_info(doc.describe())
        if load_samples and doc.samples is not None:
            self.model.from_geojson(doc.samples)
        self.status.showMessage(f"Opened {doc.title}. Draw sample polygons for each class, then Run (F5).", 15000)
        self.image_loaded.emit()
        self.render_image()
        self._schedule_signatures()
        if doc.baseline_unknown:
            self.ask_baseline(doc.title, lambda answer, d=doc: self._baseline_answered(d, answer))
        if doc.is_demo and getattr(self, "offline_basemap", None) is None:
            basemap.show_demo_basemap(self)   # the demo shows the offline basemap out of the box

    # A band folder that does not say its processing baseline may read 0.1 too bright
    # (docs/sentinel2.md): ask; ``reply`` gets "04.00", "03.00" or None (not answered).

    def ask_baseline(self, title: str, reply) -> None:
        if self.quiet:
            reply(None)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "SatSeg — processing baseline",
                          f"The folder “{title}” has no metadata saying its Sentinel-2 processing baseline.\n\n"
                          "Products of baseline 04.00 and later (from 25 January 2022) store every "
                          "band 1000 DN higher; read without correction, all reflectances are 0.1 "
                          "too high.", QMessageBox.StandardButton.NoButton, self)
        box.setTextFormat(Qt.TextFormat.PlainText)   # the title is a folder name: text, not HTML
        new = box.addButton("04.00 or later (remove the offset)", QMessageBox.ButtonRole.AcceptRole)
        old = box.addButton("Before 04.00 (no offset)", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("I don't know", QMessageBox.ButtonRole.RejectRole)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: reply("04.00" if box.clickedButton() is new
                                              else "03.00" if box.clickedButton() is old else None))
        box.open()

    def _baseline_answered(self, doc, answer: Optional[str]) -> None:
        if doc is not self.doc:
            return
        if answer is None:
            self.notify(doc.warnings[0] if doc.warnings else "unknown processing baseline", "warning")
        elif answer == "04.00":
            self.open_path(doc.path, baseline=answer)   # read again without the offset
        else:
            try:
                pipeline.state_baseline(doc, answer)   # what is open is already right
            except SatSegError as exc:
                self.notify(str(exc), "error")
                return
            self._mark_dirty()   # the answer is saved with the project

    def render_image(self) -> None:
        if self.doc is None:
            return
        doc, bands = self.doc, self.bands_panel.display_bands()
        if pipeline.uses_tiles(doc):
            # Big images: full-resolution tiles drawn on demand (docs/performance.md, "Map tiles").
            self.runner.start("display", lambda job: pipeline.tiled_image(doc, bands, job), label="Drawing image",
                              on_done=lambda t, d=doc: self._show_tiles(d, t),
                              on_error=lambda msg: self.notify(f"Cannot draw the image: {msg}", "error"))
            return
        self.runner.start("display", lambda job: pipeline.render_image(doc, bands, job), label="Drawing image",
                          on_done=self._show_image,
                          on_error=lambda msg: self.notify(f"Cannot draw the image: {msg}", "error"))

    def _write_overlay(self, name: str, png: bytes) -> str:
        # Served to the page from memory (web_scheme.py): nothing is written to disk.
        return self.map.publish_overlay(name, png)

    def _show_tiles(self, doc, tiled) -> None:
        if self._closed or doc is not self.doc:
            return
        self._image_tiles = tiled.renderer   # the old renderer goes once its last tile is drawn
        url = self.map.publish_tiles("image", tiled.renderer)
        self._last_image_bounds = tiled.bounds
        self.map.bridge.send("set_image", url=url, bounds=tiled.bounds, tiles=True,
                             max_native_zoom=tiled.max_native_zoom, opacity=self.layers_panel.opacity(IMAGE),
                             visible=self.layers_panel.visible(IMAGE), fit=not self._image_shown_once)
        self._image_shown_once = True
        self.image_displayed.emit()
        if tiled.needs_overviews and not self.runner.busy("overviews"):
            # Zoomed-out tiles of a file without overviews would read everything: build
            # reduced levels into the user cache in the background, then redraw.
            self.runner.start("overviews", lambda job: pipeline.build_overviews(doc, job),
                              label="Building map overviews",
                              on_done=lambda _levels, d=doc: self.render_image() if d is self.doc else None,
                              on_error=lambda msg: self.notify(f"Map overviews: {msg}", "warning"))

    def _show_image(self, overlay) -> None:
        if self._closed:
            return
        if getattr(self, "_image_tiles", None) is not None:   # the previous image was tiled
            self._image_tiles = None
            self.map.scheme_handler.drop_tiles("image")
        url = self._write_overlay("image", overlay.png)
        bounds = [list(overlay.bounds[0]), list(overlay.bounds[1])]
        self._last_image_bounds = bounds
        self.map.bridge.send("set_image", url=url, bounds=bounds, opacity=self.layers_panel.opacity(IMAGE),
                             visible=self.layers_panel.visible(IMAGE), fit=not self._image_shown_once)
        self._image_shown_once = True
        self.image_displayed.emit()

    def fetch_for_roi(self) -> None:
        if not self.roi:
            self.notify("Draw a region of interest first (Image panel ▸ Region of interest).", "warning")
            return
        from .fetch_dialog import run_fetch_dialog  # present only with the online-imagery module

        run_fetch_dialog(self, self.roi)

    def locate_missing_image(self, missing: str) -> Optional[str]:
        """A project's image is not where it was saved: offer to find it (None: go on without it)."""
        if self.quiet:
            return None
        box = QMessageBox(QMessageBox.Icon.Warning, "SatSeg",
                          f"The project's image was not found at {missing}. Has it moved?", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        locate = box.addButton("Locate…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Continue without the image", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is not locate:
            return None
        start = str(Path(missing).parent) if Path(missing).parent.exists() else ""
        if Path(missing).suffix:
            from .imagery_panel import IMAGE_FILTER

            path, _ = QFileDialog.getOpenFileName(self, f"Locate {Path(missing).name}", start, IMAGE_FILTER)
        else:   # a Sentinel-2 band folder
            path = QFileDialog.getExistingDirectory(self, f"Locate {Path(missing).name}", start)
        return path or None

    def open_ee_account(self) -> None:
        from .ee_account import open_ee_account

        open_ee_account(self)
