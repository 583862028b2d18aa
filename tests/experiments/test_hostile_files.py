"""Hostile files the tool reads back, and paths it writes: checked, in one line, inside --out.

Job files, result tables and scenarios.json are the tool's own outputs, but a
user (or a crash) can damage them; a damaged job file is rerun, a damaged
table is one line naming file and column. Names from files and options
(scenario names, sweep hyperparameters, job keys) never lead outside --out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pandas as pd
import pytest
import yaml

from experiments.cli import main
from experiments.paths import safe_name
from experiments.runner import Job, Outcome, Runner, _LocalBackend, execute, load_record, result_path
from experiments.sweep import load_config, training_jobs
from sim.atomic import atomic_path, remove_stale_temps
from sim.scenario import load_scenario

SCENARIO = """\
name: booth
horizon_hours: 3
ticket_types:
  calls: {channel: phone, arrivals_per_hour: 20, handle_minutes: {dist: exponential, mean: 4},
          patience_minutes: {dist: exponential, mean: 5}, sla_minutes: 1, sla_target: 0.8}
agent_groups:
  desk: {agents: 2, skills: {calls: 1.0}}
"""


@pytest.fixture(scope="module")
def booth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "booth.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, booth: Path) -> Path:
    out = tmp_path_factory.mktemp("bench") / "out"
    assert main(["benchmark", str(booth), "--policies", "fifo,lqf", "--seeds", "2",
                 "--workers", "1", "--out", str(out), "--quiet"]) == 0
    return out


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("routelab: error: "), err
    return lines[0]


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


# -- job files ------------------------------------------------------------------------


def triple(payload: int) -> dict[str, int]:
    return {"value": 3 * payload}


def stored_record(jobs: Path) -> dict:
    Runner(jobs, workers=1, progress=False).run([Job("g/a", 7, "v1")], triple)
    return json.loads(result_path(jobs, "g/a").read_text())


DAMAGE = {
    "an empty list": lambda record: "[]",
    "null": lambda record: "null",
    "nothing": lambda record: "",
    "cut short": lambda record: json.dumps(record)[:40],
    "no result": lambda record: json.dumps({k: v for k, v in record.items() if k != "result"}),
    "an edited result": lambda record: json.dumps({**record, "result": {"value": 22}}),
    "a result without its field": lambda record: json.dumps({**record, "result": {}}),
    "no digest": lambda record: json.dumps({k: v for k, v in record.items() if k != "digest"}),
    "nested 200,000 deep": lambda record: "[" * 200_000 + "]" * 200_000,
    "a 5,000-digit number": lambda record: '{"key": "g/a", "result": ' + "9" * 5000 + "}",
    "not UTF-8": lambda record: "\udcff",
}


def test_a_whole_record_loads(tmp_path: Path) -> None:
    record = stored_record(tmp_path / "jobs")
    assert load_record(tmp_path / "jobs", Job("g/a", 7, "v1"))["result"] == {"value": 21}
    assert record["digest"]
    assert load_record(tmp_path / "jobs", Job("g/a", 7, "v2")) is None  # stale fingerprint


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_job_file_counts_as_missing(tmp_path: Path, damage: str) -> None:
    jobs = tmp_path / "jobs"
    path = result_path(jobs, "g/a")
    path.parent.mkdir(parents=True)
    record = {"key": "g/a", "fingerprint": "v1", "attempts": 1, "wall_seconds": 0.1,
              "digest": "0" * 64, "result": {"value": 21}}
    path.write_text(DAMAGE[damage](record), encoding="utf-8", errors="surrogateescape")
    assert load_record(jobs, Job("g/a", 7, "v1")) is None


def test_a_damaged_job_file_is_rerun_and_replaced(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    record = stored_record(jobs)
    path = result_path(jobs, "g/a")
    path.write_text(json.dumps({**record, "result": {}}))  # what `del result[...]` leaves
    outcome = Runner(jobs, workers=1, progress=False).run([Job("g/a", 7, "v1")], triple)
    assert outcome.ran == ["g/a"] and outcome.skipped == []
    assert load_record(jobs, Job("g/a", 7, "v1"))["result"] == {"value": 21}


@pytest.mark.parametrize("damage", ["[]", "no summary"])
def test_benchmark_reruns_a_damaged_job_file_instead_of_failing(
        bench: Path, booth: Path, tmp_path: Path, capsys, damage: str) -> None:
    out = tmp_path / "out"
    shutil.copytree(bench, out)
    path = out / "jobs" / "booth" / "lqf" / "seed-0001.json"
    if damage == "[]":
        path.write_text("[]")
    else:
        record = json.loads(path.read_text())
        del record["result"]["summary"]
        path.write_text(json.dumps(record))
    assert main(["benchmark", str(booth), "--policies", "fifo,lqf", "--seeds", "2",
                 "--workers", "1", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "1 job(s) ran, 3 already done, 0 failed" in said
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv"), pd.read_csv(bench / "runs.csv"))
    assert "summary" in json.loads(path.read_text())["result"]


def interrupt_at_five(payload: int) -> dict[str, int]:
    if payload == 5:
        raise KeyboardInterrupt
    return {"value": payload}


class InlineBackend(_LocalBackend):
    """The local backend's bookkeeping, but every job is already done when handed over,
    so several finish together: the case a busy machine makes rare but real."""

    def __init__(self) -> None:
        self.slots = 4

    def submit(self, fn, payload) -> Future:
        future: Future = Future()
        try:
            future.set_result(execute(fn, payload))
        except BaseException as error:  # the interrupt, as a pool's future carries it
            future.set_exception(error)
        return future

    def cancel(self, handles) -> None:
        pass


def test_jobs_finished_together_with_an_interrupt_are_stored_first(tmp_path: Path) -> None:
    jobs_dir = tmp_path / "jobs"
    runner = Runner(jobs_dir, progress=False)
    jobs = [Job(f"g/{i}", i, "v1") for i in range(8)]
    with pytest.raises(KeyboardInterrupt):
        runner._drive(InlineBackend(), jobs, interrupt_at_five, Outcome(), total=len(jobs))
    stored = {j.payload for j in jobs if load_record(jobs_dir, j) is not None}
    assert stored == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("key", ["../../outside", "a/../../../b", "/etc/passwd", "..", "x/./.."])
def test_a_job_key_never_leads_outside_the_jobs_folder(tmp_path: Path, key: str) -> None:
    jobs = tmp_path / "jobs"
    path = result_path(jobs, key)
    assert jobs.resolve() in path.resolve().parents


def test_ordinary_job_keys_keep_their_file_names(tmp_path: Path) -> None:
    assert result_path(tmp_path, "desk/model-ppo/seed-0003") == \
        tmp_path / "desk" / "model-ppo" / "seed-0003.json"
    assert safe_name("fintech_day") == "fintech_day"
    # Different unsafe names stay different files.
    assert safe_name("a/b") != safe_name("a_b") and safe_name("a/b") != safe_name("a:b")


# -- result tables (routelab report) --------------------------------------------------


def copy_tables(bench: Path, to: Path) -> Path:
    shutil.copytree(bench, to, ignore=shutil.ignore_patterns("jobs", "plots", "report.html"))
    return to


def test_report_on_tables_without_a_column_is_one_line(bench, tmp_path, capsys) -> None:
    folder = copy_tables(bench, tmp_path / "r")
    table = pd.read_csv(folder / "comparison.csv").drop(columns=["scenario"])
    table.to_csv(folder / "comparison.csv", index=False)
    err = one_line_error(capsys, ["report", str(folder)])
    assert "comparison.csv" in err and "scenario" in err


def test_report_on_words_where_numbers_belong_is_one_line(bench, tmp_path, capsys) -> None:
    folder = copy_tables(bench, tmp_path / "r")
    table = pd.read_csv(folder / "hourly.csv")  # booth is steady: no hourly rows of its own
    row = {"scenario": "booth", "policy": "fifo", "series": "queue_length", "name": "general",
           "hour": 0, "value": 1.0}
    table = pd.concat([table, pd.DataFrame([row])], ignore_index=True).assign(value="lots")
    table.to_csv(folder / "hourly.csv", index=False)
    err = one_line_error(capsys, ["report", str(folder)])
    assert "hourly.csv" in err and "value" in err


def test_report_on_a_table_with_empty_key_cells_is_one_line(bench, tmp_path, capsys) -> None:
    folder = copy_tables(bench, tmp_path / "r")
    table = pd.read_csv(folder / "comparison.csv")
    table.loc[0, "n_seeds"] = None
    table.to_csv(folder / "comparison.csv", index=False)
    err = one_line_error(capsys, ["report", str(folder)])
    assert "comparison.csv" in err and "n_seeds" in err


@pytest.mark.parametrize("text", ["[1, 2]", "[" * 200_000 + "]" * 200_000, "{"])
def test_report_on_a_damaged_scenarios_file_is_one_line(bench, tmp_path, capsys, text) -> None:
    folder = copy_tables(bench, tmp_path / "r")
    (folder / "scenarios.json").write_text(text)
    err = one_line_error(capsys, ["report", str(folder)])
    assert "scenarios.json" in err


def test_report_draws_only_the_cost_figure_of_a_scenario_it_cannot_read(
        bench, tmp_path, capsys) -> None:
    folder = copy_tables(bench, tmp_path / "r")
    (folder / "scenarios.json").write_text(json.dumps({"booth": {"name": "booth"}}))
    assert main(["report", str(folder)]) == 0
    assert "note: " in capsys.readouterr().err
    assert sorted(p.name for p in (folder / "plots").iterdir()) == ["booth-cost.png"]


def test_report_never_writes_outside_the_results_folder(bench, tmp_path) -> None:
    folder = copy_tables(bench, tmp_path / "a" / "b" / "c" / "r")
    for name in ("runs.csv", "comparison.csv", "by_type.csv", "hourly.csv", "waits.csv"):
        table = pd.read_csv(folder / name)
        table["scenario"] = "../../../TRAVERSED"
        table.to_csv(folder / name, index=False)
    spec = json.loads((folder / "scenarios.json").read_text())
    (folder / "scenarios.json").write_text(json.dumps({"../../../TRAVERSED": spec["booth"]}))
    before = sorted(p for p in tmp_path.rglob("*") if folder not in p.parents and p != folder)
    assert main(["report", str(folder)]) == 0
    after = sorted(p for p in tmp_path.rglob("*") if folder not in p.parents and p != folder)
    assert after == before
    plots = sorted(p.name for p in (folder / "plots").iterdir())
    stem = safe_name("../../../TRAVERSED")
    assert f"{stem}-cost.png" in plots and all(p.startswith(f"{stem}-") for p in plots)
    assert "/" not in stem and not stem.startswith(".")
    assert f"src='plots/{stem}-cost.png'" in (folder / "report.html").read_text()


# -- temporary files of a killed run --------------------------------------------------


def test_report_removes_the_temporary_files_a_killed_run_left(bench, tmp_path) -> None:
    folder = copy_tables(bench, tmp_path / "r")
    plots = folder / "plots"
    plots.mkdir()
    stale = [plots / f".booth-cost.png.{dead_pid()}.abcd_123.tmp",
             plots / f".gone.png.{dead_pid()}.zzzzzzzz.tmp", folder / f".runs.csv.{dead_pid()}.a1b2c3d4.tmp"]
    kept = [plots / f".booth-waits.png.{os.getpid()}.abcdefgh.tmp",  # a live writer's
            plots / ".notes.tmp", folder / "mine.tmp"]  # files of other names: not ours
    for path in stale + kept:
        path.write_bytes(b"half a png")
    assert main(["report", str(folder)]) == 0
    assert [p for p in stale if p.exists()] == []
    assert all(p.exists() for p in kept)


def test_a_write_removes_the_leftovers_of_its_own_target(tmp_path) -> None:
    target = tmp_path / "summary.csv"
    leftover = tmp_path / f".summary.csv.{dead_pid()}.k3j4h5g6.tmp"
    other = tmp_path / f".agents.csv.{dead_pid()}.k3j4h5g6.tmp"
    leftover.write_text("half")
    other.write_text("half")
    with atomic_path(target) as tmp:
        assert str(os.getpid()) in tmp.name  # the writer's pid marks its temporary file
        tmp.write_text("whole")
    assert target.read_text() == "whole" and not leftover.exists() and other.exists()
    assert remove_stale_temps(tmp_path) == [other] and not other.exists()


# -- sweeps ------------------------------------------------------------------------------


def sweep_file(tmp_path: Path, booth: Path, **fields) -> Path:
    config = {"name": "s", "out": str(tmp_path / "sweep"), "scenarios": [str(booth)],
              "policies": ["fifo"], "seeds": 2, **fields}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("seeds, message", [
    ([0, 0], "seed 0 given twice"),
    ([-1], "got -1"),
    ([1000], "got 1000"),
    (99999999999999999999999, "got 99999999999999999999999"),
    (0, "got 0"),
    ([], "at least one seed"),
    ([True], "seeds"),
])
def test_sweep_seeds_are_checked_before_any_job_runs(tmp_path, booth, capsys, seeds,
                                                     message) -> None:
    path = sweep_file(tmp_path, booth, seeds=seeds)
    err = one_line_error(capsys, ["sweep", str(path), "--quiet"])
    assert f"{path}: seeds: " in err and message in err
    assert not (tmp_path / "sweep").exists()


def test_sweep_training_seeds_are_checked(tmp_path, booth, capsys) -> None:
    path = sweep_file(tmp_path, booth, train={"timesteps": 10, "seeds": [3, 3]})
    err = one_line_error(capsys, ["sweep", str(path), "--quiet"])
    assert "train.seeds: seed 3 given twice" in err


def test_a_hyperparameter_never_names_a_folder_outside_the_sweep(tmp_path, booth) -> None:
    path = sweep_file(tmp_path, booth, train={
        "timesteps": 10, "hyperparams": {"algo_kwargs.learning_rate": ["x/../../../../../ESCAPED",
                                                                      "x/../../ESCAPED"]}})
    config = load_config(path)
    out = tmp_path / "sweep"
    jobs = training_jobs(config, [load_scenario(booth)], out)
    folders = [Path(job.payload.out) for job in jobs]
    assert len(set(folders)) == 2
    for folder in folders:
        assert out.resolve() in folder.resolve().parents
        assert folder.parent == out / "models" / "booth"


def test_a_sweep_with_a_repeated_value_is_one_line(tmp_path, booth, capsys) -> None:
    path = sweep_file(tmp_path, booth, train={"timesteps": 10, "algo": ["ppo", "ppo"]})
    err = one_line_error(capsys, ["sweep", str(path), "--quiet"])
    assert "twice" in err
    assert not (tmp_path / "sweep").exists()


# -- export: existing files ---------------------------------------------------------------


def export(booth: Path, out: Path, *extra: str) -> int:
    return main(["export", "fifo", "--scenario", str(booth), "--out", str(out), "--days", "1",
                 "--seeds-eval", "1", "--quiet", *extra])


def test_export_replaces_an_existing_file_only_with_force(tmp_path, booth, capsys) -> None:
    out, view = tmp_path / "existing.json", tmp_path / "existing.csv"
    out.write_text("the user's own file")
    view.write_text("the user's own,csv\n1,2\n")
    err = one_line_error(capsys, ["export", "fifo", "--scenario", str(booth), "--out", str(out)])
    assert "--force" in err
    assert out.read_text() == "the user's own file"
    # --force names the JSON; the CSV beside it is not a table's view: it is left alone.
    err = one_line_error(capsys, ["export", "fifo", "--scenario", str(booth), "--out", str(out),
                                  "--force"])
    assert "existing.csv" in err and "left alone" in err
    assert out.read_text() == "the user's own file"
    assert view.read_text() == "the user's own,csv\n1,2\n"
    assert export(booth, out, "--force", "--no-csv") == 0
    assert json.loads(out.read_text())["format"] == "routelab-lookup-table"
    assert view.read_text() == "the user's own,csv\n1,2\n"


def test_export_replaces_its_own_csv_view_with_force(tmp_path, booth, capsys) -> None:
    out = tmp_path / "table.json"
    assert export(booth, out) == 0
    first = out.with_suffix(".csv").read_text()
    assert export(booth, out) == 2
    assert "--force" in capsys.readouterr().err
    out.unlink()  # only the view is left: still not replaced without --force
    assert export(booth, out) == 2
    assert "table.csv" in capsys.readouterr().err
    assert export(booth, out, "--force") == 0
    assert out.with_suffix(".csv").read_text() == first  # same seeds, same table
