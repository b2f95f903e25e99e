"""Subcommands of the `satseg` CLI (one module each, registered in ``desktop_app.cli``)."""
