"""Asking for the SAM-2 device does not import torch (half a gigabyte, seconds) on a machine without
an NVIDIA driver; the answer is the one torch itself gives."""
import subprocess
import sys

CODE = """
import sys
from desktop_app.core.sam import runtime
driver = runtime.cuda_driver_present()
device = runtime.pick_device()
imported = "torch" in sys.modules
import torch
print(driver, device, imported, torch.cuda.is_available())
"""


def test_pick_device_without_a_driver_skips_importing_torch_and_agrees_with_torch():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    driver, device, imported, torch_says = out.stdout.split()[-4:]
    assert device == ("cuda" if torch_says == "True" else "cpu")       # same answer as torch's own
    if driver == "False":
        assert imported == "False" and torch_says == "False"
    else:
        assert imported == "True"        # with a driver, torch is asked
