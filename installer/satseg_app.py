"""Frozen entry point of the `satseg-app` window (see pyinstaller.spec)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()   # worker processes of a frozen app start through this exe
    from desktop_app.ui.app import main

    sys.exit(main())
