"""Print the runtime requirements of pyproject.toml for the packaging venv.

The bundle needs the project's dependencies but not the project installed
(PyInstaller reads desktop_app from the checkout), and torch/torchvision are
pinned to the CPU build by installer/constraints-cpu.txt.
"""
import sys
import tomllib
from pathlib import Path

deps = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
sys.stdout.write("".join(f"{d}\n" for d in deps))
