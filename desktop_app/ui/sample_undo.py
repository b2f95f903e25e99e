"""The undo step every sample edit is pushed as (``SampleModel.undo_stack``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from .sample_model import SampleModel


class ModelCommand(QUndoCommand):
    """An undo step made of two functions of the model; the model builds them per edit.

    The functions receive the model as an argument and the command holds it
    only weakly: closures over the model would form a cycle through C++
    (model -> QUndoStack -> command -> model) that Python's garbage collector
    cannot see, so a discarded model would never be freed.
    """

    def __init__(self, text: str, do: Callable[["SampleModel"], None], undo: Callable[["SampleModel"], None]) -> None:
        super().__init__(text)
        self._do = do
        self._undo = undo
        self._model = None

    def redo(self) -> None:
        model = self._model() if self._model is not None else None
        if model is not None:
            self._do(model)

    def undo(self) -> None:
        model = self._model() if self._model is not None else None
        if model is not None:
            self._undo(model)

