"""The runner: one result file per job, resume after an interruption, retry once.

Jobs here are tiny functions that leave a marker file each time they finish
their work, so the tests count executions exactly.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from experiments.runner import Job, Runner, load_record, result_path


def marking_job(payload: tuple[str, str, str]) -> dict[str, str]:
    """Leave a marker in the folder, then behave as told: ok, fail, flaky, interrupt."""
    folder, name, behaviour = payload
    markers = Path(folder)
    earlier = list(markers.glob(f"{name}.*"))
    if behaviour == "fail" or (behaviour == "flaky" and not earlier):
        (markers / f"{name}.{uuid.uuid4().hex}.failed").touch()
        raise RuntimeError(f"job {name} failed on purpose")
    if behaviour == "interrupt":
        raise KeyboardInterrupt
    (markers / f"{name}.{uuid.uuid4().hex}").touch()
    return {"value": name}


def executions(markers: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in markers.iterdir():
        if not path.name.endswith(".failed"):
            name = path.name.split(".")[0]
            counts[name] = counts.get(name, 0) + 1
    return counts


def grid(markers: Path, names: list[str], special: dict[str, str] | None = None) -> list[Job]:
    special = special or {}
    return [Job(f"g/{n}", (str(markers), n, special.get(n, "ok")), fingerprint="v1") for n in names]


NAMES = [f"j{i}" for i in range(8)]


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


def test_every_job_runs_once_and_stores_one_file(tmp_path: Path, markers: Path) -> None:
    runner = Runner(tmp_path / "jobs", workers=2, progress=False)
    outcome = runner.run(grid(markers, NAMES), marking_job)
    assert sorted(outcome.ran) == sorted(f"g/{n}" for n in NAMES)
    assert executions(markers) == dict.fromkeys(NAMES, 1)
    record = json.loads(result_path(tmp_path / "jobs", "g/j3").read_text())
    assert record["result"] == {"value": "j3"} and record["attempts"] == 1


def test_a_rerun_runs_only_the_jobs_without_a_result(tmp_path: Path, markers: Path) -> None:
    runner = Runner(tmp_path / "jobs", workers=2, progress=False)
    jobs = grid(markers, NAMES)
    runner.run(jobs, marking_job)
    for name in ("j1", "j6"):
        result_path(tmp_path / "jobs", f"g/{name}").unlink()
    outcome = runner.run(jobs, marking_job)
    assert sorted(outcome.ran) == ["g/j1", "g/j6"]
    assert len(outcome.skipped) == 6
    assert executions(markers) == {n: 2 if n in ("j1", "j6") else 1 for n in NAMES}


def test_an_interrupted_grid_resumes_without_running_finished_jobs(tmp_path: Path,
                                                                    markers: Path) -> None:
    jobs_dir = tmp_path / "jobs"
    runner = Runner(jobs_dir, workers=1, progress=False)
    with pytest.raises(KeyboardInterrupt):  # as if Ctrl-C came while j5 ran
        runner.run(grid(markers, NAMES, {"j5": "interrupt"}), marking_job)
    finished = {n for n in NAMES if result_path(jobs_dir, f"g/{n}").exists()}
    assert {"j0", "j1", "j2", "j3", "j4"} <= finished and "j5" not in finished

    second = tmp_path / "second"
    second.mkdir()
    outcome = runner.run(grid(second, NAMES), marking_job)
    # The rerun runs exactly the unfinished jobs, each once; none that finished.
    assert executions(second) == dict.fromkeys(set(NAMES) - finished, 1)
    assert sorted(outcome.skipped) == sorted(f"g/{n}" for n in finished)
    assert all(load_record(jobs_dir, j) for j in grid(second, NAMES))


def test_a_failed_job_is_retried_once_then_reported_and_the_others_kept(
        tmp_path: Path, markers: Path) -> None:
    jobs = grid(markers, NAMES[:4], {"j1": "fail", "j2": "flaky"})
    outcome = Runner(tmp_path / "jobs", workers=2, progress=False).run(jobs, marking_job)
    assert [f.key for f in outcome.failed] == ["g/j1"]
    failure = outcome.failed[0]
    assert failure.attempts == 2
    assert failure.error == "RuntimeError: job j1 failed on purpose"
    assert "Traceback" in failure.detail
    assert len(list(markers.glob("j1.*.failed"))) == 2  # tried twice, no more
    assert not result_path(tmp_path / "jobs", "g/j1").exists()
    flaky = json.loads(result_path(tmp_path / "jobs", "g/j2").read_text())
    assert flaky["attempts"] == 2 and flaky["result"] == {"value": "j2"}
    assert sorted(outcome.ran) == ["g/j0", "g/j2", "g/j3"]


def test_a_result_with_another_fingerprint_is_stale_and_rerun(tmp_path: Path,
                                                               markers: Path) -> None:
    runner = Runner(tmp_path / "jobs", workers=1, progress=False)
    runner.run(grid(markers, ["a", "b"]), marking_job)
    changed = [Job("g/a", (str(markers), "a", "ok"), fingerprint="v2"),
               Job("g/b", (str(markers), "b", "ok"), fingerprint="v1")]
    outcome = runner.run(changed, marking_job)
    assert outcome.ran == ["g/a"] and outcome.skipped == ["g/b"]


def test_bad_runner_options_are_user_errors(tmp_path: Path) -> None:
    from experiments.errors import UserError

    with pytest.raises(UserError, match="--backend"):
        Runner(tmp_path, backend="slurm")
    with pytest.raises(UserError, match="--workers"):
        Runner(tmp_path, workers=0)
