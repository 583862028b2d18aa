"""A driver killed by SIGKILL takes its pool's workers with it (Linux: read from /proc).

The driver is a real runner in a subprocess, its two workers each inside a
job that would sleep for two minutes. After SIGKILL of the driver, every
process it started must be gone within KILL_WAIT seconds (each worker has its
parent-death signal and a thread watching the driver every 0.5 s; without
them the workers lived on until their jobs ended).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

ROOT = Path(__file__).resolve().parents[2]
KILL_WAIT = 10.0
START_WAIT = 120.0  # forkserver start and imports, on a busy machine
JOB_SECONDS = 120

DRIVER = """
import sys
from experiments.runner import Job, Runner
from tests.experiments.test_hostile_workers import nap
jobs = [Job(f"nap/{{i}}", (sys.argv[2], {seconds})) for i in range(2)]
Runner(sys.argv[1], workers=2, progress=False).run(jobs, nap)
"""


def nap(payload: tuple[str, int]) -> None:
    """A long job that says when it started: a marker file named by its pid."""
    folder, seconds = payload
    (Path(folder) / str(os.getpid())).touch()
    time.sleep(seconds)


def state(pid: int) -> str | None:
    """The process's state letter, None if it is gone (a zombie has ended: it is `Z`)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def running(pids: set[int]) -> set[int]:
    return {p for p in pids if state(p) not in (None, "Z", "X")}


def test_killing_the_driver_ends_its_workers(tmp_path: Path) -> None:
    markers = tmp_path / "started"
    markers.mkdir()
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER.format(seconds=JOB_SECONDS), str(tmp_path / "jobs"),
         str(markers)], cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline and len(list(markers.iterdir())) < 2:
            assert driver.poll() is None, "the driver ended early"
            time.sleep(0.2)
        workers = {int(p.name) for p in markers.iterdir()}
        assert len(workers) == 2, "the workers did not start their jobs in time"
        started = descendants(driver.pid) | workers
        assert workers <= started

        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + KILL_WAIT
        while running(started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running(started) == set()
    finally:
        for pid in running(started):  # only what this test started
            os.kill(pid, signal.SIGKILL)
        if driver.poll() is None:
            driver.kill()
            driver.wait()
