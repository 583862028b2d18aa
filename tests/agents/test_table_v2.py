"""Version 2 tables: scenario_facts, index defaults, the upgrade from version 1, the vectors."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.errors import PolicyError
from agents.index.rule import IndexRule
from agents.tables.document import bind_document, index_default, repository_spec, upgrade_document
from agents.tables.facts import canonical_scenario_json, scenario_facts
from agents.tables.read import parse_document, read_document
from agents.tables.vectors import OUT, apply_change, build, dumps
from experiments.cli import main
from sim.model import SupportModel
from sim.scenario import list_scenarios, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads(OUT.read_text(encoding="utf-8"))
SHIPPED = sorted((ROOT / "results" / "tables").glob("*.json"))


def test_the_vectors_file_is_what_the_generator_writes():
    # The generator checks every hand-written case against its author's expectation
    # and computes every expected value with the Python reader; a stale file fails here.
    assert OUT.read_text(encoding="utf-8") == dumps(build()) + "\n", \
        "run: python -m agents.tables.vectors"


def test_vectors_cover_every_default_and_each_shipped_table():
    defaults = {b["table"]["default"] if isinstance(b["table"]["default"], str)
                else b["table"]["default"]["kind"] for b in VECTORS["tables"]}
    assert defaults == {"fifo", "priority", "cmu", "gcmu", "lqf", "sla", "cmu_theta",
                        "cmu_holding", "maxweight", "index"}
    files = {e["file"] for e in VECTORS["shipped_tables"]}
    assert files == {p.relative_to(ROOT).as_posix() for p in SHIPPED}
    for entry in VECTORS["shipped_tables"]:
        found = [c["found"] for c in entry["cases"]]
        assert False in found, f"{entry['file']}: no state whose key misses"
    by = {c["by"] for b in VECTORS["tables"] for c in b["cases"]}
    assert by == {"table", "default"}
    assert any(c["action"] == "hold" and c["by"] == "default"
               for b in VECTORS["tables"] for c in b["cases"]), "no index default that holds"


def test_scenario_facts_of_n_model_are_its_rates():
    facts = scenario_facts(load_scenario("n_model"))
    billing, tech = facts["ticket_types"]
    assert billing == {"name": "billing", "channel": "chat", "wait_cost_per_minute": 2.0,
                       "abandon_cost": 10.0, "abandon_rate_per_minute": 1 / 15,
                       "sla_minutes": 5.0}
    assert tech["abandon_rate_per_minute"] == 1 / 20 and tech["sla_minutes"] == 2.0
    team, generalists = facts["agent_groups"]
    assert team == {"name": "billing_team", "speed": {"billing": 1.0},
                    "service_rate_per_minute": {"billing": 1 / 6}}
    assert generalists["service_rate_per_minute"] == {"billing": 0.5 / 6, "tech": 1 / 5}


def test_a_type_that_never_abandons_has_rate_zero_and_no_sla_is_null():
    scenario = parse_scenario(VECTORS["scenario"])
    tech = scenario_facts(scenario)["ticket_types"][1]
    assert (tech["abandon_rate_per_minute"], tech["sla_minutes"]) == (0.0, None)


@pytest.mark.parametrize("path", list_scenarios(), ids=lambda p: p.stem)
def test_the_canonical_text_is_what_the_scenario_hash_covers(path):
    scenario = load_scenario(path)
    canonical = canonical_scenario_json(scenario)
    assert hashlib.sha256(canonical.encode()).hexdigest() == scenario.sha256()
    assert canonical.isascii() and canonical.startswith('{"agent_groups":{')


# -- upgrading version 1 ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_upgrade_keeps_rows_and_decisions_and_embeds_the_facts(path):
    shipped = json.loads(path.read_text(encoding="utf-8"))
    scenario = load_scenario(shipped["scenario"])
    # A shipped file of version 2 is checked as the upgrade of its version 1 form.
    document = {k: v for k, v in shipped.items() if k != "scenario_facts"} | {"version": 1}
    upgraded = upgrade_document(document, scenario)
    assert upgraded["version"] == 2 and document["version"] == 1  # the input is not changed
    if shipped["version"] == 2:
        assert upgraded == shipped
    assert upgraded["rows"] == document["rows"] and list(upgraded)[-1] == "rows"
    assert upgraded["scenario_facts"] == scenario_facts(scenario)
    assert {k: v for k, v in upgraded.items() if k not in ("version", "scenario_facts",
                                                           "source_policy")} == \
        {k: v for k, v in document.items() if k not in ("version", "source_policy")}
    assert "results/runs" not in upgraded["source_policy"]
    if scenario.name == "fintech_day":  # one day each: the same tickets start at the same times
        old = SupportModel(scenario, 1).run(bind_document(read_document(path), scenario))
        new = SupportModel(scenario, 1).run(bind_document(parse_document(upgraded), scenario))
        assert [(t.start, t.group) for t in old.tickets] == [(t.start, t.group) for t in new.tickets]
    assert upgrade_document(upgraded, scenario) == upgraded


def test_upgrade_refuses_a_table_of_another_scenario_version():
    path = ROOT / "results" / "tables" / "n_model-optimal.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(PolicyError, match="scenario_sha256: the table was built for another"):
        upgrade_document(document, load_scenario("fintech_day"))


@pytest.mark.parametrize(("spec", "expected"), [
    ("cmu_holding", "cmu_holding"),
    ("optimal", "optimal"),
    ("model:results/runs/train/fintech_day/demo/model.zip", "model-demo"),
    ("model:/tmp/elsewhere/policy.zip", "model-elsewhere"),
    ("table:../outside.json", "table-outside"),
    ("table:results/tables/n_model-optimal.json", "table:results/tables/n_model-optimal.json"),
])
def test_source_policy_names_no_file_outside_the_repository(spec, expected):
    assert repository_spec(spec) == expected


# -- reading version 2 --------------------------------------------------------------------------


def _vector_table(name: str) -> dict:
    return copy.deepcopy(next(b["table"] for b in VECTORS["tables"] if b["name"] == name))


@pytest.mark.parametrize("entry", VECTORS["invalid_tables"], ids=lambda e: e["what"][:50])
def test_invalid_tables_are_refused_naming_the_field(entry):
    document = apply_change(_vector_table(entry["table"]), entry)
    with pytest.raises(PolicyError) as error:
        parse_document(document, "bad.json")
    assert str(error.value).startswith(f"bad.json: {entry['field']}: ")
    assert "\n" not in str(error.value)


def test_random_stays_readable_in_version_1_only():
    document = _vector_table("fifo_default")
    assert parse_document({**document, "default": "random"}).table.default == "random"
    version2 = _vector_table("heuristic_fifo")
    with pytest.raises(PolicyError, match="default: unknown heuristic 'random'"):
        parse_document({**version2, "default": "random"})


def test_facts_that_differ_from_the_scenario_are_refused_unless_forced():
    scenario = parse_scenario(VECTORS["scenario"])
    document = _vector_table("heuristic_cmu")
    document["scenario_facts"]["ticket_types"][0]["wait_cost_per_minute"] = 3.0
    with pytest.raises(PolicyError, match="scenario_facts: differ from scenario 'vectors'"):
        bind_document(parse_document(document), scenario)
    assert bind_document(parse_document(document), scenario, force=True).non_idling


TINY = {
    "name": "tiny_index", "horizon_hours": 6,
    "ticket_types": {
        "billing": {"arrivals_per_hour": 30, "handle_minutes": {"dist": "exponential", "mean": 6},
                    "patience_minutes": {"dist": "exponential", "mean": 15},
                    "wait_cost_per_minute": 2, "abandon_cost": 10},
        "tech": {"arrivals_per_hour": 24, "handle_minutes": {"dist": "exponential", "mean": 5}}},
    "agent_groups": {"billing_team": {"agents": 3, "skills": {"billing": 1.0}},
                     "generalists": {"agents": 3, "skills": {"billing": 0.5, "tech": 1.0}}},
}


def test_an_index_default_routes_and_holds_exactly_like_the_index_rule():
    scenario = parse_scenario(TINY)
    weights, reserve, keep_free = [2.5, 1.0], [0, 2, 0, 0], [0, 1, 0, 0]
    rule = index_default(weights, scenario, reserve, keep_free)
    assert rule == {"kind": "index", "weights": {"billing": 2.5, "tech": 1.0},
                    "reserve": {"billing->generalists": 2},
                    "keep_free": {"billing->generalists": 1}}
    document = _vector_table("heuristic_fifo")
    document.update(scenario=scenario.name, scenario_sha256=scenario.sha256(),
                    scenario_facts=scenario_facts(scenario), default=rule,
                    actions=["billing->billing_team", "billing->generalists",
                             "tech->billing_team", "tech->generalists", "hold"])
    policy = HoldCounter(bind_document(parse_document(document), scenario))
    assert not policy.non_idling
    by_table = SupportModel(scenario, 2).run(policy)
    by_rule = SupportModel(scenario, 2).run(IndexRule(weights, reserve, keep_free))
    assert [(t.start, t.group) for t in by_table.tickets] == \
        [(t.start, t.group) for t in by_rule.tickets]
    assert policy.inner.counts.found == 0 and policy.holds > 0  # the reservations did bite


class HoldCounter:
    """A policy passed through, counting the times it holds."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.non_idling, self.holds = inner, inner.name, inner.non_idling, 0

    def reset(self, view, rng) -> None:
        self.inner.reset(view, rng)

    def decide(self, view, pairs) -> int:
        action = self.inner.decide(view, pairs)
        self.holds += action == view.hold
        return action


def test_reading_an_index_table_imports_no_torch(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_vector_table("index_default")))
    script = (
        "import sys\n"
        "from sim.scenario import parse_scenario\n"
        "from agents.tables.document import load_table_policy\n"
        "from agents.tables.vectors import SCENARIO\n"
        "policy = load_table_policy(sys.argv[1], parse_scenario(SCENARIO))\n"
        "assert not policy.non_idling\n"
        "heavy = ('torch', 'stable_baselines3', 'sb3_contrib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_the_command_line_runs_a_version_2_table_and_refuses_a_broken_one(tmp_path, capsys):
    scenario_path = tmp_path / "vectors.yaml"
    scenario_path.write_text(json.dumps(VECTORS["scenario"]))  # JSON is YAML
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_vector_table("index_default")))
    broken = apply_change(_vector_table("index_default"), VECTORS["invalid_tables"][-1])
    bad.write_text(json.dumps(broken))
    assert main(["simulate", str(scenario_path), "--policy", f"table:{good}",
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert main(["simulate", str(scenario_path), "--policy", f"table:{bad}",
                 "--out", str(tmp_path / "out2"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"routelab: error: {bad}: default.kind: expected 'index', got \"indx\"\n"
