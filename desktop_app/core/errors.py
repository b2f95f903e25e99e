"""The one exception type that carries a message meant for the user, and advice worded for where it is shown."""
from __future__ import annotations


class SatSegError(Exception):
    """Bad input or an unusable resource, explained in one line.

    The CLI prints the message and exits with status 2; the UI shows it in a
    dialog. Raise it wherever the cause is the user's data or environment,
    never for programming errors. Its message may be an ``Advice``.
    """


class Advice(str):
    """A user message whose advice depends on where it is read (docs/messages.md).

    As a str it is the window's wording (naming the dialog or panel that holds the
    setting), because the app shows ``str(...)`` of errors and warnings in many places;
    ``.cli`` is the same message for the ``satseg`` command, naming the flag. The CLI
    prints every error and warning through ``cli_text``. Formatting an Advice into
    another string keeps only the window's wording, so wrap whole messages, not pieces.
    """

    cli: str

    def __new__(cls, app: str, cli: str) -> "Advice":
        text = super().__new__(cls, app)
        text.cli = cli
        return text

    def __reduce__(self):   # kept whole through pickling (dask workers, subprocess errors)
        return Advice, (str(self), self.cli)


def advised(message: str, *, cli: str, app: str) -> Advice:
    """``message`` followed by what to do: "MESSAGE; APP" in the window, "MESSAGE; CLI" on the command line."""
    return Advice(f"{message}; {app}", f"{message}; {cli}")


def cli_text(message) -> str:
    """The command line's wording of a message, a warning or a SatSegError (plain text stays as it is)."""
    if isinstance(message, BaseException):
        message = message.args[0] if len(message.args) == 1 else str(message)
    return getattr(message, "cli", None) or str(message)
