"""Build a lookup table from any policy: record its decisions, bin the states, keep the majority.

The method (features, bin edges, majority, fallback, fidelity) is described in
docs/lookup-table.md; the file format is read by agents/tables/read.py and document.py.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.heuristics import HEURISTICS, Heuristic
from agents.registry import make_policy
from agents.tables.document import repository_spec
from agents.tables.facts import scenario_facts
from agents.tables.fidelity import Progress, measure_fidelity
from agents.tables.keys import feature_getter, pair_name
from agents.tables.read import FORMAT, VERSION, parse_table
from sim.decision import DecisionView, Policy
from sim.model import SupportModel
from sim.scenario import Scenario
from sim.seeds import RECORDING_BASE, recording_days

IDLE_EDGES = (0, 1, 2)  # 0, 1, 2+ idle agents
# A fallback must be reproducible outside Python, so it is never the random rule.
JUDGES = tuple(name for name in HEURISTICS if name != "random")


@dataclass(frozen=True)
class ExportSettings:
    """How a table is built and judged."""

    days: int = 20
    """Simulated days (`sim.seeds.recording_days`) whose decisions fill the table."""
    seeds_eval: int = 10
    """Held-out seeds 0..M-1 for agreement, coverage and the paired cost comparison."""
    queue_bins: int = 3
    """Quantile bins of queues of two or more (0 and 1 are always bins of their own)."""
    wait_bins: int = 3
    """Quantile bins of the head-of-line wait of a non-empty queue."""
    max_bytes: int = 1_000_000
    """Size budget of the file; rows that do not beat the fallback go first, then the rarest."""
    hour_edges: tuple[float, ...] = ()
    """Hour-of-day band edges (0 is always one); empty = no hour-of-day feature."""
    prune: bool = True
    """Keep only rows that agree with the source more often than the fallback does.

    Binning loses detail a rule like fifo uses (exact waits, idle times), so a
    stored majority can only be worse than the fallback where the fallback is
    the source itself or agrees as well; pruning keeps fidelity and size.
    """


@dataclass
class Recording:
    """The source policy's decisions: raw feature values, its action, each judge's action."""

    names: list[str]
    values: list[list[float]] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    judged: list[list[int]] = field(default_factory=list)
    decisions_total: int = 0


class Recorder:
    """A policy that asks the source and writes down the state it was asked in."""

    def __init__(self, source: Policy, scenario: Scenario, recording: Recording,
                 judges: Sequence[Heuristic]) -> None:
        self.source, self.recording, self.judges = source, recording, judges
        self.name, self.non_idling = source.name, source.non_idling
        self._getters = [feature_getter(n, scenario) for n in recording.names]

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        self.source.reset(view, rng)
        for judge in self.judges:
            judge.reset(view, np.random.default_rng(0))

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        record = self.recording
        record.values.append([get(view) for get in self._getters])
        action = self.source.decide(view, pairs)
        record.actions.append(action)
        record.judged.append([judge.decide(view, pairs) for judge in self.judges])
        return action


@dataclass(frozen=True)
class KeyTally:
    """What the recording says about one key."""

    decisions: int
    action: int  # the majority action (ties: the lowest index)
    agreeing: int  # decisions on which the source chose `action`
    fallback_agreeing: int  # decisions on which the fallback would have chosen the source's action

    @property
    def beats_fallback(self) -> bool:
        return self.agreeing > self.fallback_agreeing


@dataclass(frozen=True)
class Export:
    """A built table: the document, its text, and what each stored key was built from."""

    document: dict[str, Any]
    text: str
    tallies: dict[tuple[int, ...], KeyTally]


def candidate_features(scenario: Scenario, settings: ExportSettings) -> list[str]:
    """Queue length and head wait per type, idle agents per group; the hour if asked for.

    The hour is opt-in: on fintech_day it cost a fifth of the coverage (keys split
    four ways) and bought no measurable fidelity for a learned policy.
    """
    types, groups = scenario.type_names, scenario.group_names
    names = [f"queue_len.{t}" for t in types] + [f"head_wait_min.{t}" for t in types]
    names += [f"idle_agents.{g}" for g in groups]
    if len(_hour_edges(settings)) > 1:
        names.append("hour_of_day")
    return names


def _hour_edges(settings: ExportSettings) -> list[float]:
    """Midnight always opens a band, so no hour falls below the first edge."""
    return sorted({0, *settings.hour_edges}) if settings.hour_edges else []


def choose_edges(name: str, column: np.ndarray, queue: np.ndarray | None,
                 settings: ExportSettings) -> list[float]:
    """Bin edges of one feature from its values at the recorded decisions."""
    kind = name.partition(".")[0]
    if kind == "idle_agents":
        return list(IDLE_EDGES)
    if kind == "hour_of_day":
        return _hour_edges(settings)
    if kind == "queue_len":
        inner = _quantiles(column[column >= 2], settings.queue_bins)
        return [0, 1, 2, *sorted({int(math.ceil(q)) for q in inner if q > 2})]
    assert queue is not None
    inner = _quantiles(column[queue > 0], settings.wait_bins)
    return [0, *sorted({round(q, 2) for q in inner if round(q, 2) > 0})]


def _quantiles(values: np.ndarray, bins: int) -> list[float]:
    """The k/bins quantiles (k = 1..bins-1), each a value that occurred."""
    if len(values) == 0 or bins < 2:
        return []
    levels = [k / bins for k in range(1, bins)]
    return [float(q) for q in np.quantile(values, levels, method="inverted_cdf")]


def record(scenario: Scenario, source_spec: str, seeds: Iterable[int], settings: ExportSettings,
           progress: Progress | None = None) -> Recording:
    """Roll the source out over seeds and record every decision it is asked."""
    source = make_policy(source_spec, scenario)
    judges = [] if source_spec in HEURISTICS else [HEURISTICS[n]() for n in JUDGES]
    recording = Recording(candidate_features(scenario, settings))
    recorder = Recorder(source, scenario, recording, judges)
    for seed in progress(seeds, "record") if progress else seeds:
        model = SupportModel(scenario, seed).run(recorder)
        recording.decisions_total += model.decisions
    return recording


def default_agreement(recording: Recording, source_spec: str) -> dict[str, float]:
    """Share of recorded decisions on which each heuristic picks what the source picked."""
    if source_spec in HEURISTICS or not recording.actions:
        return {}
    chosen = np.asarray(recording.judged)
    actions = np.asarray(recording.actions)[:, None]
    shares = (chosen == actions).mean(axis=0)
    return {name: round(float(s), 4) for name, s in zip(JUDGES, shares, strict=True)}


def choose_default(source_spec: str, agreement: dict[str, float]) -> str:
    """The source itself if it is a heuristic, else the heuristic that agrees most (first wins)."""
    if source_spec in HEURISTICS:
        return source_spec
    if not agreement:
        return "fifo"
    return max(agreement, key=lambda name: (agreement[name], -JUDGES.index(name)))


def bin_values(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """The reader's `bin_index` on a whole column (searchsorted right = bisect_right)."""
    return np.maximum(np.searchsorted(np.asarray(edges, float), values, side="right") - 1, 0)


def choose_features(recording: Recording, settings: ExportSettings) -> list[dict[str, Any]]:
    """Every candidate feature with its edges, less those that would have a single bin."""
    values = np.asarray(recording.values, float).reshape(-1, len(recording.names))
    column = {name: values[:, i] for i, name in enumerate(recording.names)}
    features = []
    for name in recording.names:
        kind, _, subject = name.partition(".")
        queue = column[f"queue_len.{subject}"] if kind == "head_wait_min" else None
        edges = choose_edges(name, column[name], queue, settings)
        if len(edges) > 1:
            features.append({"name": name, "edges": edges})
    return features


def tally_keys(recording: Recording, features: list[dict[str, Any]], default: str,
               source_spec: str) -> dict[tuple[int, ...], KeyTally]:
    """Per key: decisions, majority action, and how often it and the fallback agree."""
    values = np.asarray(recording.values, float).reshape(-1, len(recording.names))
    index = {name: i for i, name in enumerate(recording.names)}
    keys = np.stack([bin_values(values[:, index[f["name"]]], f["edges"]) for f in features],
                    axis=1) if features else np.zeros((len(values), 0), int)
    actions = recording.actions
    if source_spec in HEURISTICS:
        fallback = actions  # the fallback is the source itself
    else:
        column = JUDGES.index(default)
        fallback = [judged[column] for judged in recording.judged]
    counts: dict[tuple[int, ...], Counter[int]] = {}
    fallback_hits: Counter[tuple[int, ...]] = Counter()
    for key, action, backup in zip(map(tuple, keys.tolist()), actions, fallback, strict=True):
        counts.setdefault(key, Counter())[action] += 1
        fallback_hits[key] += backup == action
    tallies = {}
    for key, count in counts.items():
        action = max(count, key=lambda a, c=count: (c[a], -a))
        tallies[key] = KeyTally(sum(count.values()), action, count[action], fallback_hits[key])
    return tallies


def build_export(scenario: Scenario, source_spec: str, recording: Recording,
                 settings: ExportSettings) -> Export:
    """Features, edges and majority rows from a recording (fidelity is added later)."""
    agreement = default_agreement(recording, source_spec)
    default = choose_default(source_spec, agreement)
    features = choose_features(recording, settings)
    tallies = tally_keys(recording, features, default, source_spec)
    n_actions = len(scenario.type_names) * len(scenario.group_names) + 1
    document: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "scenario": scenario.name,
        "scenario_sha256": scenario.sha256(), "source_policy": repository_spec(source_spec),
        "features": features,
        "actions": [pair_name(scenario, a) for a in range(n_actions)],
        "default": default,
        "scenario_facts": scenario_facts(scenario),  # a reader needs the file alone
    }
    # A size cut drops rows that do not beat the fallback first, then the rarest.
    order = sorted(tallies, key=lambda k: (not tallies[k].beats_fallback,
                                           -tallies[k].decisions, k))
    if settings.prune:
        order = [k for k in order if tallies[k].beats_fallback]
    rows = [{"key": list(k), "action": tallies[k].action} for k in order]
    kept = _fit_rows(document, rows, settings.max_bytes)
    document["rows"] = rows[:kept]
    document["fidelity"] = {
        "method": "majority action of the source per key"
                  + ("; only rows that beat the fallback" if settings.prune else ""),
        "train_seeds": [RECORDING_BASE, RECORDING_BASE + settings.days - 1],
        "train_decisions": recording.decisions_total,
        "train_decisions_with_choice": len(recording.actions),
        "train_keys": len(tallies),
        "rows_dropped": len(tallies) - kept,
        "default_agreement": agreement,
    }
    return Export(document, dumps_table(document), {k: tallies[k] for k in order[:kept]})


def _fit_rows(document: dict[str, Any], rows: list[dict[str, Any]], max_bytes: int) -> int:
    """How many leading rows fit the size budget (with room for the fidelity block)."""
    budget = max_bytes - len(dumps_table({**document, "rows": []})) - 2_000
    used = np.cumsum([len(_row_text(r)) + 6 for r in rows]) if rows else np.zeros(0)
    return int(np.searchsorted(used, budget, side="right"))


def _row_text(row: dict[str, Any]) -> str:
    return json.dumps(row, separators=(",", ":"))


def dumps_table(document: dict[str, Any]) -> str:
    """The file text: one top-level field per line, one row per line, rows last."""
    head = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in document.items() if k != "rows"]
    rows = ",\n".join(f"    {_row_text(r)}" for r in document.get("rows", []))
    body = ",\n".join([*head, f'  "rows": [\n{rows}\n  ]' if rows else '  "rows": []'])
    return "{\n" + body + "\n}\n"


def export_table(scenario: Scenario, source_spec: str, settings: ExportSettings,
                 progress: Progress | None = None) -> Export:
    """Record, build, judge: the table document with its fidelity, ready to write."""
    train = recording_days(settings.days)
    recording = record(scenario, source_spec, train, settings, progress)
    built = build_export(scenario, source_spec, recording, settings)
    document = built.document
    table = parse_table(document, f"<table from {source_spec}>")
    fidelity = measure_fidelity(table, scenario, source_spec, range(settings.seeds_eval), progress)
    document["fidelity"] = {**document["fidelity"], **fidelity, "rows": len(document["rows"])}
    text = _with_own_size(document)
    return Export(document, text, built.tallies)


def _with_own_size(document: dict[str, Any]) -> str:
    """Store the file's size in its own fidelity block (a fixed point: digits may change)."""
    size = 0
    for _ in range(5):
        document["fidelity"]["bytes"] = size
        text = dumps_table(document)
        if len(text.encode()) == size:
            break
        size = len(text.encode())
    return text
