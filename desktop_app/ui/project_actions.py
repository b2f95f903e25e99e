"""The File menu's project actions, the panels' settings into the document, and autosave.

Mixed into MainWindow; the reading and writing itself is project_io.py.
"""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

AUTOSAVE_MS = 60_000


class ProjectActionsMixin:
    """Mixed into MainWindow; uses its document, panels and model."""

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project folder", _projects_start())
        if folder:
            self.open_project(folder)

    def save_project_action(self) -> bool:
        if self.project_folder is None:
            return self.save_project_as_dialog()
        return self.save_project(self.project_folder)

    def save_project_as_dialog(self) -> bool:
        folder = QFileDialog.getExistingDirectory(self, "Save project into folder", _projects_start())
        return self.save_project(folder) if folder else False

    def open_project(self, folder, ask=None) -> bool:
        from . import project_io

        return project_io.open_project(self, folder, ask)

    def save_project(self, folder) -> bool:
        from . import project_io

        return project_io.save_project(self, folder)

    def sync_settings(self) -> None:
        """Copy the panels' current settings into the document (before a save or an autosave)."""
        s = self.document.settings
        s.display_bands = self.bands_panel.display_bands()
        s.classifier_bands = self.bands_panel.classifier_bands()
        s.method, s.options = self.model_panel.method(), self.model_panel.options()
        s.thresholds, s.layers = self.model_panel.thresholds(), self.layers_panel.state()

    def _mark_dirty(self) -> None:
        self.document.mark_dirty()

    def is_dirty(self) -> bool:
        """Unsaved work: sample edits since the last save/load, a new result, ROI or project image."""
        return self.document.is_dirty()

    def autosave(self) -> None:
        """Periodic safety copy of unsaved work (samples + settings), written atomically."""
        if self.is_dirty() and not self._closed and not self.model.is_empty():
            from . import project_io

            project_io.autosave_now(self)


def _projects_start() -> str:
    """The folder project dialogs open in: ``projects`` in the user's SatSeg data folder."""
    from ..core.paths import projects_dir

    folder = projects_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return ""   # the dialog then starts where Qt would anyway
    return str(folder)
