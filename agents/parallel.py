"""Worker pools for the inner loops of agents/ (tuning, demonstrations), and their rules.

Every pool in routelab starts its workers the same way: never by fork, since a
driver may hold threads (tqdm, Ray, torch) that fork copies badly; and each
worker keeps BLAS and torch to one thread, so workers do not oversubscribe
the cores. experiments/runner.py uses these too.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
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


def worker_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context(start_method())
    return ProcessPoolExecutor(workers, mp_context=context, initializer=cap_threads)


class Pool:
    """`map` over worker processes, or in this process when one worker is enough.

    Results come back in the order of the jobs, so a parallel run gives the
    same numbers as a serial one.
    """

    def __init__(self, workers: int, jobs: int) -> None:
        size = min(workers, jobs)
        self._pool = worker_pool(size) if size > 1 else None

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any], *,
            wrap: Callable[[Iterable[Any]], Iterable[Any]] | None = None) -> list[Any]:
        """Results in job order; `wrap` (a progress bar, say) sees them as they come."""
        results = self._pool.map(fn, jobs) if self._pool else map(fn, jobs)
        return list(wrap(results) if wrap else results)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
