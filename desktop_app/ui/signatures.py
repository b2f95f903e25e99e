"""Class spectral signatures (mean ± std per band) for the plot below the map, read off the UI thread.

Mixed into MainWindow: sample edits restart a short timer, so a burst of edits reads the
spectra once; the plot is redrawn only while it is shown.
"""
from __future__ import annotations

from . import pipeline

SIGNATURE_DELAY_MS = 400


class SignaturesMixin:
    """Mixed into MainWindow; uses its model, runner, spectral plot and ``_signature_timer``."""

    def _on_samples_changed(self) -> None:
        # Sample edits are tracked by the model's undo stack (see is_dirty); loads are not edits.
        self._schedule_signatures()

    def _schedule_signatures(self) -> None:
        self._signature_timer.start()

    def update_signatures(self) -> None:
        """Class mean ± std per band and training pixel counts, off the UI thread."""
        if self.doc is None or len([c for c in self.model.classes()
                                    if self.model.polygon_count(c.id, "training")]) < 1:
            return
        doc, samples = self.doc, self.model.to_sample_set()
        mode = self.model_panel.options().get("signatures", "per-class")   # every signature when several
        index_names = [i.name for i in getattr(doc, "indices", [])]        # drawn on their own axis

        def done(res) -> None:
            sigs, counts = res
            self.model.set_pixel_counts(counts)
            self._pending_signatures = (sigs, index_names)
            self._draw_signatures()

        self.runner.start("signatures", lambda job: pipeline.signatures(doc, samples, None, job, mode),
                          label="Reading sample spectra", on_done=done,
                          on_error=lambda msg: self.status.showMessage(f"Spectra: {msg}", 8000))

    def _draw_signatures(self, *_args) -> None:
        # Redrawing the plot costs up to a few hundred ms of UI time: only while it is shown.
        if self._pending_signatures is not None and self.docks["dock_spectra"].isVisible():
            (sigs, index_names), self._pending_signatures = self._pending_signatures, None
            self.spectral_plot.set_signatures(sigs, index_names)
