"""`routelab tune --objective sla` end to end, and `audit --help` without heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from experiments.cli import main

SCENARIO = """\
name: two_types
horizon_hours: 30
warmup_hours: 2
ticket_types:
  urgent: {arrivals_per_hour: 10, wait_cost_per_minute: 2.0,
           handle_minutes: {dist: exponential, mean: 4}}
  routine: {arrivals_per_hour: 20, wait_cost_per_minute: 1.0,
            handle_minutes: {dist: exponential, mean: 4}, sla_minutes: 2, sla_target: 0.7}
agent_groups:
  desk: {agents: 3, skills: {urgent: 1.0, routine: 1.0}}
"""


def test_tune_for_the_targets_writes_a_rule_that_simulate_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "two_types.yaml"
    scenario.write_text(SCENARIO)
    rule = tmp_path / "rule.json"
    assert main(["tune", str(scenario), "--objective", "sla", "--seeds", "3", "--days", "4",
                 "--workers", "1", "--out", str(rule), "--quiet"]) == 0
    document = json.loads(rule.read_text())
    tuning, judged = document["tuning"], document["evaluation"]
    assert tuning["objective"] == "sla" and tuning["feasible"] is True
    assert tuning["service_levels"]["routine"] >= 0.7
    assert tuning["multipliers"]["urgent"] == 0.0  # no target, no price
    out = tmp_path / "sim"
    assert main(["simulate", str(scenario), "--policy", f"index:{rule}", "--seeds", "3",
                 "--out", str(out), "--quiet"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    routine = summary[summary["ticket_type"] == "routine"]["service_level"].mean()
    assert abs(routine - judged["service_levels"]["routine"]) <= 5e-5  # stored to 4 decimals
    assert judged["shortfall"] == max(0.0, round(0.7 - routine, 4))


def test_audit_help_imports_no_heavy_library() -> None:
    code = ("import sys\nfrom experiments.cli import main\nmain(['audit', '--help'])\n"
            "heavy = ('pandas', 'scipy', 'matplotlib', 'gymnasium', 'torch', 'ray')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=60)
    assert shown.stdout.strip().splitlines()[-1] == "[]"
    assert "--baseline" in shown.stdout
