"""Connecting to dask.distributed: ``--dask local`` or ``--dask tcp://HOST:PORT`` (docs/scale.md)."""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

from ..errors import SatSegError

# How long to wait for a scheduler to answer before telling the user it is unreachable.
CONNECT_TIMEOUT_S = 10


def local_cluster_size() -> tuple[int, int]:
    """(workers, bytes of memory each) for a LocalCluster sized to this machine.

    One single-threaded worker process per usable core: a rasterio dataset is not
    thread-safe, and a process per core sidesteps the GIL in the numpy glue.
    """
    import psutil

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        cores = os.cpu_count() or 1
    cores = max(1, cores)
    return cores, int(psutil.virtual_memory().total * 0.8 / cores)


def _quiet_dask_logs() -> None:
    # The scheduler's INFO chatter would bury the CLI's own output; warnings still show.
    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker",
                 "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def check_spec(spec: str) -> str:
    """The --dask value, checked before any work: 'local' or a scheduler address."""
    spec = (spec or "").strip()
    if spec == "local" or spec.startswith(("tcp://", "tls://")):
        return spec
    raise SatSegError(f"--dask '{spec}': give 'local' or a scheduler address such as tcp://10.0.0.5:8786")


@contextmanager
def dask_client(spec: str, n_workers: int | None = None) -> Iterator["object"]:
    """A dask.distributed Client for ``spec``; closed (and a LocalCluster shut down) on exit.

    An unreachable scheduler is a one-line SatSegError, raised before any work.
    """
    spec = check_spec(spec)
    try:
        from distributed import Client, LocalCluster
    except ImportError:   # pragma: no cover - a dependency in pyproject.toml
        raise SatSegError("--dask needs dask.distributed: pip install 'dask[distributed]'") from None
    _quiet_dask_logs()
    cluster = None
    try:
        if spec == "local":
            n, mem = local_cluster_size()
            cluster = LocalCluster(n_workers=n_workers or n, threads_per_worker=1, processes=True,
                                   memory_limit=mem, host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR)
            client = Client(cluster, timeout=CONNECT_TIMEOUT_S)
        else:
            client = Client(spec, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SatSegError(f"cannot reach the dask scheduler at {spec} within {CONNECT_TIMEOUT_S} s "
                          f"({type(exc).__name__}); is it running?") from None
    try:
        yield client
    finally:
        try:
            client.close(timeout=CONNECT_TIMEOUT_S)
        except Exception:   # the scheduler may already be gone; nothing left to release
            pass
        if cluster is not None:
            cluster.close(timeout=CONNECT_TIMEOUT_S)
