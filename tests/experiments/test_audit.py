"""routelab audit: stressed figures equal `routelab simulate` on the stressed file, exactly;
each stress changes what it says and nothing else; the findings follow the numbers."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from experiments.audit.stresses import STRESSES, peak_window, stressed
from experiments.cli import main
from sim.scenario import load_scenario, parse_scenario

SCENARIO = """\
name: two_queues
horizon_hours: 8
warmup_hours: 1
ticket_types:
  fraud: {channel: phone, arrivals_per_hour: 8,
          hourly_profile: [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
          handle_minutes: {dist: exponential, mean: 6},
          patience_minutes: {dist: exponential, mean: 4}, sla_minutes: 1, sla_target: 0.8,
          wait_cost_per_minute: 4, abandon_cost: 20}
  disputes: {channel: email, arrivals_per_hour: 16, handle_minutes: {dist: gamma, mean: 5, cv: 0.5},
             sla_minutes: 30, sla_target: 0.8}
agent_groups:
  desk: {agents: 3, skills: {fraud: 1.0, disputes: 1.0}}
  phones: {shifts: [{start_hour: 0, end_hour: 6, agents: 2}, {start_hour: 6, end_hour: 24, agents: 1}],
           skills: {fraud: 1.0}}
"""
SEEDS = 2


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit")
    (folder / "two_queues.yaml").write_text(SCENARIO)
    out = folder / "out"
    assert main(["audit", "cmu", "--scenario", str(folder / "two_queues.yaml"), "--seeds",
                 str(SEEDS), "--baseline", "fifo", "--out", str(out), "--workers", "1",
                 "--quiet"]) == 0
    return out


def _simulate(scenario: Path, policy: str, out: Path) -> pd.DataFrame:
    assert main(["simulate", str(scenario), "--policy", policy, "--seeds", str(SEEDS),
                 "--out", str(out), "--quiet", "--force"]) == 0
    return pd.read_csv(out / "summary.csv")  # pandas reads floats back exactly


@pytest.mark.parametrize("stress", list(STRESSES))
def test_a_stress_equals_simulate_on_its_scenario_file(audited: Path, tmp_path: Path,
                                                       stress: str) -> None:
    audit = json.loads((audited / "audit.json").read_text())
    row = next(r for r in audit["robustness"] if r["stress"] == stress)
    for policy, key in (("cmu", "policy"), ("fifo", "baseline")):
        summary = _simulate(audited / row["scenario_file"], policy, tmp_path / policy)
        means = summary.groupby("ticket_type", sort=False)[["cost_per_hour",
                                                            "service_level"]].mean()
        assert row[f"{key}_cost_per_hour"] == means.loc["ALL", "cost_per_hour"]
        for cell in row["by_type"]:
            field = "service_level" if key == "policy" else "baseline_service_level"
            assert cell[field] == means.loc[cell["ticket_type"], "service_level"]


def test_the_unstressed_figures_equal_simulate(audited: Path, tmp_path: Path) -> None:
    audit = json.loads((audited / "audit.json").read_text())
    summary = _simulate(audited.parent / "two_queues.yaml", "cmu", tmp_path / "cmu")
    means = summary.groupby("ticket_type", sort=False).mean(numeric_only=True)
    fairness = audit["fairness"]
    assert fairness["cost_per_hour"] == means.loc["ALL", "cost_per_hour"]
    for row in fairness["by_type"]:
        expected = means.loc[row["ticket_type"]]
        assert row["service_level"] == expected["service_level"]
        assert row["p95_wait_min"] == expected["p95_wait_min"]
        assert row["shortfall"] == max(0.0, row["sla_target"] - row["service_level"])
    worst = max(fairness["by_type"], key=lambda r: r["shortfall"])
    if worst["shortfall"] > 0:
        assert fairness["worst_served"]["ticket_type"] == worst["ticket_type"]


def test_each_stress_changes_what_it_says_and_nothing_else() -> None:
    base = parse_scenario(yaml.safe_load(SCENARIO))
    original = base.content()
    # Fraud doubles in hours 4-7 of the profile: the busiest four hours are 4-8.
    assert peak_window(base) == (4.0, 8.0)
    for stress in STRESSES:
        scenario, words = stressed(base, stress)
        changed = scenario.content()
        assert changed["name"] != original["name"] and words
        changed.pop("name"), changed.pop("description")
        expected = {k: copy.deepcopy(v) for k, v in original.items()
                    if k not in ("name", "description")}
        types, events = changed["ticket_types"], changed["events"]
        if stress.startswith("arrivals_x"):
            factor = float(stress.removeprefix("arrivals_x"))
            assert types["fraud"]["arrivals_per_hour"] == 8 * factor
            assert types["disputes"]["arrivals_per_hour"] == 16 * factor
            for name in types:
                expected["ticket_types"][name] = dict(
                    expected["ticket_types"][name],
                    arrivals_per_hour=types[name]["arrivals_per_hour"])
        elif stress == "handle_x1.1":
            assert types["fraud"]["handle_minutes"]["mean"] == 6 * 1.1
            assert types["disputes"]["handle_minutes"]["cv"] == 0.5
            for name in types:
                expected["ticket_types"][name] = dict(expected["ticket_types"][name],
                                                      handle_minutes=types[name]["handle_minutes"])
        elif stress == "patience_x0.5":
            assert types["fraud"]["patience_minutes"]["mean"] == 2.0
            assert types["disputes"]["patience_minutes"] is None
            expected["ticket_types"]["fraud"] = dict(
                expected["ticket_types"]["fraud"], patience_minutes=types["fraud"]["patience_minutes"])
        elif stress == "absence_20pct":
            # desk: 20% of 3 rounds to 1; phones: 20% of up to 2 rounds to 0, at least 1
            assert events == [
                {"kind": "absence", "group": "desk", "start_hour": 4.0, "end_hour": 8.0,
                 "agents": 1},
                {"kind": "absence", "group": "phones", "start_hour": 4.0, "end_hour": 8.0,
                 "agents": 1}]
            expected["events"] = events
        elif stress == "surge_x2":
            # counted hours 1-8: disputes 16/h x 7 = 112 arrivals > fraud 8/h x (3 + 2 x 4) = 88
            assert events == [{"kind": "surge", "ticket_types": ["disputes"], "start_hour": 4.0,
                               "end_hour": 8.0, "factor": 2.0}]
            expected["events"] = events
        assert changed == expected, stress


def test_the_page_marks_misses_and_links_every_stress_file(audited: Path) -> None:
    audit = json.loads((audited / "audit.json").read_text())
    page = (audited / "audit.html").read_text()
    for row in audit["robustness"]:
        assert f"href='{row['scenario_file']}'" in page
        assert (audited / row["scenario_file"]).is_file()
        assert load_scenario(audited / row["scenario_file"]).name.endswith(
            row["stress"].replace(".", "_"))
    misses = sum(1 for r in audit["fairness"]["by_type"] if r["shortfall"])
    misses += sum(1 for r in audit["fairness"]["by_type"]
                  if r["baseline_service_level"] < r["sla_target"])
    misses += sum(1 for row in audit["robustness"] for c in row["by_type"] if c["shortfall"])
    misses += sum(1 for r in audit["fairness"]["by_channel"] if r["shortfall"])
    # the unstressed row of the stress table repeats the policy's own misses
    misses += sum(1 for r in audit["fairness"]["by_type"] if r["shortfall"])
    assert page.count("class='miss'") == misses > 0
    decisions = audit["transparency"]
    assert decisions["decisions"] > 0 and 0 <= decisions["departures"]["share"] <= 1
    assert sum(r["decisions"] for r in decisions["rules"]) <= decisions["decisions"]


def test_bad_policy_or_baseline_is_one_line_and_exit_2(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "nonsense", "--scenario", "mmc", "--out", str(tmp_path)]) == 2
    assert main(["audit", "cmu", "--scenario", "mmc", "--baseline", "model:x",
                 "--out", str(tmp_path)]) == 2
    assert main(["audit", "optimal", "--scenario", "mmc", "--out", str(tmp_path)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and "--baseline" in errors[1] and "table:" in errors[2]
