"""Every rule of the scenario schema, and the one-line message that names the field."""

from __future__ import annotations

import copy

import pytest

from sim.scenario import ScenarioError, list_scenarios, load_scenario, parse_scenario

BASE = {
    "name": "base",
    "horizon_hours": 24,
    "ticket_types": {
        "card_issue": {"arrivals_per_hour": 10,
                       "handle_minutes": {"dist": "lognormal", "mean": 7.5, "cv": 0.8}},
        "fraud": {"arrivals_per_hour": 2, "handle_minutes": {"dist": "exponential", "mean": 12}},
    },
    "agent_groups": {
        "generalists": {"agents": 5, "skills": {"card_issue": 1.0, "fraud": 0.5}},
    },
}


def edited(path: str, value: object) -> dict:
    """BASE with the field at a dotted path set (or deleted when value is ...)."""
    data = copy.deepcopy(BASE)
    *parents, leaf = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return data


BAD = [
    ("name", "no spaces allowed", "name", "should match pattern"),
    ("name", ..., "name", "required"),
    ("horizon_hours", -1, "horizon_hours", "greater than 0"),
    ("warmup_hours", 30, "warmup_hours", "must be < horizon_hours"),
    ("ticket_types", {}, "ticket_types", "at least one ticket type"),
    ("ticket_types.card_issue.channel", "fax", "ticket_types.card_issue.channel", "'chat'"),
    ("ticket_types.card_issue.arrivals_per_hour", -3, "ticket_types.card_issue.arrivals_per_hour",
     "greater than or equal to 0"),
    ("ticket_types.card_issue.hourly_profile", [1.0] * 23,
     "ticket_types.card_issue.hourly_profile", "needs 24 numbers"),
    ("ticket_types.card_issue.hourly_profile", [1.0] * 23 + [-1.0],
     "ticket_types.card_issue.hourly_profile", ">= 0"),
    ("ticket_types.card_issue.handle_minutes.cv", ...,
     "ticket_types.card_issue.handle_minutes.cv", "required for lognormal"),
    ("ticket_types.card_issue.handle_minutes.dist", "weibull",
     "ticket_types.card_issue.handle_minutes.dist", "'exponential'"),
    ("ticket_types.card_issue.handle_minutes.mean", 0, "ticket_types.card_issue.handle_minutes.mean",
     "greater than 0"),
    ("ticket_types.card_issue.patience_minutes", {"dist": "gamma", "mean": 3},
     "ticket_types.card_issue.patience_minutes.cv", "required for gamma"),
    ("ticket_types.card_issue.sla_target", 1.5, "ticket_types.card_issue.sla_target",
     "less than or equal to 1"),
    ("ticket_types.card_issue.transfers", {"nope": 0.1}, "ticket_types.card_issue.transfers.nope",
     "unknown ticket type"),
    ("ticket_types.card_issue.transfers", {"fraud": 0.7, "card_issue": 0.6},
     "ticket_types.card_issue.transfers", "add up to 1.3 > 1"),
    ("ticket_types.card_issue.colour", "red", "ticket_types.card_issue.colour", "unknown field"),
    ("agent_groups", {}, "agent_groups", "at least one agent group"),
    ("agent_groups.generalists.skills", {"card_issue": 1.0, "loans": 1.0},
     "agent_groups.generalists.skills.loans", "unknown ticket type"),
    ("agent_groups.generalists.skills", {"card_issue": 1.0},
     "ticket_types.fraud", "no agent group has this skill"),
    ("agent_groups.generalists.skills", {"card_issue": 1.0, "fraud": 0},
     "agent_groups.generalists.skills.fraud", "speed must be > 0"),
    ("agent_groups.generalists.agents", ..., "agent_groups.generalists.agents",
     "either agents"),
    ("agent_groups.generalists.shifts", [{"start_hour": 7, "end_hour": 15, "agents": 2}],
     "agent_groups.generalists.agents", "either agents"),
    ("agent_groups.generalists.agents", -2, "agent_groups.generalists.agents",
     "greater than or equal to 0"),
    ("agent_groups.generalists", {"shifts": [{"start_hour": 7, "end_hour": 7, "agents": 2}],
                                  "skills": {"card_issue": 1.0, "fraud": 1.0}},
     "agent_groups.generalists.shifts.0.end_hour", "equals start_hour"),
    ("events", [{"kind": "surge", "ticket_types": ["loans"], "start_hour": 1, "end_hour": 2,
                 "factor": 2}], "events.0.ticket_types", "unknown type loans"),
    ("events", [{"kind": "absence", "group": "nobody", "start_hour": 1, "end_hour": 2,
                 "agents": 1}], "events.0.group", "unknown agent group"),
    ("events", [{"kind": "surge", "ticket_types": ["fraud"], "start_hour": 3, "end_hour": 2,
                 "factor": 2}], "events.0.end_hour", "must be > start_hour"),
    ("events", [{"kind": "strike", "start_hour": 3, "end_hour": 4}], "events.0",
     "does not match any of the expected tags"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), BAD,
                         ids=[f"{b[0]}={b[1]!r}"[:60] for b in BAD])
def test_each_rule_names_the_field(path, value, field, message):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(edited(path, value), "s.yaml")
    error = caught.value
    assert error.field == field
    assert message in error.message
    line = str(error)
    assert line.startswith(f"s.yaml: {field}: ")
    assert "\n" not in line


def test_shift_group_without_agents_field_is_valid():
    data = edited("agent_groups.generalists.agents", ...)
    data["agent_groups"]["generalists"]["shifts"] = [
        {"start_hour": 22, "end_hour": 6, "agents": 3}]
    scenario = parse_scenario(data)
    group = scenario.agent_groups["generalists"]
    assert [group.scheduled_agents(h) for h in (21.9, 22, 23.5, 0, 5.99, 6)] == [0, 3, 3, 3, 3, 0]


def test_file_errors_are_one_line(tmp_path):
    with pytest.raises(ScenarioError, match="no such file or scenario"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_scenario(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        load_scenario(listing)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(binary)


def test_hash_ignores_comments_and_layout(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: x\nhorizon_hours: 2\nticket_types: {t: {arrivals_per_hour: 1, "
                 "handle_minutes: {dist: exponential, mean: 1}}}\n"
                 "agent_groups: {g: {agents: 1, skills: {t: 1}}}\n")
    b.write_text("# a comment\nname: x\nhorizon_hours: 2.0\nticket_types:\n  t:\n"
                 "    arrivals_per_hour: 1\n    handle_minutes: {dist: exponential, mean: 1.0}\n"
                 "agent_groups:\n  g: {agents: 1, skills: {t: 1.0}}\n")
    assert load_scenario(a).sha256() == load_scenario(b).sha256()
    b.write_text(b.read_text().replace("agents: 1", "agents: 2"))
    assert load_scenario(a).sha256() != load_scenario(b).sha256()


def test_scenario_is_frozen():
    scenario = parse_scenario(BASE)
    with pytest.raises(Exception, match="frozen"):
        scenario.horizon_hours = 3


@pytest.mark.parametrize("path", list_scenarios(), ids=lambda p: p.stem)
def test_shipped_scenarios_load_by_name(path):
    assert load_scenario(path.stem) == load_scenario(path)
