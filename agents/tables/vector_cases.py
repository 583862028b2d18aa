"""The hand-written cases of docs/lookup-table-vectors.json: small states whose actions a
person can check by hand (agents/tables/vectors.py builds the file from them)."""

from __future__ import annotations

from typing import Any

from agents.tables.keys import HOLD

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
