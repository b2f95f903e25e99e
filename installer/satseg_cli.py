"""Frozen entry point of the `satseg` command (see pyinstaller.spec)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from desktop_app.cli import main

    sys.exit(main())
