"""The one exception type that carries a message meant for the user."""


class SatSegError(Exception):
    """Bad input or an unusable resource, explained in one line.

    The CLI prints the message and exits with status 2; the UI shows it in a
    dialog. Raise it wherever the cause is the user's data or environment,
    never for programming errors.
    """
