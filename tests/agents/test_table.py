"""The lookup-table reader: test vectors, checks of every field, fallback, no torch."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.registry import make_policy
from agents.tables.document import load_table_policy
from agents.tables.keys import bin_index, pair_name
from agents.tables.read import parse_table, read_table
from experiments.cli import main
from sim.model import SupportModel
from sim.scenario import load_scenario, parse_scenario
from sim.views import StateView

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs" / "lookup-table-vectors.json").read_text())
VECTOR_SCENARIO = parse_scenario(VECTORS["scenario"], "<vectors>")
N_MODEL = """\
name: tiny_n
horizon_hours: 4
ticket_types:
  billing: {arrivals_per_hour: 30, handle_minutes: {dist: exponential, mean: 6},
            patience_minutes: {dist: exponential, mean: 15}, wait_cost_per_minute: 2}
  tech: {arrivals_per_hour: 24, handle_minutes: {dist: exponential, mean: 5}}
agent_groups:
  billing_team: {agents: 3, skills: {billing: 1.0}}
  generalists: {agents: 3, skills: {billing: 0.5, tech: 1.0}}
"""


def _cases() -> list[tuple[str, dict, dict]]:
    return [(f"{block['name']}: {case['what']}", block["table"], case)
            for block in VECTORS["tables"] if block["table"]["version"] == 1
            for case in block["cases"]]


@pytest.mark.parametrize(("label", "table", "case"), _cases(), ids=lambda v: str(v)[:60])
def test_reader_matches_the_test_vectors(label, table, case):
    policy = make_table(table, VECTOR_SCENARIO)
    view = StateView.from_mapping(VECTOR_SCENARIO, case["state"])
    pairs = view.feasible_pairs()
    assert [pair_name(VECTOR_SCENARIO, p) for p in pairs] == case["feasible"]
    assert list(policy.key(view)) == case["key"]
    assert (policy.stored_action(view) is not None) == case["found"]
    assert pair_name(VECTOR_SCENARIO, policy.decide(view, pairs)) == case["action"]
    assert policy.counts.used == (case["by"] == "table")


def test_vectors_cover_each_rule():
    whats = " ".join(case["what"] for _, _, case in _cases())
    for rule in ("equal to an edge", "above the last edge", "below the first edge", "wraps",
                 "stored hold", "infeasible", "lowest pair index", "longer-idle group"):
        assert rule in whats


def make_table(document: dict, scenario, **kwargs):
    from agents.tables.policy import bind_table

    return bind_table(parse_table(document, "<test>"), scenario, **kwargs)


@pytest.mark.parametrize(("value", "edges", "expected"), [
    (0, [0, 1, 3], 0), (1, [0, 1, 3], 1), (2.99, [0, 1, 3], 1), (3, [0, 1, 3], 2),
    (1e9, [0, 1, 3], 2), (-1, [0, 1, 3], 0), (0.5, [1, 3], 0), (7, [5], 0),
])
def test_bin_index_is_left_closed_with_an_open_last_bin(value, edges, expected):
    assert bin_index(value, edges) == expected


# -- whole runs -----------------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, object]:
    path = tmp_path / "tiny_n.yaml"
    path.write_text(N_MODEL)
    return path, load_scenario(path)


def empty_table(scenario, default: str, rows: list | None = None) -> dict:
    types, groups = scenario.type_names, scenario.group_names
    return {"format": "routelab-lookup-table", "version": 1, "scenario": scenario.name,
            "scenario_sha256": scenario.sha256(), "source_policy": "test",
            "features": [{"name": f"queue_len.{t}", "edges": [0, 1]} for t in types]
            + [{"name": f"idle_agents.{g}", "edges": [0, 1]} for g in groups],
            "actions": [pair_name(scenario, a) for a in range(len(types) * len(groups) + 1)],
            "default": default, "rows": rows or []}


def start_times(model: SupportModel) -> list[tuple[int, float, int]]:
    return [(t.id, t.start, t.group) for t in model.tickets]


@pytest.mark.parametrize("default", ["lqf", "priority"])
def test_unseen_keys_route_exactly_like_the_default(tiny, default):
    _, scenario = tiny
    policy = make_table(empty_table(scenario, default), scenario)
    assert policy.non_idling
    with_table = SupportModel(scenario, 3).run(policy)
    with_default = SupportModel(scenario, 3).run(make_policy(default, scenario))
    assert start_times(with_table) == start_times(with_default)
    assert policy.counts.lookups > 0 and policy.counts.found == 0


def test_stored_rows_are_used_and_infeasible_ones_fall_back(tiny):
    _, scenario = tiny
    # Key (billing waits, tech waits, billing_team idle, generalists idle): route billing to the
    # generalists whenever both may take it; the row for "no billing ticket" is never feasible.
    rows = [{"key": [1, 1, 1, 1], "action": 1}, {"key": [1, 0, 1, 1], "action": 1},
            {"key": [0, 1, 0, 1], "action": 1}]
    policy = make_table(empty_table(scenario, "cmu", rows), scenario)
    view = StateView.from_mapping(scenario, {"queue_len": {"billing": 2, "tech": 0},
                                "idle_agents": {"billing_team": 1, "generalists": 1}})
    assert policy.decide(view, view.feasible_pairs()) == 1  # cmu would pick billing->billing_team
    view = StateView.from_mapping(scenario, {"queue_len": {"tech": 1}, "idle_agents": {"generalists": 1}})
    assert policy.decide(view, view.feasible_pairs()) == 3  # stored billing pair infeasible
    assert (policy.counts.lookups, policy.counts.found, policy.counts.used) == (2, 2, 1)


def test_a_table_that_stores_hold_is_not_non_idling(tiny):
    _, scenario = tiny
    policy = make_table(empty_table(scenario, "fifo", [{"key": [1, 0, 1, 0], "action": 4}]),
                        scenario)
    assert not policy.non_idling
    view = StateView.from_mapping(scenario, {"queue_len": {"billing": 1}, "idle_agents": {"billing_team": 1}})
    assert policy.decide(view, view.feasible_pairs()) == 4


def test_simulate_mmc_with_a_table_matches_fifo(tmp_path):
    scenario = load_scenario("mmc")
    path = tmp_path / "mmc.json"
    path.write_text(json.dumps(empty_table(scenario, "fifo", [{"key": [1, 1], "action": 0}])))
    for policy in (f"table:{path}", "fifo"):
        assert main(["simulate", "mmc", "--policy", policy, "--out", str(tmp_path / policy[:4]),
                     "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "tabl" / "summary.csv")
    fifo = pd.read_csv(tmp_path / "fifo" / "summary.csv")
    assert table.loc[table.ticket_type == "ALL", "cost"].item() == pytest.approx(
        fifo.loc[fifo.ticket_type == "ALL", "cost"].item(), rel=1e-12)
    assert table.policy.iloc[0] == "table-mmc"


# -- malformed files: one line naming file and field, exit 2 -----------------------------


def _mutate(change):
    def build(scenario) -> str:
        document = empty_table(scenario, "fifo", [{"key": [1, 0, 1, 0], "action": 0}])
        result = change(copy.deepcopy(document))
        return result if isinstance(result, str) else json.dumps(result)
    return build


def _set(field: str, value):
    def change(document):
        document[field] = value
        return document
    return change


def _drop(field: str):
    def change(document):
        del document[field]
        return document
    return change


def _edges(document):
    document["features"][1]["edges"] = [0, 2, 2]
    return document


def _key_length(document):
    document["rows"][0]["key"] = [1, 0, 1]
    return document


def _action_range(document):
    document["rows"][0]["action"] = 5
    return document


MALFORMED = {
    "not JSON": (_mutate(lambda d: json.dumps(d)[:-3]), "not valid JSON"),
    "wrong format": (_mutate(_set("format", "routing-table")), "format: expected"),
    "wrong version": (_mutate(_set("version", 3)), "version: unsupported version 3"),
    "missing field": (_mutate(_drop("rows")), "rows: required"),
    "bad edges": (_mutate(_edges), "features[1].edges: must be strictly increasing"),
    "key length": (_mutate(_key_length), "rows[0].key: has 3 bin indices, expected 4"),
    "action out of range": (_mutate(_action_range), "rows[0].action: 5 out of range 0..4"),
    "unknown default": (_mutate(_set("default", "fastest")), "default: unknown heuristic"),
    "hash mismatch": (_mutate(_set("scenario_sha256", "0" * 64)), "scenario_sha256: built for"),
    "unknown feature": (_mutate(lambda d: {**d, "features": [{"name": "mood", "edges": [0]}]}),
                        "features[0].name: unknown feature 'mood'"),
    "unknown ticket type": (
        _mutate(lambda d: {**d, "actions": ["billing->nobody", *d["actions"][1:]]}),
        "actions[0]: 'billing->nobody' names a ticket type or agent group not in scenario"),
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_tables_are_one_line_exit_2(kind, tiny, tmp_path, capsys):
    scenario_path, scenario = tiny
    build, message = MALFORMED[kind]
    path = tmp_path / "bad.json"
    path.write_text(build(scenario))
    code = main(["simulate", str(scenario_path), "--policy", f"table:{path}",
                 "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"routelab: error: {path}: ")
    assert message in err
    with pytest.raises(PolicyError, match="bad.json"):
        load_table_policy(path, scenario)


def test_hash_mismatch_is_accepted_with_force(tiny, tmp_path):
    scenario_path, scenario = tiny
    path = tmp_path / "other.json"
    path.write_text(_mutate(_set("scenario_sha256", "0" * 64))(scenario))
    assert load_table_policy(path, scenario, force=True).non_idling
    assert main(["simulate", str(scenario_path), "--policy", f"table:{path}", "--force",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0


def test_a_missing_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        read_table(tmp_path / "absent.json")


def test_every_default_is_a_known_heuristic():
    for name in HEURISTICS:
        document = {**VECTORS["tables"][0]["table"], "default": name}
        assert parse_table(document).default == name


def test_reading_a_table_imports_no_torch(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(VECTORS["tables"][0]["table"]))
    script = (
        "import json, sys\n"
        "from sim.scenario import parse_scenario\n"
        "from agents.registry import make_policy\n"
        f"data = json.loads(open({str(ROOT / 'docs' / 'lookup-table-vectors.json')!r}).read())\n"
        "policy = make_policy('table:' + sys.argv[1], parse_scenario(data['scenario']))\n"
        "assert policy.name.startswith('table:')\n"
        "heavy = ('torch', 'stable_baselines3', 'sb3_contrib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"
