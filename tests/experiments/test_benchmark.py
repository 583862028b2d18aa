"""`routelab benchmark` and `routelab sweep`: files, resume, backends, statistics, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.benchmark import (
    load_scenarios,
    parse_policies,
    run_simulation,
    simulation_jobs,
    wait_edges,
)
from experiments.cli import main
from experiments.runs import simulate_run
from experiments.stats import t_interval
from sim.intervals import NON_NEGATIVE
from sim.metrics import SUMMARY_COLUMNS

# Two ticket types that compete for one desk, with patience, a surge and an
# absence: small enough for a second per run, rich enough that policies differ.
DESK = """\
name: desk
horizon_hours: 6
warmup_hours: 1
ticket_types:
  fraud: {channel: phone, arrivals_per_hour: 12, handle_minutes: {dist: exponential, mean: 6},
          patience_minutes: {dist: exponential, mean: 4}, sla_minutes: 1, sla_target: 0.9,
          wait_cost_per_minute: 4, abandon_cost: 20}
  card: {arrivals_per_hour: 30, handle_minutes: {dist: lognormal, mean: 5, cv: 0.8},
         patience_minutes: {dist: exponential, mean: 10}, sla_minutes: 3, sla_target: 0.8}
agent_groups:
  desk: {agents: 4, skills: {fraud: 1.0, card: 1.0}}
  chat: {agents: 1, skills: {card: 1.2}}
events:
  - {kind: surge, ticket_types: [card], start_hour: 2, end_hour: 3, factor: 2.0}
  - {kind: absence, group: desk, start_hour: 4, end_hour: 5, agents: 1}
"""


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "desk.yaml"
    path.write_text(DESK)
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, desk: Path) -> Path:
    out = tmp_path_factory.mktemp("bench")
    code = main(["benchmark", str(desk), "mmc", "--policies", "fifo,cmu,random", "--seeds", "3",
                 "--workers", "2", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_benchmark_writes_the_contract_files(bench: Path) -> None:
    runs = pd.read_csv(bench / "runs.csv")
    assert list(runs.columns) == SUMMARY_COLUMNS
    assert len(runs) == 2 * 3 * 3 and set(runs["ticket_type"]) == {"ALL"}
    comparison = pd.read_csv(bench / "comparison.csv")
    for metric in ("cost_per_hour", "mean_wait_min", "service_level", "abandon_rate"):
        assert {metric, f"{metric}_ci_low", f"{metric}_ci_high"} <= set(comparison.columns)
    assert {"best_heuristic", "cost_diff_vs_best", "cost_diff_ci_low", "cost_diff_ci_high",
            "n_seeds"} <= set(comparison.columns)
    assert list(zip(comparison["scenario"], comparison["policy"], strict=True)) == [
        (s, p) for s in ("desk", "mmc") for p in ("fifo", "cmu", "random")]
    assert (bench / "report.html").is_file() and list((bench / "plots").glob("*.png"))
    assert len(list((bench / "jobs").rglob("*.json"))) == 18
    manifest = json.loads((bench / "manifest.json").read_text())
    assert manifest["ran"] == 18 and manifest["failed"] == []


def test_runs_match_a_direct_simulation(bench: Path, desk: Path) -> None:
    runs = pd.read_csv(bench / "runs.csv").set_index(["scenario", "policy", "seed"])
    [scenario] = load_scenarios([str(desk)])
    direct = simulate_run(scenario, "cmu", 2).summary.iloc[-1]
    assert runs.loc[("desk", "cmu", 2), "cost_per_hour"] == pytest.approx(direct["cost_per_hour"],
                                                                         rel=1e-12)
    assert runs.loc[("desk", "cmu", 2), "arrived"] == direct["arrived"]


def test_comparison_is_the_t_interval_and_the_difference_paired_by_seed(bench: Path) -> None:
    runs = pd.read_csv(bench / "runs.csv")
    comparison = pd.read_csv(bench / "comparison.csv").set_index(["scenario", "policy"])
    desk = runs[runs["scenario"] == "desk"].pivot(index="seed", columns="policy",
                                                  values="cost_per_hour")
    best = desk[["fifo", "cmu", "random"]].mean().idxmin()
    assert (comparison.loc["desk", "best_heuristic"] == best).all()
    for policy in ("fifo", "cmu", "random"):
        row = comparison.loc[("desk", policy)]
        cost = t_interval(desk[policy], bounds=NON_NEGATIVE)  # a cost is never negative
        assert (row["cost_per_hour"], row["cost_per_hour_ci_low"], row["cost_per_hour_ci_high"]
                ) == pytest.approx((cost.mean, cost.low, cost.high), rel=1e-9)
        diff = t_interval(desk[policy] - desk[best])
        assert row["cost_diff_vs_best"] == pytest.approx(diff.mean, abs=1e-9)
        if policy != best:
            assert (row["cost_diff_ci_low"], row["cost_diff_ci_high"]) == pytest.approx(
                (diff.low, diff.high), rel=1e-9)
    # On one queue every non-idling policy serves the same tickets: identical days.
    mmc = comparison.loc["mmc"]
    assert (mmc["cost_diff_vs_best"] == 0).all() and (mmc["cost_diff_ci_high"] == 0).all()


def test_queue_length_by_hour_integrates_the_waiting_time(desk: Path) -> None:
    # The area under the hourly queue length is the time tickets spent waiting
    # within the horizon: an identity, exact up to rounding.
    [scenario] = load_scenarios([str(desk)])
    [job] = simulation_jobs([scenario], ["fifo"], [1])
    result = run_simulation(job.payload)
    hourly = pd.DataFrame(result["hourly"])
    queue = hourly[hourly["series"] == "queue_length"]
    tickets = simulate_run(scenario, "fifo", 1).tickets
    left = np.where(np.isfinite(tickets["start_min"]), tickets["start_min"], tickets["end_min"])
    horizon = scenario.horizon_minutes
    waited = np.clip(np.minimum(left, horizon) - tickets["arrival_min"], 0, None).sum()
    assert queue["value"].sum() * 60 == pytest.approx(waited, rel=1e-9)
    # The wait histogram counts every counted, answered ticket once.
    waits = pd.DataFrame(result["waits"])
    summary = pd.DataFrame(result["summary"]).set_index("ticket_type")
    for name in ("fraud", "card"):
        assert waits.loc[waits["ticket_type"] == name, "answered"].sum() == summary.loc[
            name, "served"]
    assert set(wait_edges(scenario)) >= {1.0, 3.0}  # the SLA limits are bin edges


def test_a_rerun_resumes_and_runs_only_missing_jobs(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    args = ["benchmark", "mmc", "--policies", "fifo,cmu", "--seeds", "2", "--workers", "1",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    first = (out / "runs.csv").read_text()
    kept = out / "jobs" / "mmc" / "fifo" / "seed-0000.json"
    kept_text = kept.read_text()
    (out / "jobs" / "mmc" / "cmu" / "seed-0001.json").unlink()
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["ran"], manifest["skipped"]) == (1, 3)
    assert kept.read_text() == kept_text  # a finished job is not run again
    assert (out / "runs.csv").read_text() == first


def test_local_and_ray_backends_give_identical_runs(
        tmp_path: Path, desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray", reason="ray is not installed")
    local, remote = tmp_path / "local", tmp_path / "ray"
    args = ["--policies", "fifo,cmu", "--seeds", "2", "--workers", "2", "--quiet"]
    assert main(["benchmark", str(desk), *args, "--out", str(local)]) == 0
    code = main(["benchmark", str(desk), *args, "--backend", "ray", "--out", str(remote)])
    said = capsys.readouterr().err
    if code == 2 and "cannot start or join Ray" in said:
        pytest.skip(f"ray cannot start here: {said.strip()}")
    assert code == 0
    assert (remote / "runs.csv").read_text() == (local / "runs.csv").read_text()
    assert (remote / "comparison.csv").read_text() == (local / "comparison.csv").read_text()


@pytest.mark.parametrize("args, message", [
    (["benchmark", "mmc", "--policies", "fifo,cmuu"], "--policies: unknown policy 'cmuu'"),
    (["benchmark", "mmc", "no_such_scenario"], "no_such_scenario"),
    (["benchmark", "mmc", "--policies", "fifo,,cmu"], "--policies: empty policy name"),
    (["benchmark", "mmc", "--address", "10.0.0.1:6379"], "--address: only with --backend ray"),
    (["benchmark", "mmc", "--policies", "model:/no/such/model.zip"], "--policies"),
])
def test_bad_input_is_one_line_and_exit_2_before_any_job(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    out = tmp_path / "out"
    assert main([*args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not out.exists()


def test_bad_input_by_the_console_script(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "experiments.cli", "benchmark", "mmc",
                           "--policies", "nope", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "Traceback" not in done.stderr


def test_policies_default_to_every_heuristic() -> None:
    from agents.heuristics import HEURISTICS

    assert parse_policies(None, load_scenarios(["mmc"])) == list(HEURISTICS)


def test_sweep_runs_its_grid_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    config = tmp_path / "sweep.yaml"
    out = tmp_path / "sweep"
    config.write_text(f"name: tiny\nout: {out}\nscenarios: [mmc]\npolicies: [fifo, random]\n"
                      "seeds: [3, 5]\nworkers: 1\n")
    assert main(["sweep", str(config), "--quiet"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(zip(runs["policy"], runs["seed"], strict=True)) == [
        ("fifo", 3), ("fifo", 5), ("random", 3), ("random", 5)]
    assert main(["sweep", str(config), "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["skipped"] == 4
    config.write_text("name: tiny\nscenarios: [mmc]\nseeds: many\n")
    assert main(["sweep", str(config)]) == 2
    assert "seeds" in capsys.readouterr().err


def test_optimal_is_left_out_where_the_solver_cannot_reach():
    from agents.errors import PolicyError
    from experiments.benchmark import not_applicable

    small, big = load_scenarios(["mmc", "fintech_day"])
    assert parse_policies("fifo,optimal", [small, big]) == ["fifo", "optimal"]
    assert not_applicable("optimal", small) is None
    assert "events" in not_applicable("optimal", big)
    keys = [job.key for job in simulation_jobs([small, big], ["fifo", "optimal"], [0])]
    assert keys == ["mmc/fifo/seed-0000", "mmc/optimal/seed-0000", "fintech_day/fifo/seed-0000"]
    with pytest.raises(PolicyError, match="--policies: optimal: fintech_day"):
        parse_policies("optimal", [big])


def test_hourly_series_only_for_scenarios_whose_hours_differ(bench: Path) -> None:
    # mmc has constant rates and head counts: its hours would repeat the day's figures.
    hourly = pd.read_csv(bench / "hourly.csv")
    assert set(hourly["scenario"]) == {"desk"}
    desk = hourly[hourly["policy"] == "fifo"]
    assert {"queue_length", "arrived", "answered_in_sla"} <= set(desk["series"])
