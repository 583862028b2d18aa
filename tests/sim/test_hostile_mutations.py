"""Random hostile edits of the shipped scenarios: refused in one line, or a run that ends.

Hypothesis takes a shipped scenario and applies one to three mutations: a
field set to a hostile value (inf, NaN, a boolean, 1e200, -1, a list...), a
number scaled by up to 1e12, a key deleted, a ticket type renamed everywhere
(to ALL, bill->x, a/b...), a transfer or an event added, or a key written
twice. The YAML goes through `routelab scenarios FILE` in this process; the
outcome must be exit status 2 with one line naming the file, or exit 0. A
scenario that passes is run (when its expected tickets are few enough for a
test) and must end within a number of events that validation bounded: each
ticket schedules at most three (arrival, end of service, patience), and the
ticket count stays under 4 x its expected value + 500 (the run's seed is fixed
and the examples are derandomized, so this is a deterministic check; for a
Poisson count with mean m the bound is m + 3m + 500, dozens of sd away).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import tempfile
from pathlib import Path
from unittest import mock

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim.model
from experiments.cli import main
from sim.metrics import agent_table, summary_rows, ticket_table
from sim.model import SupportModel
from sim.scenario import SCENARIO_DIR, load_scenario
from sim.scenario_rules import expected_tickets, staffing_changes

SHIPPED = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(SCENARIO_DIR.glob("*.yaml"))}
HOSTILE_VALUES = [math.inf, -math.inf, math.nan, 0, -1, 0.5, 1, 24, 1e9, 1e200, 10**30, 10**400, 1e-300,
                  True, False,
                  None, "", "x", "ALL", "1e3", [], {}, [1.0] * 24,
                  {"dist": "lognormal", "mean": 5, "cv": 1e200}]
HOSTILE_NAMES = ["ALL", "all", "bill->x", "a/b", "a.b", "..", "", "x" * 100, "surge", "hold", "ok_name"]
SCALES = [0.0, -1.0, 1e-9, 0.5, 2.0, 10.0, 1e3, 1e6, 1e12]
RUN_AT_MOST = 6_000  # expected tickets of a run the test does carry out (a few tenths of a second)


def paths_of(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into a parsed YAML document (keys of mappings, indices of lists)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths_of(value, (*prefix, i))
    return found


def parent_and_key(data: dict, path: tuple) -> tuple[object, object]:
    node = data
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def rename_type(data: dict, old: str, new: str) -> None:
    if old not in data["ticket_types"]:
        return
    data["ticket_types"] = {new if k == old else k: v for k, v in data["ticket_types"].items()}
    for spec in data["ticket_types"].values():
        if isinstance(spec, dict) and isinstance(spec.get("transfers"), dict):
            spec["transfers"] = {new if k == old else k: v for k, v in spec["transfers"].items()}
    for group in data["agent_groups"].values():
        group["skills"] = {new if k == old else k: v for k, v in group["skills"].items()}
    for change in data.get("events", []):
        if "ticket_types" in change:
            change["ticket_types"] = [new if t == old else t for t in change["ticket_types"]]


def mapping(node: object, key: str) -> dict | None:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else None


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """(scenario name, YAML text) of one mutated shipped scenario."""
    name = draw(st.sampled_from(sorted(SHIPPED)))
    data = copy.deepcopy(SHIPPED[name])
    types, groups = list(data["ticket_types"]), list(data["agent_groups"])
    duplicate = None
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["set", "set", "scale", "scale", "scale", "delete", "rename",
                                     "transfer", "event", "duplicate"]))
        paths = paths_of(data)
        if kind in ("set", "delete"):
            node, key = parent_and_key(data, draw(st.sampled_from(paths)))
            if kind == "set":
                node[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
            elif isinstance(node, dict):
                del node[key]
        elif kind == "scale":
            numeric = [p for p in paths if type(parent_and_key(data, p)[0][p[-1]]) in (int, float)]
            if numeric:
                node, key = parent_and_key(data, draw(st.sampled_from(numeric)))
                node[key] = node[key] * draw(st.sampled_from(SCALES))
        elif kind == "rename":
            new = draw(st.sampled_from(HOSTILE_NAMES))
            try:
                rename_type(data, types[0], new)
                types[0] = new
            except (AttributeError, TypeError, KeyError):
                pass  # an earlier mutation broke the structure; validation will say so
        elif kind == "transfer":
            source, target = draw(st.sampled_from(types)), draw(st.sampled_from(types))
            spec = mapping(mapping(data, "ticket_types"), source)
            if spec is not None:
                spec["transfers"] = {target: draw(st.sampled_from([1.0, 0.999999, 0.99, 0.5, 0.05]))}
        elif kind == "event":
            start = draw(st.sampled_from([0, 1, 5, 23.5, 100, 1e6, -1, math.inf]))
            end = start + draw(st.sampled_from([0.5, 1, 24, 1e9]))
            if draw(st.booleans()):
                event = {"kind": "surge", "ticket_types": [draw(st.sampled_from(types))],
                         "start_hour": start, "end_hour": end,
                         "factor": draw(st.sampled_from([0, 2, 1e3, 1e6, math.inf]))}
            else:
                event = {"kind": "absence", "group": draw(st.sampled_from(groups)), "start_hour": start,
                         "end_hour": end, "agents": draw(st.sampled_from([0, 1, 3, 50, 10**6]))}
            if isinstance(data.get("events", []), list):
                data.setdefault("events", []).append(event)
        elif kind == "duplicate":
            duplicate = draw(st.sampled_from(["horizon_hours: 5", "name: again"]))
    text = yaml.safe_dump(data, sort_keys=False)
    if duplicate:
        text += duplicate + "\n"
    return name, text


class EventBudget(Exception):
    pass


def run_within_budget(path: Path) -> None:
    scenario = load_scenario(path)
    expected = expected_tickets(scenario)
    if expected > RUN_AT_MOST:
        event("valid, too many tickets to run in a test")
        return
    event("valid and run")
    most_tickets = 4 * expected + 500
    budget = 3 * most_tickets
    pushed = 0
    real_push = sim.model.heappush

    def counting_push(queue, item):
        nonlocal pushed
        pushed += 1
        if pushed > budget:
            raise EventBudget(f"{path}: more than {budget:.0f} events")
        real_push(queue, item)

    class First:
        name, non_idling = "first", True

        def reset(self, view, rng):
            pass

        def decide(self, view, pairs):
            return pairs[0]

    with mock.patch.object(sim.model, "heappush", counting_push):
        model = SupportModel(scenario, seed=0).run(First())
    assert model.done
    assert len(model.tickets) <= most_tickets
    assert len([m for g in model.staffing for m in g]) <= staffing_changes(scenario)
    tickets = ticket_table(model)
    summary_rows(model, tickets, "first")
    agent_table(model, tickets, "first")


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_scenarios_are_refused_in_one_line_or_run_to_the_end(case):
    name, text = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}_mutated.yaml"
        path.write_text(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["scenarios", str(path)])
        if status == 2:
            line = err.getvalue()
            event("refused")
            assert line.startswith(f"routelab: error: {path}: "), line
            assert line.count("\n") == 1 and line.endswith("\n"), line
            assert "Traceback" not in line
            return
        assert status == 0, (status, err.getvalue())
        assert out.getvalue().count("\n") == 1
        run_within_budget(path)
