"""Run a grid of independent jobs on local processes or on Ray, resumably.

A job's result is stored as one JSON file under the jobs folder, written
atomically by the driver as soon as the job finishes; a job whose file is
there (with the same fingerprint) is skipped, so an interrupted grid resumes
where it stopped. The driver, not the worker, writes the files, so Ray
workers on other machines need no shared disk. A job that fails is retried
once (`retries`), then reported; the other jobs go on.

The job function must be importable by module and name (a top-level
function), take the job's payload and return something JSON can store.

A job file is trusted only if it is whole: a JSON object with the job's key
and fingerprint and a digest of its result. A file that is truncated, edited
or of another layout is counted as missing, so its job runs again and the
file is replaced. A job key becomes a path under the jobs folder one
sanitised component per `/`, never a path outside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from agents.parallel import cap_threads, worker_pool
from experiments.errors import UserError
from experiments.paths import inside, safe_name
from sim.atomic import remove_stale_temps, write_text

BACKENDS = ("local", "ray")
JobFunction = Callable[[Any], Any]


@dataclass(frozen=True)
class Job:
    """One unit of work. `key` names its result file: jobs/<key>.json."""

    key: str
    payload: Any
    fingerprint: str = ""  # a stored result with another fingerprint is stale


@dataclass(frozen=True)
class Failure:
    key: str
    error: str  # one line
    detail: str  # the traceback, for the failures file
    attempts: int


@dataclass
class Outcome:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    wall_seconds: float = 0.0
    job_seconds: float = 0.0  # sum of the jobs' own run times, in the workers
    startup_seconds: float = 0.0  # starting the pool or joining Ray, within wall_seconds


def result_path(jobs_dir: Path, key: str) -> Path:
    """jobs/<key>.json, each `/`-separated part of the key a safe file name."""
    parts = [safe_name(part) for part in key.split("/")]
    parts[-1] += ".json"
    return inside(jobs_dir, Path(jobs_dir).joinpath(*parts), what="job file")


def result_digest(result: Any) -> str:
    """The sha256 of a result's canonical JSON: what makes a stored record trusted."""
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_record(jobs_dir: Path, job: Job) -> dict[str, Any] | None:
    """The stored record of a finished job, or None if absent, damaged or stale."""
    path = result_path(jobs_dir, job.key)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: not JSON, not UTF-8
        return None
    if (not isinstance(record, dict) or record.get("key") != job.key
            or record.get("fingerprint") != job.fingerprint or "result" not in record):
        return None
    try:
        intact = record.get("digest") == result_digest(record["result"])
    except (ValueError, TypeError, RecursionError):
        return None
    return record if intact else None


class Runner:
    """Hands jobs to a backend and stores their results; see the module docstring."""

    def __init__(self, jobs_dir: Path | str, backend: str = "local", workers: int | None = None,
                 address: str | None = None, retries: int = 1, progress: bool = True,
                 description: str = "jobs") -> None:
        if backend not in BACKENDS:
            known = ", ".join(BACKENDS)
            raise UserError(f"--backend: unknown backend {backend!r} (known: {known})")
        if workers is not None and workers < 1:
            raise UserError(f"--workers: must be at least 1, got {workers}")
        self.jobs_dir, self.backend, self.address = Path(jobs_dir), backend, address
        self.workers, self.retries = workers, retries
        self.progress, self.description = progress, description
        self._open: _Backend | None = None  # kept between runs inside `with runner:`
        self._keep_open = False

    def __enter__(self) -> Runner:
        """Inside `with runner:` the workers stay up between runs (no restart per batch)."""
        self._keep_open = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._keep_open = False
        if self._open is not None:
            self._open.close()
            self._open = None

    def run(self, jobs: Iterable[Job], fn: JobFunction) -> Outcome:
        """Run every job without a valid stored result; returns what ran, was skipped, failed."""
        jobs = list(jobs)
        keys = [j.key for j in jobs]
        if len(set(keys)) != len(keys):
            raise ValueError("job keys must be unique")
        outcome = Outcome()
        remove_stale_temps(self.jobs_dir)  # half-written job files of a killed run
        todo = []
        for job in jobs:
            if load_record(self.jobs_dir, job) is None:
                todo.append(job)
            else:
                outcome.skipped.append(job.key)
        started = time.perf_counter()
        if todo:
            backend = self._open or _make_backend(self.backend, self.workers, self.address)
            self._open = None
            outcome.startup_seconds = time.perf_counter() - started
            kept = False
            try:
                self._drive(backend, todo, fn, outcome, total=len(jobs))
                kept = self._keep_open
            finally:
                if kept:
                    self._open = backend
                else:
                    backend.close()
        outcome.wall_seconds = time.perf_counter() - started
        return outcome

    def _drive(self, backend: _Backend, todo: list[Job], fn: JobFunction, outcome: Outcome,
               total: int) -> None:
        queue, attempts = deque(todo), dict.fromkeys((j.key for j in todo), 0)
        running: dict[Any, Job] = {}
        limit = backend.slots * 2  # keep workers fed without queueing everything up front
        bar = tqdm(total=total, initial=total - len(todo), desc=self.description, unit="job",
                   disable=not self.progress, leave=False, dynamic_ncols=True)
        try:
            while queue or running:
                while queue and len(running) < limit:
                    job = queue.popleft()
                    attempts[job.key] += 1
                    running[backend.submit(fn, job.payload)] = job
                for handle, reply in backend.wait_any(list(running)):
                    job = running.pop(handle)
                    if reply["ok"]:
                        self._store(job, reply, attempts[job.key])
                        outcome.ran.append(job.key)
                        outcome.job_seconds += reply["wall_seconds"]
                        bar.update(1)
                    elif attempts[job.key] <= self.retries:
                        queue.append(job)
                    else:
                        outcome.failed.append(Failure(job.key, reply["error"], reply["detail"],
                                                      attempts[job.key]))
                        bar.update(1)
                        bar.set_postfix(failed=len(outcome.failed))
        except BaseException:
            backend.cancel(list(running))
            raise
        finally:
            bar.close()

    def _store(self, job: Job, reply: dict[str, Any], attempts: int) -> None:
        record = {"key": job.key, "fingerprint": job.fingerprint, "attempts": attempts,
                  "wall_seconds": round(reply["wall_seconds"], 6),
                  "digest": result_digest(json.loads(json.dumps(reply["result"]))),
                  "result": reply["result"]}
        text = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
        write_text(text, result_path(self.jobs_dir, job.key))


# -- in the worker ---------------------------------------------------------------


def execute(fn: JobFunction, payload: Any) -> dict[str, Any]:
    """Run one job in a worker; errors come back as a reply, not as an exception."""
    cap_threads()
    started = time.perf_counter()
    try:
        result = fn(payload)
    except Exception as error:  # a job's failure is data for the driver
        return _error_reply(error, traceback.format_exc())
    return {"ok": True, "result": result, "wall_seconds": time.perf_counter() - started}


def _error_reply(error: BaseException, detail: str) -> dict[str, Any]:
    message = " ".join(str(error).split()) or "(no message)"
    return {"ok": False, "error": f"{type(error).__name__}: {message}", "detail": detail}


# -- backends ----------------------------------------------------------------------


class _Backend:
    slots: int

    def submit(self, fn: JobFunction, payload: Any) -> Any:
        raise NotImplementedError

    def wait_any(self, handles: list[Any]) -> Iterable[tuple[Any, dict[str, Any]]]:
        """Block until at least one job is done; (handle, reply) of each one done."""
        raise NotImplementedError

    def cancel(self, handles: list[Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _make_backend(name: str, workers: int | None, address: str | None) -> _Backend:
    if name == "ray":
        return _RayBackend(workers, address)
    return _LocalBackend(workers or os.cpu_count() or 1)


class _LocalBackend(_Backend):
    """A process pool; a pool broken by a dying worker is replaced."""

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return worker_pool(self.slots)

    def submit(self, fn: JobFunction, payload: Any) -> Future:
        return self._pool.submit(execute, fn, payload)

    def wait_any(self, handles: list[Any]) -> Iterable[tuple[Any, dict[str, Any]]]:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
            # A worker died: the pool fails every job in flight, and which job
            # killed it is unknown, so each is charged one attempt.
            done, _ = wait(handles)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = self._new_pool()
        # In submission order, and one at a time (a generator): a job that ended in an
        # interrupt raises it only after the jobs finished before it are stored.
        return ((future, self._reply(future)) for future in handles if future in done)

    @staticmethod
    def _reply(future: Future) -> dict[str, Any]:
        try:
            return future.result()
        except BrokenProcessPool as error:
            return _error_reply(error, "a worker process died")

    def cancel(self, handles: list[Any]) -> None:
        # An interrupt should not wait for long jobs in flight: stop the workers.
        # (ProcessPoolExecutor.terminate_workers arrives only in Python 3.14.)
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RayBackend(_Backend):
    """Ray tasks: joins RAY_ADDRESS or `address`, or starts a local instance."""

    def __init__(self, workers: int | None, address: str | None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("--backend ray: Ray is not installed "
                            "(pip install 'routelab[ray]')") from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            self._init(workers, address or os.environ.get("RAY_ADDRESS"))
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = min(workers, cluster_cpus) if workers else cluster_cpus
        # Ray's own retries are off: the runner retries every failure once, the
        # same way on both backends.
        self._task = ray.remote(execute).options(num_cpus=1, max_retries=0)

    def _init(self, workers: int | None, address: str | None) -> None:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": "error"}
        settings = {k: v for k, v in os.environ.items() if k.startswith("ROUTELAB_")}
        if settings:  # e.g. the solver's cache folder, as local workers get it
            options["runtime_env"] = {"env_vars": settings}
        if address:
            options["address"] = address
        else:
            options["num_cpus"] = workers or os.cpu_count() or 1
        try:
            self.ray.init(**options)
        except Exception as error:  # Ray raises many kinds; all mean "no cluster"
            where = f" at {address}" if address else ""
            raise UserError(f"--backend ray: cannot start or join Ray{where} "
                            f"({' '.join(str(error).split())[:200]})") from None
        self.started = True

    def submit(self, fn: JobFunction, payload: Any) -> Any:
        return self._task.remote(fn, payload)

    def wait_any(self, handles: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        done, _ = self.ray.wait(handles, num_returns=1)
        replies = []
        for ref in done:
            try:
                replies.append((ref, self.ray.get(ref)))
            except self.ray.exceptions.RayError as error:  # the worker died, not the job
                replies.append((ref, _error_reply(error, str(error))))
        return replies

    def cancel(self, handles: list[Any]) -> None:
        for ref in handles:
            self.ray.cancel(ref, force=True)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
