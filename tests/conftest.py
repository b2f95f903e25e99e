"""Shared fixtures. Qt runs offscreen; QtWebEngine needs the sandbox off as root."""
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
# Every test (and every satseg / app process a test starts) uses a private data folder:
# the user's real settings, cache and autosaves are never read or written.
os.environ["SATSEG_HOME"] = tempfile.mkdtemp(prefix="satseg-test-home-")

SHARED_SCENE = Path(__file__).resolve().parents[2] / "shared" / "data" / "s2-l2a-29RKH"


@pytest.fixture(scope="session")
def shared_scene() -> Path:
    """The real decimated Sentinel-2 L2A scene beside the project (optional data)."""
    if not (SHARED_SCENE / "B02.tif").exists():
        pytest.skip(f"optional real Sentinel-2 sample scene not present at {SHARED_SCENE}")
    return SHARED_SCENE


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo scene written once per test session (scene.tif, truth.tif, GeoJSON)."""
    from desktop_app.core.demo_scene import write_demo_scene

    out = tmp_path_factory.mktemp("demo")
    write_demo_scene(out)
    return out


class FullDisk:
    """A folder whose disk is (almost) full, for write-failure tests.

    As root it is a real 64 KiB tmpfs (``mount -t tmpfs``) that ``fill()`` fills
    up to 8 KiB of free room. Where mounting is not permitted, every write made
    inside ``limited()`` (or by a process from ``run``) is capped at 8 KiB per
    file by RLIMIT_FSIZE: the operating system then fails writes the same way
    (short writes, EFBIG) - a real failing writer, not a skipped test.
    """

    FREE = 8 * 1024

    def __init__(self, root: Path) -> None:
        import subprocess

        self.dir = root / "disk"
        self.dir.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(self.dir)],
                           capture_output=True, text=True)
        self.tmpfs = r.returncode == 0

    def fill(self) -> None:
        if self.tmpfs:
            import shutil

            free = shutil.disk_usage(self.dir).free
            with open(self.dir / "filler", "wb") as fh:
                fh.write(b"\0" * max(0, free - self.FREE))
            assert shutil.disk_usage(self.dir).free <= self.FREE

    def _limit(self) -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.FREE, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    def limited(self):
        """Context manager: writes in this process fail like on the full disk."""
        import contextlib
        import resource
        import signal

        @contextlib.contextmanager
        def cm():
            if self.tmpfs:
                yield
                return
            old = resource.getrlimit(resource.RLIMIT_FSIZE)
            handler = signal.getsignal(signal.SIGXFSZ)
            self._limit()
            try:
                yield
            finally:
                resource.setrlimit(resource.RLIMIT_FSIZE, old)
                signal.signal(signal.SIGXFSZ, handler)

        return cm()

    def run(self, args, **kw):
        """subprocess.run with the full-disk condition applied to the child."""
        import subprocess

        return subprocess.run(args, capture_output=True, text=True,
                              preexec_fn=None if self.tmpfs else self._limit, **kw)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.dir.iterdir() if p.name != "filler")

    def close(self) -> None:
        if self.tmpfs:
            import subprocess

            subprocess.run(["umount", "-l", str(self.dir)], check=False)


@pytest.fixture
def full_disk(tmp_path):
    disk = FullDisk(tmp_path)
    yield disk
    disk.close()


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed scheduler and two single-threaded worker processes on 127.0.0.1: (cluster, client)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc) as client:
        yield lc, client
