"""Worker pools for the inner loops of agents/ (tuning, demonstrations), and their rules.

Every pool in routelab starts its workers the same way: never by fork, since a
driver may hold threads (tqdm, Ray, torch) that fork copies badly; each
worker keeps BLAS and torch to one thread, so workers do not oversubscribe
the cores; and each worker dies with the driver that started it, so a killed
run leaves no worker behind. experiments/runner.py uses these too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def cap_threads() -> None:
    """One thread per worker process: BLAS and torch would otherwise oversubscribe."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 0.5


def init_worker(driver_pid: int, environment: dict[str, str]) -> None:
    """The initializer of every pool's workers: the driver's ROUTELAB_* settings, one
    thread, and death with the driver."""
    for name in [n for n in os.environ if n.startswith("ROUTELAB_")]:
        if name not in environment:  # a fork server keeps the environment it started with
            del os.environ[name]
    os.environ.update(environment)
    cap_threads()
    die_with(driver_pid)


def die_with(driver_pid: int) -> None:
    """End this process when `driver_pid` ends, even by SIGKILL.

    A worker started by forkserver is the child of the fork server, which
    outlives a killed driver while its workers live, so the guard is a daemon
    thread that looks for the driver every WATCH_SECONDS and ends the worker
    once it is gone. On Linux the kernel also ends a worker with its parent
    (PR_SET_PDEATHSIG), which covers workers started by spawn at once.
    """
    parent = os.getppid()
    _kill_me_with_parent(parent)

    def orphaned() -> bool:
        return os.getppid() != parent or not _alive(driver_pid)

    if orphaned():
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while not orphaned():
            time.sleep(WATCH_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="routelab-driver-watch", daemon=True).start()


def _kill_me_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return  # the watching thread still guards
    if os.getppid() != parent:  # the parent ended before the signal was armed
        os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a killed process its parent has not reaped yet counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal test above is all there is
    return state not in (b"Z", b"X")


def worker_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context(start_method())
    environment = {k: v for k, v in os.environ.items() if k.startswith("ROUTELAB_")}
    return ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker,
                               initargs=(os.getpid(), environment))


class Pool:
    """`map` over worker processes, or in this process when one worker is enough.

    Results come back in the order of the jobs, so a parallel run gives the
    same numbers as a serial one. `backend="ray"` maps over Ray actors instead
    (ray.util.multiprocessing; `address` or RAY_ADDRESS joins a cluster, else a
    local Ray starts), one per CPU of the cluster.
    """

    def __init__(self, workers: int, jobs: int, *, backend: str = "local",
                 address: str | None = None) -> None:
        size = min(workers, jobs)
        self._ray = None
        if backend == "ray":
            from ray.util.multiprocessing import Pool as RayPool

            self._pool = None
            self._ray = RayPool(ray_address=address)
        else:
            self._pool = worker_pool(size) if size > 1 else None

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any], *,
            wrap: Callable[[Iterable[Any]], Iterable[Any]] | None = None) -> list[Any]:
        """Results in job order; `wrap` (a progress bar, say) sees them as they come."""
        if self._ray is not None:
            results = self._ray.imap(fn, list(jobs))
        else:
            results = self._pool.map(fn, jobs) if self._pool else map(fn, jobs)
        return list(wrap(results) if wrap else results)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        if self._ray is not None:
            self._ray.close()
            self._ray.join()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
