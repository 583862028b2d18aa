"""`routelab simulate`: the files of the contract, and one line with exit 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from sim.metrics import SUMMARY_COLUMNS

CONTRACT_COLUMNS = ["scenario", "policy", "seed", "ticket_type", "arrived", "served", "abandoned",
                    "unresolved", "abandon_rate", "mean_wait_min", "p_wait", "p95_wait_min",
                    "service_level", "cost", "cost_per_hour"]
MICRO = """\
name: micro
horizon_hours: 6
warmup_hours: 1
ticket_types:
  chat: {arrivals_per_hour: 40, handle_minutes: {dist: exponential, mean: 4},
         patience_minutes: {dist: exponential, mean: 5}, sla_minutes: 1,
         wait_cost_per_minute: 2, abandon_cost: 3, transfers: {email: 0.2}}
  email: {channel: email, arrivals_per_hour: 10, handle_minutes: {dist: gamma, mean: 6, cv: 0.5}}
agent_groups:
  desk:
    shifts: [{start_hour: 0, end_hour: 4, agents: 5}, {start_hour: 4, end_hour: 6, agents: 4}]
    skills: {chat: 1.0, email: 0.7}
"""


@pytest.fixture
def micro(tmp_path: Path) -> Path:
    path = tmp_path / "micro.yaml"
    path.write_text(MICRO)
    return path


def test_simulate_writes_the_contract_files(micro, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", str(micro), "--policy", "cmu", "--seeds", "3", "--out", str(out)]) == 0
    assert "micro: cmu (mean over 3 seeds per row)" in capsys.readouterr().out
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert set(CONTRACT_COLUMNS) <= set(summary.columns)
    assert sorted(summary[summary.ticket_type == "ALL"].seed) == [0, 1, 2]
    assert set(summary.ticket_type) == {"chat", "email", "ALL"}
    tickets = pd.read_parquet(out / "tickets.parquet")
    for seed, rows in summary.groupby("seed"):
        mine = tickets[(tickets.seed == seed) & tickets.counted]
        by_type = rows.set_index("ticket_type")
        assert by_type.loc["ALL", "arrived"] == len(mine)
        assert by_type.loc["ALL", "arrived"] == by_type.loc[["chat", "email"], "arrived"].sum()
        assert by_type.loc["ALL", "cost"] == pytest.approx(by_type.loc[["chat", "email"], "cost"].sum())
        chat = mine[mine.ticket_type == "chat"]
        answered = chat[chat.outcome.isin(["served", "abandoned"])]
        assert by_type.loc["chat", "mean_wait_min"] == pytest.approx(answered.wait_min.mean())
        expected_cost = 2 * chat.wait_min.sum() + 3 * (chat.outcome == "abandoned").sum()
        assert by_type.loc["chat", "cost"] == pytest.approx(expected_cost)
        assert by_type.loc["chat", "cost_per_hour"] == pytest.approx(expected_cost / 5)
        within = ((chat.outcome == "served") & (chat.wait_min <= 1)).sum()
        assert by_type.loc["chat", "service_level"] == pytest.approx(within / len(chat))
    agents = pd.read_csv(out / "agents.csv")
    assert {"agent_group", "hour", "agents_scheduled", "busy_agents", "utilisation"} <= set(agents.columns)
    first_hours = agents[(agents.seed == 0) & (agents.hour < 6)].set_index("hour")
    assert list(first_hours.agents_scheduled) == [5, 5, 5, 5, 4, 4]
    # Busy agents never exceed the head count, except at 4 h when the fifth
    # agent's shift ends and they finish the ticket in hand (overtime).
    assert (first_hours.busy_agents <= first_hours.agents_scheduled + 1e-9).loc[[0, 1, 2, 3, 5]].all()
    assert first_hours.busy_agents.loc[4] <= 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [0, 1, 2] and manifest["policy"] == "cmu"
    assert len(manifest["scenario_sha256"]) == 64 and manifest["routelab_version"]


def one_line_error(args: list[str], capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_bad_inputs_exit_2_with_one_line(micro, tmp_path, capsys):
    out = str(tmp_path / "o")
    err = one_line_error(["simulate", str(micro), "--policy", "cmuu", "--out", out], capsys)
    assert "--policy" in err and "did you mean cmu" in err
    err = one_line_error(["simulate", str(tmp_path / "nope.yaml"), "--policy", "fifo"], capsys)
    assert "nope.yaml" in err and "no such file" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(MICRO.replace("mean: 6, cv: 0.5", "mean: 6"))
    err = one_line_error(["simulate", str(bad), "--policy", "fifo", "--out", out], capsys)
    assert "bad.yaml: ticket_types.email.handle_minutes.cv: required for gamma" in err
    err = one_line_error(["simulate", str(micro), "--policy", "table:/no/such.json"], capsys)
    assert "such.json" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = one_line_error(["simulate", str(micro), "--policy", "fifo", "--out",
                          str(blocker / "sub")], capsys)
    assert "--out" in err


def test_unknown_option_is_a_usage_error(micro, capsys):
    assert main(["simulate", str(micro), "--policy", "fifo", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_installed_command_prints_no_traceback(micro, tmp_path):
    routelab = Path(sys.executable).with_name("routelab")
    done = subprocess.run([str(routelab), "simulate", str(micro), "--policy", "nope"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("routelab: error: --policy: unknown policy 'nope'")
    assert "Traceback" not in done.stderr


def test_heuristic_simulation_never_imports_torch(micro, tmp_path):
    code = ("import sys; from experiments.cli import main; "
            f"main(['simulate', {str(micro)!r}, '--policy', 'sla', '--quiet', '--out', "
            f"{str(tmp_path / 'o')!r}]); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
