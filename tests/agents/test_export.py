"""Building tables: the file, the majority per key, fidelity, size, the `export` command."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.heuristics import HEURISTICS
from agents.registry import make_policy
from agents.tables.build import (
    ExportSettings,
    build_export,
    export_table,
    record,
)
from agents.tables.people import people_rows
from agents.tables.policy import bind_table
from agents.tables.read import parse_table, read_table
from experiments.cli import main
from experiments.runs import simulate_run
from sim.scenario import load_scenario, parse_scenario
from sim.seeds import RECORDING_BASE

# An N model: generalists serve both types, so most decisions are real choices.
# Speeds and costs make every c-mu score distinct (no ties for the table to miss).
N_MODEL = {
    "name": "tiny_n", "horizon_hours": 6,
    "ticket_types": {
        "billing": {"arrivals_per_hour": 30, "handle_minutes": {"dist": "exponential", "mean": 6},
                    "patience_minutes": {"dist": "exponential", "mean": 15},
                    "wait_cost_per_minute": 2.0},
        "tech": {"arrivals_per_hour": 24, "handle_minutes": {"dist": "exponential", "mean": 5},
                 "patience_minutes": {"dist": "exponential", "mean": 20}},
    },
    "agent_groups": {"billing_team": {"agents": 3, "skills": {"billing": 1.0}},
                     "generalists": {"agents": 3, "skills": {"billing": 0.5, "tech": 1.0}}},
}
# The majority machinery is tested with every row kept (the default prunes).
FAST = ExportSettings(days=3, seeds_eval=3, prune=False)


@pytest.fixture(scope="module")
def scenario():
    return parse_scenario(N_MODEL, "<tiny_n>")


@pytest.fixture(scope="module")
def fifo_export(scenario):
    return export_table(scenario, "fifo", FAST)


def test_the_file_follows_the_contract(scenario, fifo_export):
    document = json.loads(fifo_export.text)
    assert list(document)[:8] == ["format", "version", "scenario", "scenario_sha256",
                                  "source_policy", "features", "actions", "default"]
    assert document["format"] == "routelab-lookup-table" and document["version"] == 2
    assert document["scenario_sha256"] == scenario.sha256()
    assert document["actions"] == ["billing->billing_team", "billing->generalists",
                                   "tech->billing_team", "tech->generalists", "hold"]
    assert document["default"] == "fifo"  # a heuristic source is its own fallback
    names = [f["name"] for f in document["features"]]
    assert names[:2] == ["queue_len.billing", "queue_len.tech"]
    assert names[-2:] == ["idle_agents.billing_team", "idle_agents.generalists"]
    assert "hour_of_day" not in names  # heuristics never look at the clock
    for feature in document["features"]:
        if feature["name"].startswith(("queue_len", "idle_agents")):
            assert feature["edges"][:3] == [0, 1, 2]  # empty/none and one are bins of their own
    assert all(len(r["key"]) == len(names) for r in document["rows"])
    assert len(document["rows"]) == document["fidelity"]["train_keys"] > 0
    parse_table(document)  # the reader accepts what the writer wrote


def test_replaying_the_recorded_states_gives_the_majority_action(scenario, fifo_export):
    """The same source on the same training days: each state's key holds its majority action."""
    table = bind_table(parse_table(fifo_export.document), scenario)
    source = HEURISTICS["fifo"]()
    seen = []

    class Replay:
        name, non_idling = "replay", True

        def reset(self, view, rng):
            source.reset(view, rng)

        def decide(self, view, pairs):
            action = source.decide(view, pairs)
            seen.append((table.key(view), action, table.decide(view, pairs), tuple(pairs)))
            return action

    from sim.model import SupportModel

    for seed in range(RECORDING_BASE, RECORDING_BASE + FAST.days):
        SupportModel(scenario, seed).run(Replay())
    tallies = {}
    for key, action, _, _ in seen:
        tallies.setdefault(key, Counter())[action] += 1
    majority = {k: max(c, key=lambda a, c=c: (c[a], -a)) for k, c in tallies.items()}
    assert len(majority) == len(fifo_export.document["rows"])
    for key, action, by_table, pairs in seen:
        expected = majority[key] if majority[key] in pairs else action  # else fifo = source
        assert by_table == expected
    assert sum(a == majority[k] for k, a, _, _ in seen) < len(seen)  # fifo is not a pure table


def test_a_static_priority_is_reproduced_exactly(scenario):
    """c-mu depends only on which pairs are feasible, which every key encodes."""
    fidelity = export_table(scenario, "cmu", FAST).document["fidelity"]
    assert fidelity["agreement"] == 1.0
    assert fidelity["cost_diff_per_hour"] == 0.0
    assert fidelity["cost_diff_ci95"] == [0.0, 0.0]


def test_fidelity_cost_matches_independent_runs(scenario, fifo_export, tmp_path):
    fidelity = fifo_export.document["fidelity"]
    path = tmp_path / "t.json"
    path.write_text(fifo_export.text)
    costs = {spec: [simulate_run(scenario, spec, seed).summary.iloc[-1]["cost_per_hour"]
                    for seed in range(FAST.seeds_eval)] for spec in ("fifo", f"table:{path}")}
    diff = np.subtract(costs[f"table:{path}"], costs["fifo"])
    assert fidelity["cost_per_hour_source"] == pytest.approx(np.mean(costs["fifo"]), abs=1e-4)
    assert fidelity["cost_diff_per_hour"] == pytest.approx(diff.mean(), abs=1e-4)
    low, high = fidelity["cost_diff_ci95"]
    assert low <= diff.mean() <= high
    assert 0 < fidelity["agreement"] < 1 and 0 < fidelity["coverage"] <= 1
    assert fidelity["eval_seeds"] == [0, FAST.seeds_eval - 1]
    assert fidelity["bytes"] == len(fifo_export.text.encode())


def test_a_non_heuristic_source_gets_the_most_agreeing_default(scenario, tmp_path):
    """A c-mu table used as the source: c-mu agrees with it always, so c-mu is the default."""
    source = tmp_path / "cmu.json"
    source.write_text(export_table(scenario, "cmu", FAST).text)
    built = export_table(scenario, f"table:{source}", FAST)
    agreement = built.document["fidelity"]["default_agreement"]
    assert agreement["cmu"] == 1.0 and "random" not in agreement
    assert agreement["priority"] < 1.0  # priority sends generalists to billing first
    assert built.document["default"] == "cmu"
    assert built.document["fidelity"]["agreement"] == 1.0


def test_the_hour_of_day_is_a_feature_only_when_asked_for(scenario, fifo_export):
    assert "hour_of_day" not in [f["name"] for f in fifo_export.document["features"]]
    settings = ExportSettings(days=1, hour_edges=(3, 18), prune=False)
    recording = record(scenario, "cmu", [RECORDING_BASE], settings)
    built = build_export(scenario, "cmu", recording, settings)
    assert built.document["features"][-1] == {"name": "hour_of_day", "edges": [0, 3, 18]}
    hours = np.asarray(recording.values)[:, -1]
    assert hours.min() < 3 <= hours.max() < 18  # a 6-hour day from midnight, plus the drain
    assert {r["key"][-1] for r in built.document["rows"]} == {0, 1}


def test_the_size_budget_drops_the_rarest_keys(scenario):
    recording = record(scenario, "fifo", range(RECORDING_BASE, RECORDING_BASE + 3), FAST)
    full = build_export(scenario, "fifo", recording, FAST)
    budget = len(full.text) - 40 * 10 + 2_000  # room for all but about ten rows
    cut = build_export(scenario, "fifo", recording, ExportSettings(max_bytes=budget, prune=False))
    rows, kept = full.document["rows"], cut.document["rows"]
    assert 0 < len(rows) - len(kept) <= 15
    assert kept == rows[:len(kept)]  # the most visited keys stay
    visits = [full.tallies[tuple(r["key"])].decisions for r in rows]
    assert visits == sorted(visits, reverse=True)
    assert cut.document["fidelity"]["rows_dropped"] == len(rows) - len(kept)


def test_prune_keeps_only_rows_that_beat_the_fallback(scenario):
    recording = record(scenario, "fifo", range(RECORDING_BASE, RECORDING_BASE + 2), FAST)
    pruned = build_export(scenario, "fifo", recording, ExportSettings(prune=True))
    assert pruned.document["rows"] == []  # nothing beats fifo at routing like fifo


def test_export_is_deterministic(scenario, fifo_export):
    again = export_table(scenario, "fifo", FAST)
    assert again.text == fifo_export.text


def test_people_rows_say_the_state_in_words(fifo_export):
    rows = people_rows(fifo_export)
    assert len(rows) == len(fifo_export.document["rows"])
    assert rows[0]["decisions"] >= rows[-1]["decisions"] >= 1
    for row in rows:
        assert row["action"] in fifo_export.document["actions"]
        assert row["idle generalists"] in {"0", "1", "2+"}
        for ticket_type in ("billing", "tech"):
            empty = row[f"queue {ticket_type}"] == "0"
            assert (f"queue {ticket_type} " in row["state"]) != empty
            assert (f"wait {ticket_type} " in row["state"]) != empty
        assert ("idle generalists " in row["state"]) == (row["idle generalists"] != "0")


# -- the command ---------------------------------------------------------------------------


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_n.yaml"
    path.write_text(json.dumps(N_MODEL))  # JSON is YAML
    return path


def test_export_command_writes_json_and_csv(scenario_file, tmp_path, capsys):
    out = tmp_path / "tables" / "cmu.json"
    code = main(["export", "cmu", "--scenario", str(scenario_file), "--out", str(out),
                 "--days", "2", "--seeds-eval", "2", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "agreement with the source  100.0%" in printed
    assert "paired difference +0.00" in printed
    table = read_table(out)
    policy = make_policy(f"table:{out}", load_scenario(scenario_file))
    assert policy.non_idling and table.default == "cmu"
    people = pd.read_csv(out.with_suffix(".csv"))
    assert len(people) == len(table.rows)
    assert {"state", "action", "decisions", "key"} <= set(people.columns)
    assert not list(out.parent.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_a_table_without_rows_still_gets_a_csv_header(tmp_path):
    """One type, one group: a non-idling source is never asked, so no row is stored."""
    path = tmp_path / "mm1.yaml"
    one_queue = {**N_MODEL, "ticket_types": {"tech": N_MODEL["ticket_types"]["tech"]},
                 "agent_groups": {"desk": {"agents": 2, "skills": {"tech": 1.0}}}}
    path.write_text(json.dumps(one_queue))
    out = tmp_path / "mm1.json"
    assert main(["export", "fifo", "--scenario", str(path), "--out", str(out), "--days", "1",
                 "--seeds-eval", "1", "--quiet"]) == 0
    assert read_table(out).rows == {}
    people = pd.read_csv(out.with_suffix(".csv"))
    assert list(people.columns) == ["state", "action", "decisions", "share_choosing_action",
                                    "queue tech", "idle desk", "key"]


@pytest.mark.parametrize(("args", "out_name", "message"), [
    (["fastest"], "t.json", "--policy: unknown policy 'fastest'"),
    (["cmu"], "t.txt", "--out"),
    (["cmu", "--hour-edges", "3,1"], "t.json", "--hour-edges: hours must be increasing"),
])
def test_export_command_bad_input_is_one_line_exit_2(scenario_file, tmp_path, capsys, args,
                                                     out_name, message):
    out = tmp_path / out_name
    code = main(["export", args[0], "--scenario", str(scenario_file), "--out", str(out),
                 "--quiet", *args[1:]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not out.exists()
