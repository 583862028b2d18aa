"""Build docs/lookup-table-vectors.json from the Python reference reader and heuristics.

`python -m agents.tables.vectors` writes the file; `--check` only compares.
Every expected key and action is computed here by the Python code (the
heuristic classes deciding through a `facts_view`); each hand-written case also
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
from agents.tables.facts import canonical_scenario_json, check_facts, facts_view, scenario_facts
from agents.tables.keys import HOLD
from agents.tables.policy import TablePolicy
from agents.tables.read import DEFAULT_HEURISTICS, parse_document, read_document
from agents.tables.vector_cases import (
    CMU_V1,
    FIFO_V1,
    HEURISTIC_CASES,
    INDEX_TABLE,
    INVALID,
    SCENARIO,
    SOURCE,
)
from sim.model import SupportModel
from sim.scenario import MINUTES_PER_HOUR, Scenario, load_scenario, parse_scenario

OUT = ROOT / "docs" / "lookup-table-vectors.json"
SHIPPED = ROOT / "results" / "tables"
SAMPLE_SEED = 0
SAMPLED_FOUND, SAMPLED_MISSED, RANDOM_STATES = 10, 10, 6

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
    view = facts_view(facts, raw_state)
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
        if len(facts_view(facts, raw).feasible_pairs()) >= 2:
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
