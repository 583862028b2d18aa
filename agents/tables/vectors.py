"""Build docs/lookup-table-vectors.json from the Python reference reader and heuristics.

`python -m agents.tables.vectors` writes the file; `--check` only compares.
Every expected key and action is computed here by the Python code (the
heuristic classes deciding through a `FactsView`); each hand-written case also
states the action its author worked out by hand, and the build stops if the
two differ. Shipped tables get states sampled from a simulated day (seed 0).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import sys
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from agents.tables.document import ROOT, bind_document
from agents.tables.facts import FactsView, canonical_scenario_json, check_facts, scenario_facts
from agents.tables.keys import HOLD
from agents.tables.policy import TablePolicy
from agents.tables.read import DEFAULT_HEURISTICS, parse_document, read_document
from sim.model import SupportModel
from sim.scenario import MINUTES_PER_HOUR, Scenario, load_scenario, parse_scenario

OUT = ROOT / "docs" / "lookup-table-vectors.json"
SHIPPED = ROOT / "results" / "tables"
SAMPLE_SEED = 0
SAMPLED_FOUND, SAMPLED_MISSED, RANDOM_STATES = 10, 10, 6

# Rates are round on purpose: mu = speed / mean handle minutes is 0.2, 0.1, 0.125, 0.25, 0.1;
# theta = 1 / mean patience is 0.1 (billing), 0 (tech never abandons), 0.25 (fraud).
SCENARIO: dict[str, Any] = {
    "name": "vectors",
    "description": "Three ticket types, two agent groups: the lookup-table test vectors",
    "horizon_hours": 24,
    "ticket_types": {
        "billing": {"channel": "chat", "arrivals_per_hour": 30,
                    "handle_minutes": {"dist": "exponential", "mean": 5},
                    "patience_minutes": {"dist": "exponential", "mean": 10},
                    "sla_minutes": 5, "wait_cost_per_minute": 2, "abandon_cost": 10},
        "tech": {"channel": "email", "arrivals_per_hour": 12,
                 "handle_minutes": {"dist": "exponential", "mean": 4},
                 "wait_cost_per_minute": 1},
        "fraud": {"channel": "phone", "arrivals_per_hour": 6,
                  "handle_minutes": {"dist": "exponential", "mean": 10},
                  "patience_minutes": {"dist": "exponential", "mean": 4},
                  "sla_minutes": 2, "wait_cost_per_minute": 4, "abandon_cost": 20},
    },
    "agent_groups": {
        "billing_team": {"agents": 3, "skills": {"billing": 1.0, "tech": 0.5}},
        "generalists": {"agents": 3, "skills": {"billing": 0.5, "tech": 1.0, "fraud": 1.0}},
    },
}
SOURCE = "hand-written test vectors"


def state(now: float = 600, queue: dict | None = None, wait: dict | None = None,
          idle: dict | None = None, idle_for: dict | None = None, **extra: Any) -> dict[str, Any]:
    """A state as the vectors write it; names left out are 0."""
    out: dict[str, Any] = {"now_min": now, "queue_len": queue or {}, "head_wait_min": wait or {},
                           "idle_agents": idle or {}, "longest_idle_min": idle_for or {}}
    return {**out, **extra}


def case(what: str, expect: str, **kwargs: Any) -> dict[str, Any]:
    return {"what": what, "expect": expect, "state": state(**kwargs)}


GEN = {"generalists": 1}
BOTH = {"billing_team": 1, "generalists": 1}

# -- version 1 tables (loaded with the top-level scenario_facts) ----------------------------

FIFO_V1 = {
    "features": [{"name": "queue_len.billing", "edges": [0, 1, 2, 5]},
                 {"name": "queue_len.tech", "edges": [0, 1, 3]},
                 {"name": "head_wait_min.tech", "edges": [0, 2.5]},
                 {"name": "idle_agents.generalists", "edges": [0, 1, 2]},
                 {"name": "hour_of_day", "edges": [0, 8, 18]}],
    "default": "fifo",
    "rows": [{"key": [1, 1, 0, 1, 1], "action": 3}, {"key": [3, 0, 0, 1, 1], "action": 1},
             {"key": [2, 2, 1, 2, 2], "action": 6}, {"key": [0, 1, 0, 1, 1], "action": 1},
             {"key": [1, 1, 1, 1, 0], "action": 4}, {"key": [1, 0, 0, 1, 2], "action": 1}],
    "cases": [
        case("stored pair, feasible: the table overrides fifo (which would take the older "
             "billing ticket)", "tech->generalists",
             queue={"billing": 1, "tech": 2}, wait={"billing": 3, "tech": 1}, idle=GEN,
             idle_for={"generalists": 4}),
        case("a value equal to an edge falls in the bin that edge opens (tech wait 2.5 -> bin 1); "
             "key missing -> fifo takes billing (3 > 2.5)", "billing->generalists",
             queue={"billing": 1, "tech": 2}, wait={"billing": 3, "tech": 2.5}, idle=GEN,
             idle_for={"generalists": 4}),
        case("a value above the last edge falls in the last, open bin (billing 7 -> bin 3)",
             "billing->generalists", queue={"billing": 7}, wait={"billing": 9}, idle=BOTH,
             idle_for={"billing_team": 10, "generalists": 1}),
        case("hour of day wraps: minute 1500 is 01:00 on day two (bin 0); key missing -> fifo "
             "takes the older ticket", "billing->generalists", now=1500,
             queue={"billing": 1, "tech": 2}, wait={"billing": 3, "tech": 1}, idle=GEN,
             idle_for={"generalists": 4}),
        case("a stored hold is returned although pairs are feasible", HOLD, now=1200,
             queue={"billing": 3, "tech": 4}, wait={"billing": 2, "tech": 5},
             idle={"generalists": 3}, idle_for={"generalists": 2}),
        case("stored pair infeasible (no billing ticket waits) -> fifo: one tech ticket, both "
             "groups may take it, the longer-idle group wins (billing_team 3 > 1 min)",
             "tech->billing_team", queue={"tech": 1}, wait={"tech": 1},
             idle={"billing_team": 2, "generalists": 1},
             idle_for={"billing_team": 3, "generalists": 1}),
        case("stored pair infeasible (billing_team lacks the fraud skill) -> fifo: billing waited "
             "longest (4 min); equal head waits tie, the longer-idle group wins",
             "billing->generalists", now=300, queue={"billing": 1, "tech": 1, "fraud": 1},
             wait={"billing": 4, "tech": 3, "fraud": 1}, idle=BOTH,
             idle_for={"billing_team": 2, "generalists": 7}),
        case("an empty queue's head wait is 0 whatever the state says (tech: 4 given, queue 0): "
             "key [1, 0, 0, 1, 2] is stored (with 4 it would be [1, 0, 1, 1, 2], missing, and "
             "fifo would take the longer-idle billing_team)", "billing->generalists", now=1200,
             queue={"billing": 1}, wait={"billing": 3, "tech": 4}, idle=BOTH,
             idle_for={"billing_team": 9, "generalists": 1}),
        case("fifo tie on score, head wait and idle time -> the lowest pair index",
             "billing->billing_team", queue={"billing": 1}, wait={"billing": 4}, idle=BOTH,
             idle_for={"billing_team": 5, "generalists": 5}),
        case("fifo tie across types: equal waits and the same group -> the lower pair index "
             "(billing before tech)", "billing->generalists", queue={"billing": 2, "tech": 1},
             wait={"billing": 2, "tech": 2}, idle={"generalists": 2},
             idle_for={"generalists": 1.5}),
    ],
}

CMU_V1 = {
    "features": [{"name": "queue_len.tech", "edges": [1, 3]},
                 {"name": "idle_agents.billing_team", "edges": [0, 1]}],
    "default": "cmu",
    "rows": [{"key": [0, 1], "action": 6}, {"key": [1, 0], "action": 1}],
    "cases": [
        case("a value below the first edge falls in bin 0 (tech queue 0 < 1); stored hold", HOLD,
             now=60, queue={"billing": 2}, wait={"billing": 1}, idle=BOTH,
             idle_for={"billing_team": 1, "generalists": 1}),
        case("stored pair feasible: billing to generalists although cmu ranks tech->generalists "
             "higher", "billing->generalists", now=60, queue={"billing": 1, "tech": 3},
             wait={"billing": 1, "tech": 0.5}, idle={"generalists": 2},
             idle_for={"generalists": 1}),
        case("key missing -> cmu: billing->billing_team scores 2 x 0.2 = 0.4, above "
             "tech->generalists 1 x 0.25", "billing->billing_team", now=60,
             queue={"billing": 1, "tech": 5}, wait={"billing": 0.1, "tech": 9}, idle=BOTH,
             idle_for={"billing_team": 1, "generalists": 1}),
        case("key missing -> cmu among generalists: tech 1 x 0.25 beats billing 2 x 0.1",
             "tech->generalists", now=60, queue={"billing": 4, "tech": 1},
             wait={"billing": 8, "tech": 0.1}, idle=GEN, idle_for={"generalists": 1}),
    ],
}

# -- version 2: every heuristic as a default of a table without rows ------------------------

HEURISTIC_CASES: dict[str, list[dict[str, Any]]] = {
    "fifo": [
        case("the oldest ticket over the types the agent serves: tech waited 6 min, billing 3",
             "tech->generalists", queue={"billing": 1, "tech": 1}, wait={"billing": 3, "tech": 6},
             idle=GEN),
        case("one billing ticket, both groups: score and wait tie, the longer-idle group wins "
             "(generalists 7 > 2 min)", "billing->generalists", queue={"billing": 1},
             wait={"billing": 4}, idle=BOTH, idle_for={"billing_team": 2, "generalists": 7}),
        case("score, wait and idle time tie -> the lowest pair index", "billing->billing_team",
             queue={"billing": 1}, wait={"billing": 4}, idle=BOTH,
             idle_for={"billing_team": 5, "generalists": 5}),
    ],
    "priority": [
        case("the highest wait cost first: fraud (4) although it waited least",
             "fraud->generalists", queue={"billing": 1, "tech": 1, "fraud": 1},
             wait={"billing": 1, "tech": 9, "fraud": 0.5}, idle=GEN),
        case("same type, two groups: score and wait tie, the longer-idle group wins",
             "billing->generalists", queue={"billing": 1}, wait={"billing": 2}, idle=BOTH,
             idle_for={"billing_team": 1, "generalists": 3}),
        case("score, wait and idle time tie -> the lowest pair index", "billing->billing_team",
             queue={"billing": 1}, wait={"billing": 2}, idle=BOTH,
             idle_for={"billing_team": 4, "generalists": 4}),
    ],
    "cmu": [
        case("c x mu: tech 1 x 0.25 beats billing 2 x 0.1 for a generalist, although billing "
             "costs more per minute", "tech->generalists", queue={"billing": 1, "tech": 1},
             wait={"billing": 1, "tech": 5}, idle=GEN),
        case("billing->billing_team 2 x 0.2 and fraud->generalists 4 x 0.1 tie at 0.4 -> the "
             "older head ticket (fraud 3 > 2 min), although billing_team has idled longer: the "
             "wait decides before the idle time", "fraud->generalists",
             queue={"billing": 1, "fraud": 1}, wait={"billing": 2, "fraud": 3}, idle=BOTH,
             idle_for={"billing_team": 10, "generalists": 1}),
        case("the same tie and equal waits -> the longer-idle group (billing_team 6 > 1 min)",
             "billing->billing_team", queue={"billing": 1, "fraud": 1},
             wait={"billing": 3, "fraud": 3}, idle=BOTH,
             idle_for={"billing_team": 6, "generalists": 1}),
        case("the same tie, equal waits and idle times -> the lowest pair index (0 before 5)",
             "billing->billing_team", queue={"billing": 1, "fraud": 1},
             wait={"billing": 3, "fraud": 3}, idle=BOTH,
             idle_for={"billing_team": 2, "generalists": 2}),
    ],
    "gcmu": [
        case("c x head-of-line wait x mu: billing 2 x 6 x 0.1 = 1.2 beats tech 1 x 4 x 0.25 = 1 "
             "(cmu would take tech)", "billing->generalists", queue={"billing": 1, "tech": 1},
             wait={"billing": 6, "tech": 4}, idle=GEN),
        case("billing 2 x 5 x 0.1 and tech 1 x 4 x 0.25 tie at 1 -> the older head ticket "
             "(billing 5 > 4 min)", "billing->generalists", queue={"billing": 1, "tech": 1},
             wait={"billing": 5, "tech": 4}, idle=GEN),
        case("billing->billing_team 2 x 3 x 0.2 and fraud->generalists 4 x 3 x 0.1 tie (both "
             "1.2000000000000002 in float64), waits tie -> the longer-idle group",
             "billing->billing_team", queue={"billing": 1, "fraud": 1},
             wait={"billing": 3, "fraud": 3}, idle=BOTH,
             idle_for={"billing_team": 6, "generalists": 1}),
        case("tickets that have just arrived (wait 0) all score 0 -> the lowest pair index",
             "billing->billing_team", queue={"billing": 1, "tech": 1}, idle=BOTH),
    ],
    "lqf": [
        case("the longest queue: tech 5 > billing 3", "tech->generalists",
             queue={"billing": 3, "tech": 5}, wait={"billing": 1, "tech": 0.5}, idle=GEN),
        case("equal queues (2 and 2) -> the older head ticket (fraud 6 > 4 min)",
             "fraud->generalists", queue={"billing": 2, "fraud": 2},
             wait={"billing": 4, "fraud": 6}, idle=GEN),
        case("same type, two groups -> the longer-idle group", "billing->generalists",
             queue={"billing": 2}, wait={"billing": 1}, idle=BOTH,
             idle_for={"billing_team": 3, "generalists": 8}),
        case("equal queues, equal waits, one group -> the lowest pair index (billing before fraud)",
             "billing->generalists", queue={"billing": 2, "fraud": 2},
             wait={"billing": 3, "fraud": 3}, idle=GEN),
    ],
    "sla": [
        case("least slack: fraud 1.5 - 2 = -0.5 beats billing 4 - 5 = -1", "fraud->generalists",
             queue={"billing": 1, "fraud": 1}, wait={"billing": 4, "fraud": 1.5}, idle=GEN),
        case("a type without an SLA goes last (-infinity) however long it waited",
             "billing->generalists", queue={"billing": 1, "tech": 1},
             wait={"billing": 0.5, "tech": 60}, idle=GEN),
        case("only tech (no SLA) is feasible: both pairs score -infinity and tie, waits tie -> "
             "the longer-idle group", "tech->billing_team", queue={"tech": 1}, wait={"tech": 2},
             idle=BOTH, idle_for={"billing_team": 4, "generalists": 2}),
        case("equal slack (billing 5 - 5 = fraud 2 - 2 = 0) -> the older head ticket",
             "billing->generalists", queue={"billing": 1, "fraud": 1},
             wait={"billing": 5, "fraud": 2}, idle=GEN),
        case("score, wait and idle time tie -> the lowest pair index", "billing->billing_team",
             queue={"billing": 1}, wait={"billing": 3}, idle=BOTH,
             idle_for={"billing_team": 1, "generalists": 1}),
    ],
    "cmu_theta": [
        case("a type that never abandons (tech, theta 0) scores +infinity and comes first",
             "tech->generalists", queue={"billing": 1, "tech": 1, "fraud": 1},
             wait={"billing": 9, "tech": 1, "fraud": 9}, idle=GEN),
        case("two +infinity scores tie, waits tie (one type) -> the longer-idle group",
             "tech->billing_team", queue={"tech": 1}, wait={"tech": 2}, idle=BOTH,
             idle_for={"billing_team": 3, "generalists": 1}),
        case("finite scores: fraud (4 + 20 x 0.25) x 0.1 / 0.25 = 3.6 beats billing "
             "(2 + 10 x 0.1) x 0.1 / 0.1 = 3.0000000000000004", "fraud->generalists",
             queue={"billing": 1, "fraud": 1}, wait={"billing": 1, "fraud": 1}, idle=GEN),
        case("+infinity ties, waits and idle times tie -> the lowest pair index",
             "tech->billing_team", queue={"tech": 1}, wait={"tech": 1}, idle=BOTH,
             idle_for={"billing_team": 2, "generalists": 2}),
    ],
    "cmu_holding": [
        case("(c + a x theta) x mu: billing (2 + 10 x 0.1) x 0.1 = 0.30000000000000004 beats "
             "tech 1 x 0.25 (cmu would take tech)", "billing->generalists",
             queue={"billing": 1, "tech": 1}, wait={"billing": 1, "tech": 5}, idle=GEN),
        case("fraud (4 + 20 x 0.25) x 0.1 = 0.9 beats billing->billing_team 3 x 0.2",
             "fraud->generalists", queue={"billing": 1, "fraud": 1},
             wait={"billing": 1, "fraud": 1}, idle=BOTH),
        case("same type: the faster group scores higher, whoever idled longer",
             "billing->billing_team", queue={"billing": 1}, wait={"billing": 2}, idle=BOTH,
             idle_for={"billing_team": 1, "generalists": 9}),
        case("one pair feasible: it is the answer", "tech->generalists", queue={"tech": 1},
             wait={"tech": 1}, idle=GEN),
    ],
    "maxweight": [
        case("queue x c x mu: tech 3 x 1 x 0.25 = 0.75 beats billing 1 x 2 x 0.1 = 0.2",
             "tech->generalists", queue={"billing": 1, "tech": 3}, wait={"billing": 5, "tech": 1},
             idle=GEN),
        case("billing 5 x 2 x 0.1 and tech 4 x 1 x 0.25 tie at 1 -> the older head ticket "
             "(tech 3 > 2 min)", "tech->generalists", queue={"billing": 5, "tech": 4},
             wait={"billing": 2, "tech": 3}, idle=GEN),
        case("the same tie with equal waits -> the lowest pair index (billing before tech)",
             "billing->generalists", queue={"billing": 5, "tech": 4},
             wait={"billing": 3, "tech": 3}, idle=GEN),
        case("same type: 2 x 2 x 0.2 = 0.8 for billing_team beats 0.4 for generalists",
             "billing->billing_team", queue={"billing": 2}, wait={"billing": 1}, idle=BOTH,
             idle_for={"billing_team": 1, "generalists": 5}),
    ],
}

# -- version 2: an index rule as the default, with reservations and a stored row -------------

INDEX_DEFAULT = {"kind": "index", "weights": {"billing": 3, "tech": 1, "fraud": 4},
                 "reserve": {"billing->generalists": 2},
                 "keep_free": {"tech->billing_team": 1}}
INDEX_TABLE = {
    "features": [{"name": "queue_len.fraud", "edges": [0, 1]}],
    "default": INDEX_DEFAULT,
    "rows": [{"key": [1], "action": 5}],
    "cases": [
        case("weight x mu: billing->billing_team 3 x 0.2 is best; billing->generalists is open "
             "(4 > 2 billing tickets wait), tech->billing_team held back (1 idle, keeps 1 free)",
             "billing->billing_team", queue={"billing": 4, "tech": 1},
             wait={"billing": 1, "tech": 1}, idle=BOTH),
        case("reserve: generalists take billing only while more than 2 wait; with 2, "
             "tech->generalists (0.25) goes although billing scores 3 x 0.1",
             "tech->generalists", queue={"billing": 2, "tech": 1}, wait={"billing": 3, "tech": 1},
             idle=GEN),
        case("3 billing tickets open the pair: billing 3 x 0.1 = 0.30000000000000004 beats "
             "tech 0.25", "billing->generalists", queue={"billing": 3, "tech": 1},
             wait={"billing": 3, "tech": 1}, idle=GEN),
        case("every feasible pair held back and holding allowed -> hold", HOLD,
             queue={"billing": 2}, wait={"billing": 5}, idle=GEN),
        case("every feasible pair held back but holding not allowed (can_hold false: no later "
             "event) -> the best of all feasible pairs", "billing->generalists",
             queue={"billing": 2}, wait={"billing": 5}, idle=GEN, can_hold=False),
        case("keep_free: billing_team takes tech only while more than 1 of its agents is idle; "
             "with 1 idle, hold", HOLD, queue={"tech": 3}, wait={"tech": 2},
             idle={"billing_team": 1}),
        case("with 2 idle the pair is open", "tech->billing_team", queue={"tech": 3},
             wait={"tech": 2}, idle={"billing_team": 2}),
        case("stored pair feasible: fraud->generalists (0.4) although the index takes "
             "billing->billing_team (0.6000000000000001)", "fraud->generalists",
             queue={"billing": 5, "fraud": 1}, wait={"billing": 1, "fraud": 1}, idle=BOTH),
        case("stored pair infeasible (no generalist idle) -> the index default, which holds "
             "(tech->billing_team held back; fraud->billing_team has no skill)", HOLD,
             queue={"tech": 1, "fraud": 1}, wait={"tech": 1, "fraud": 1},
             idle={"billing_team": 1}),
    ],
}

# -- malformed tables: one change to the index table, the field the error must name -------------

INVALID: list[dict[str, Any]] = [
    {"what": "another format", "set": [["format"], "routing-table"], "field": "format"},
    {"what": "an unknown version", "set": [["version"], 3], "field": "version"},
    {"what": "version 2 without scenario_facts", "delete": ["scenario_facts"],
     "field": "scenario_facts"},
    {"what": "rows missing", "delete": ["rows"], "field": "rows"},
    {"what": "the hash is not a string", "set": [["scenario_sha256"], 7],
     "field": "scenario_sha256"},
    {"what": "random is not a valid default", "set": [["default"], "random"], "field": "default"},
    {"what": "an unknown heuristic", "set": [["default"], "fastest"], "field": "default"},
    {"what": "an index default in a version 1 file",
     "set": [["version"], 1], "field": "default"},
    {"what": "a negative abandonment rate",
     "set": [["scenario_facts", "ticket_types", 1, "abandon_rate_per_minute"], -0.1],
     "field": "scenario_facts.ticket_types[1].abandon_rate_per_minute"},
    {"what": "an SLA of 0 minutes (none is null)",
     "set": [["scenario_facts", "ticket_types", 0, "sla_minutes"], 0],
     "field": "scenario_facts.ticket_types[0].sla_minutes"},
    {"what": "a wait cost missing",
     "delete": ["scenario_facts", "ticket_types", 2, "wait_cost_per_minute"],
     "field": "scenario_facts.ticket_types[2].wait_cost_per_minute"},
    {"what": "two ticket types of the same name",
     "set": [["scenario_facts", "ticket_types", 2, "name"], "billing"],
     "field": "scenario_facts.ticket_types[2].name"},
    {"what": "a service rate without a speed (skills disagree)",
     "set": [["scenario_facts", "agent_groups", 0, "service_rate_per_minute", "fraud"], 0.05],
     "field": "scenario_facts.agent_groups[0].service_rate_per_minute"},
    {"what": "a speed for an unknown ticket type",
     "set": [["scenario_facts", "agent_groups", 1, "speed", "refunds"], 1.0],
     "field": "scenario_facts.agent_groups[1].speed.refunds"},
    {"what": "a service rate of 0",
     "set": [["scenario_facts", "agent_groups", 1, "service_rate_per_minute", "tech"], 0],
     "field": "scenario_facts.agent_groups[1].service_rate_per_minute.tech"},
    {"what": "edges not strictly increasing", "set": [["features", 0, "edges"], [1, 1]],
     "field": "features[0].edges"},
    {"what": "no edges", "set": [["features", 0, "edges"], []], "field": "features[0].edges"},
    {"what": "a feature of an unknown ticket type", "set": [["features", 0, "name"],
                                                             "queue_len.refunds"],
     "field": "features[0].name"},
    {"what": "an unknown feature kind", "set": [["features", 0, "name"], "mood"],
     "field": "features[0].name"},
    {"what": "an action naming an unknown group", "set": [["actions", 0], "billing->nobody"],
     "field": "actions[0]"},
    {"what": "a bin index out of range", "set": [["rows", 0, "key"], [2]],
     "field": "rows[0].key[0]"},
    {"what": "a bin index that is not an integer", "set": [["rows", 0, "key"], [1.0]],
     "field": "rows[0].key"},
    {"what": "a key of the wrong length", "set": [["rows", 0, "key"], [1, 0]],
     "field": "rows[0].key"},
    {"what": "an action index out of range", "set": [["rows", 0, "action"], 7],
     "field": "rows[0].action"},
    {"what": "two rows with the same key", "set": [["rows", 1], {"key": [1], "action": 0}],
     "field": "rows[1].key"},
    {"what": "an index rule without a weight for tech",
     "delete": ["default", "weights", "tech"], "field": "default.weights.tech"},
    {"what": "a negative weight", "set": [["default", "weights", "fraud"], -1],
     "field": "default.weights.fraud"},
    {"what": "a reservation on a pair without the skill",
     "set": [["default", "reserve", "fraud->billing_team"], 1],
     "field": "default.reserve.fraud->billing_team"},
    {"what": "a negative keep_free", "set": [["default", "keep_free", "tech->billing_team"], -1],
     "field": "default.keep_free.tech->billing_team"},
    {"what": "a misspelt field in the index rule (refused: it would change decisions)",
     "set": [["default", "keepfree"], {}], "field": "default.keepfree"},
    {"what": "an index rule of another kind", "set": [["default", "kind"], "indx"],
     "field": "default.kind"},
]

# -- hour of day --------------------------------------------------------------------------------

HOUR_MINUTES = (0, 600, 1439.5, 1500, 2880)
HOUR_WALL_CLOCK = [
    ("2024-03-31T00:59:30Z", "Europe/Berlin", "spring forward: 01:59:30 CET"),
    ("2024-03-31T01:00:00Z", "Europe/Berlin", "one second later 03:00 CEST; 02:xx never shows"),
    ("2024-10-27T00:30:00Z", "Europe/Berlin", "fall back: the first 02:30 (CEST)"),
    ("2024-10-27T01:30:00Z", "Europe/Berlin", "the second 02:30 (CET): the same hour again"),
    ("2024-11-03T05:30:00Z", "America/New_York", "01:30 EDT"),
    ("2024-11-03T06:30:00Z", "America/New_York", "01:30 EST, an hour later"),
    ("2024-06-01T20:00:00Z", "Asia/Kolkata", "01:30 the next day (UTC+05:30, no DST)"),
    ("2024-01-15T12:00:00Z", "UTC", "noon"),
]

# -- the scenario hash ---------------------------------------------------------------------------

HASH_SCENARIO: dict[str, Any] = {
    "name": "hash_example",
    "description": "Zürich — a café's support desk\twith a tab and a 🎧",
    "horizon_hours": 24,
    "warmup_hours": 1.5,
    "ticket_types": {
        "chat_q": {"channel": "chat", "arrivals_per_hour": 12.5,
                   "hourly_profile": [0.5] * 6 + [1e-05, 0.0001] + [1.25] * 15 + [20000],
                   "handle_minutes": {"dist": "lognormal", "mean": 6, "cv": 0.8},
                   "patience_minutes": {"dist": "gamma", "mean": 3, "cv": 0.5},
                   "sla_minutes": 2, "sla_target": 0.8, "wait_cost_per_minute": 0.00001,
                   "abandon_cost": 10, "transfers": {"mail_q": 0.05}},
        "mail_q": {"channel": "email", "arrivals_per_hour": 4,
                   "handle_minutes": {"dist": "deterministic", "mean": 20}},
    },
    "agent_groups": {
        "desk": {"shifts": [{"start_hour": 22, "end_hour": 6, "agents": 2},
                            {"start_hour": 6, "end_hour": 22, "agents": 5}],
                 "skills": {"chat_q": 1, "mail_q": 0.75}, "cost_per_agent_hour": 1.5},
        "back": {"agents": 2, "skills": {"mail_q": 1}, "cost_per_agent_hour": 1.0},
    },
    "events": [{"kind": "surge", "ticket_types": ["chat_q"], "start_hour": 10, "end_hour": 12,
                "factor": 3},
               {"kind": "absence", "group": "desk", "start_hour": 13, "end_hour": 17,
                "agents": 1}],
}


# -- building ------------------------------------------------------------------------------------


def build() -> dict[str, Any]:
    scenario = parse_scenario(SCENARIO, "<vectors>")
    facts = scenario_facts(scenario)
    head = {"format": "routelab-lookup-table", "scenario": scenario.name,
            "scenario_sha256": scenario.sha256(), "source_policy": SOURCE}
    actions = action_names(scenario)
    tables = [hand_table("fifo_default", 1, FIFO_V1, head, actions, facts, scenario),
              hand_table("cmu_default", 1, CMU_V1, head, actions, facts, scenario)]
    for name in DEFAULT_HEURISTICS:
        spec = {"features": [], "default": name, "rows": [], "cases": HEURISTIC_CASES[name]}
        tables.append(hand_table(f"heuristic_{name}", 2, spec, head, actions, facts, scenario))
    tables.append(hand_table("index_default", 2, INDEX_TABLE, head, actions, facts, scenario))
    return {
        "description": (
            "Test vectors for routelab lookup tables (docs/lookup-table.md, section 8). "
            "tables: build each table (version 1 ones with the top-level scenario_facts), and for "
            "each case compute the feasible pairs, the key, whether a row is found and the "
            "decision; 'by' says whether the stored action or the default decided; 'scores' are "
            "the default's score of each feasible pair. shipped_tables: the files in "
            "results/tables/ with states sampled from a simulated day. invalid_tables: one change "
            "to a table that a reader must refuse, naming 'field'. scenario_sha256 and "
            "hour_of_day: the definitions of section 9 and 3 with worked examples."),
        "scenario": SCENARIO,
        "scenario_facts": facts,
        "tables": tables,
        "shipped_tables": [shipped_entry(path) for path in sorted(SHIPPED.glob("*.json"))],
        "invalid_tables": invalid_entries(tables),
        "scenario_sha256": hash_entries(scenario),
        "hour_of_day": hour_entries(),
    }


def action_names(scenario: Scenario) -> list[str]:
    return [f"{t}->{g}" for t in scenario.type_names for g in scenario.group_names] + [HOLD]


def hand_table(name: str, version: int, spec: dict[str, Any], head: dict[str, Any],
               actions: list[str], facts: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    document = {**head, "version": version}
    if version == 2:
        document["scenario_facts"] = facts
    document.update({"features": spec["features"], "actions": actions,
                     "default": spec["default"], "rows": spec["rows"]})
    order = ["format", "version", "scenario", "scenario_sha256", "source_policy",
             "scenario_facts", "features", "actions", "default", "rows"]
    document = {k: document[k] for k in order if k in document}
    policy = bind_document(parse_document(document, name), scenario)
    cases = []
    for spec_case in spec["cases"]:
        worked = decide_case(policy, scenario, spec_case["state"])
        if worked["action"] != spec_case["expect"]:
            raise AssertionError(f"{name}: {spec_case['what']}: Python decides "
                                 f"{worked['action']}, the author expected {spec_case['expect']}")
        cases.append({"what": spec_case["what"], "state": compact_state(spec_case["state"]),
                      **worked})
    return {"name": name, "table": document, "cases": cases}


def decide_case(policy: TablePolicy, scenario: Scenario, raw_state: dict[str, Any]
                ) -> dict[str, Any]:
    """What every reader must compute for one state, by the Python reference."""
    facts = check_facts(scenario_facts(scenario), _fail)
    view = FactsView(facts, raw_state)
    pairs = view.feasible_pairs()
    names = action_names(scenario)
    before = policy.counts.used
    key = list(policy.key(view))
    found = policy.stored_action(view) is not None
    action = policy.decide(view, pairs)
    out: dict[str, Any] = {"feasible": [names[p] for p in pairs], "key": key, "found": found,
                           "action": names[action],
                           "by": "table" if policy.counts.used > before else "default"}
    fallback = policy.fallback
    if hasattr(fallback, "score"):
        out["scores"] = {names[p]: json_score(fallback.score(view, view.pair_type[p],
                                                             view.pair_group[p])) for p in pairs}
    if hasattr(fallback, "_open") and not fallback.non_idling:
        out["held_back"] = [names[p] for p in pairs if not fallback._open(view, p)]
    return out


def json_score(value: float) -> float | str:
    """JSON has no infinity: +inf and -inf are written as the strings "+inf" and "-inf"."""
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return value


def compact_state(raw: dict[str, Any]) -> dict[str, Any]:
    """The state without empty maps, numbers as written."""
    return {k: v for k, v in raw.items() if v != {}}


def _fail(where: str, message: str) -> Exception:
    return AssertionError(f"{where}: {message}")


# -- shipped tables -----------------------------------------------------------------------------


def shipped_entry(path: Path) -> dict[str, Any]:
    """States from a simulated day under the table itself (seed 0) and a few random ones."""
    document = read_document(path)
    scenario = load_scenario(document.table.document["scenario"])
    policy = bind_document(document, scenario)
    sampled = sample_states(scenario, policy)
    random_states = random_state_list(scenario, seed=zlib.crc32(path.name.encode()))
    cases = []
    for label, raw in sampled + random_states:
        fresh = bind_document(document, scenario)
        cases.append({"what": label, "state": raw, **decide_case(fresh, scenario, raw)})
    found = sum(c["found"] for c in cases)
    return {
        "file": path.relative_to(ROOT).as_posix(),
        "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "version": document.version,
        "scenario": scenario.name,
        "what": f"{len(cases)} states: {found} keys found, {len(cases) - found} missing",
        "scenario_facts": scenario_facts(scenario),
        "cases": cases,
    }


class _Sampler:
    """Routes by the table and writes down every state it was asked in (rounded)."""

    name = "sampler"

    def __init__(self, policy: TablePolicy) -> None:
        self.policy, self.non_idling = policy, policy.non_idling
        self.states: list[tuple[dict[str, Any], bool]] = []

    def reset(self, view: Any, rng: np.random.Generator) -> None:
        self.policy.reset(view, rng)

    def decide(self, view: Any, pairs: Sequence[int]) -> int:
        self.states.append((snapshot(view), self.policy.stored_action(view) is not None))
        return self.policy.decide(view, pairs)


def snapshot(view: Any) -> dict[str, Any]:
    """A live state as plain values, rounded to 1/1000 minute so that people can read it."""
    types, groups = view.scenario.type_names, view.scenario.group_names
    queue = {t: view.queue_length[i] for i, t in enumerate(types) if view.queue_length[i]}
    idle = {g: view.idle_agents(j) for j, g in enumerate(groups) if view.idle_agents(j)}
    out = {"now_min": round(view.now, 3), "queue_len": queue,
           "head_wait_min": {t: round(view.head_wait(types.index(t)), 3) for t in queue},
           "idle_agents": idle,
           "longest_idle_min": {g: round(view.longest_idle_minutes(groups.index(g)), 3)
                                for g in idle}}
    if not view.can_hold:
        out["can_hold"] = False
    return out


def sample_states(scenario: Scenario, policy: TablePolicy) -> list[tuple[str, dict[str, Any]]]:
    sampler = _Sampler(policy)
    SupportModel(scenario, SAMPLE_SEED).run(sampler)
    chosen: list[tuple[str, dict[str, Any]]] = []
    for want, count in ((True, SAMPLED_FOUND), (False, SAMPLED_MISSED)):
        matching = [(i, s) for i, (s, found) in enumerate(sampler.states) if found == want]
        if want and not matching:
            continue
        count = count if matching and want else SAMPLED_FOUND + SAMPLED_MISSED - len(chosen)
        picks = np.linspace(0, len(matching) - 1, min(count, len(matching))).round().astype(int)
        for k in dict.fromkeys(picks.tolist()):
            i, raw = matching[k]
            hour = (raw["now_min"] / MINUTES_PER_HOUR) % 24
            chosen.append((f"seed {SAMPLE_SEED}, decision {i + 1} of {len(sampler.states)} "
                           f"asked, {int(hour):02d}:{int(hour % 1 * 60):02d} on day "
                           f"{int(raw['now_min'] // 1440) + 1}", raw))
    return chosen


def random_state_list(scenario: Scenario, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """States no simulation need reach (long queues, odd waits): keys that mostly miss."""
    rng = np.random.default_rng(seed)
    facts = check_facts(scenario_facts(scenario), _fail)
    out: list[tuple[str, dict[str, Any]]] = []
    while len(out) < RANDOM_STATES:
        queue = {t: int(q) for t, q in zip(facts.type_names, rng.integers(0, 6, len(facts.type_names)),
                                           strict=True) if q}
        idle = {g: int(k) for g, k in zip(facts.group_names,
                                          rng.integers(0, 3, len(facts.group_names)), strict=True)
                if k}
        raw = {"now_min": round(float(rng.uniform(0, 1440)), 3), "queue_len": queue,
               "head_wait_min": {t: round(float(rng.exponential(3)), 3) for t in queue},
               "idle_agents": idle,
               "longest_idle_min": {g: round(float(rng.exponential(5)), 3) for g in idle}}
        if len(FactsView(facts, raw).feasible_pairs()) >= 2:
            out.append((f"random state {len(out) + 1} (numpy seed {seed})", raw))
    return out


# -- malformed tables, the hash, the hour ----------------------------------------------------------


def invalid_entries(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = next(t for t in tables if t["name"] == "index_default")["table"]
    out = []
    for entry in INVALID:
        document = apply_change(base, entry)
        try:
            parse_document(document, "<vector>")
        except ValueError as error:
            message = str(error)
        else:
            raise AssertionError(f"invalid vector accepted: {entry['what']}")
        prefix = f"<vector>: {entry['field']}: "
        if not message.startswith(prefix):
            raise AssertionError(f"{entry['what']}: expected {prefix!r}, got {message!r}")
        out.append({"table": "index_default", **entry, "python_error": message[len("<vector>: "):]})
    return out


def apply_change(document: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """`set`: [path, value] sets the value at the path (adds it to an object, or appends it
    to a list when the index is the list's length); `delete`: path removes it."""
    changed = copy.deepcopy(document)
    path = entry["set"][0] if "set" in entry else entry["delete"]
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    if "set" in entry and isinstance(parent, list) and path[-1] == len(parent):
        parent.append(copy.deepcopy(entry["set"][1]))
    elif "set" in entry:
        parent[path[-1]] = copy.deepcopy(entry["set"][1])
    else:
        del parent[path[-1]]
    return changed


def hash_entries(scenario: Scenario) -> dict[str, Any]:
    cases = []
    for what, document in (("the vectors scenario: defaults filled in, integers written as "
                            "floats where the field is a number", SCENARIO),
                           ("shifts, events, profiles, transfers, non-ASCII text, exponents, "
                            "cost_per_agent_hour 1.5 kept and 1.0 left out", HASH_SCENARIO)):
        parsed = parse_scenario(document, "<hash vector>")
        canonical = canonical_scenario_json(parsed)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        if digest != parsed.sha256():
            raise AssertionError("canonical_scenario_json no longer matches Scenario.sha256")
        cases.append({"what": what, "scenario": document, "canonical": canonical,
                      "sha256": digest})
    return {"definition": "SHA-256 (lower-case hex) of the UTF-8 bytes of the canonical JSON "
                          "text of the validated scenario: docs/lookup-table.md section 9",
            "cases": cases}


def hour_entries() -> dict[str, Any]:
    from_minutes = [{"now_min": m, "hour_of_day": (m / MINUTES_PER_HOUR) % 24}
                    for m in HOUR_MINUTES]
    wall = []
    for instant, zone, what in HOUR_WALL_CLOCK:
        local = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
        seconds = 3600 * local.hour + 60 * local.minute + local.second + local.microsecond / 1e6
        wall.append({"what": what, "instant": instant, "time_zone": zone,
                     "local": local.isoformat(), "hour_of_day": seconds / 3600})
    return {"definition": "simulator: (now_min / 60) mod 24; production: the local wall-clock "
                          "reading h:m:s in the operation's time zone, (3600 h + 60 m + s) / "
                          "3600: docs/lookup-table.md section 3",
            "from_minutes": from_minutes, "from_wall_clock": wall}


# -- writing ------------------------------------------------------------------------------------


def dumps(value: Any, indent: int = 0, width: int = 100) -> str:
    """JSON with small containers on one line, so that a case reads at a glance."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or len(flat) + indent <= width or not value:
        return flat
    pad = " " * (indent + 1)
    if isinstance(value, list):
        items = [pad + dumps(v, indent + 1, width) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 1, width)}"
             for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.tables.vectors", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true",
                        help="compare with the file instead of writing it; exit 1 if they differ")
    args = parser.parse_args(argv)
    text = dumps(build()) + "\n"
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'out of date; run without --check'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
