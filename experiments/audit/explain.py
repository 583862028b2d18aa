"""Transparency: what a policy does, in words, from its definition and its decisions.

An index rule or a heuristic is stated directly (weights, reservations, its
rule). Any policy, learned ones included, is also watched deciding on a few
days beside the baseline heuristic, which is asked the same question in the
same state: the situations it meets most and what it does in them, how
often and where it departs from the baseline, and a few of those
departures told as they happened.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.heuristics import HEURISTICS, Heuristic
from agents.index.rule import IndexRule
from agents.registry import make_policy
from sim.model import SupportModel
from sim.scenario import Scenario


@dataclass(frozen=True)
class Decision:
    seed: int
    minute: float
    queue: tuple[int, ...]
    head_wait: tuple[float, ...]
    idle: tuple[int, ...]
    pairs: tuple[int, ...]
    action: int
    baseline: int


def record(scenario: Scenario, policy_spec: str, baseline: str, seeds: Sequence[int]
           ) -> list[Decision]:
    """The policy's real choices on some days, each with the baseline's choice beside it.

    The days run exactly as `simulate` runs them: the baseline is only asked,
    never obeyed, and has a random generator of its own.
    """
    decisions = []
    for seed in seeds:
        policy = make_policy(policy_spec, scenario, force=True)
        other = HEURISTICS[baseline]()
        model = SupportModel(scenario, seed)
        policy.reset(model, model.policy_rng)
        other.reset(model, np.random.default_rng([seed, 99]))
        while (pairs := model.next_decision()) is not None:
            if policy.non_idling and len(pairs) == 1:
                model.apply(pairs[0])
                continue
            action = int(policy.decide(model, pairs))
            if len(pairs) > 1 or model.can_hold:
                decisions.append(Decision(
                    seed, model.now, tuple(model.queue_length),
                    tuple(model.head_wait(t) for t in range(model.n_types)),
                    tuple(model.idle_agents(g) for g in range(model.n_groups)), tuple(pairs),
                    action, int(other.decide(model, pairs))))
            model.apply(action)
    return decisions


class Words:
    """Names of a scenario's pairs and situations in plain words."""

    def __init__(self, scenario: Scenario) -> None:
        self.types, self.groups = scenario.type_names, scenario.group_names
        self.hold = len(self.types) * len(self.groups)

    def action(self, action: int) -> str:
        if action == self.hold:
            return "hold (keep the free agents free)"
        t, g = divmod(action, len(self.groups))
        return f"{self.types[t]} to {self.groups[g]}"

    def situation_key(self, decision: Decision) -> tuple[tuple[int, ...], tuple[int, ...]]:
        n = len(self.groups)
        types = tuple(sorted({p // n for p in decision.pairs}))
        groups = tuple(sorted({p % n for p in decision.pairs}))
        return types, groups

    def situation(self, key: tuple[tuple[int, ...], tuple[int, ...]]) -> str:
        types, groups = key
        waiting = _names([self.types[t] for t in types])
        free = _names([self.groups[g] for g in groups])
        verb = "waits" if len(types) == 1 else "wait"
        return f"{waiting} {verb} and {free} {'has' if len(groups) == 1 else 'have'} free agents"

    def state(self, decision: Decision) -> str:
        waiting = [f"{q} {self.types[t]} (oldest {decision.head_wait[t]:.1f} min)"
                   for t, q in enumerate(decision.queue) if q]
        free = [f"{i} {self.groups[g]}" for g, i in enumerate(decision.idle) if i]
        hour, minute = divmod(int(decision.minute), 60)
        return (f"day {decision.seed}, {hour:02d}:{minute:02d}: waiting "
                f"{_names(waiting) or 'nothing'}; free {_names(free) or 'nobody'}")


def definition(scenario: Scenario, policy_spec: str) -> list[str]:
    """The policy's rule in words, where it has one written down."""
    policy = make_policy(policy_spec, scenario, force=True)
    if isinstance(policy, IndexRule):
        return index_words(scenario, policy)
    if isinstance(policy, Heuristic):
        return [f"{policy.name}: {policy.summary}.", "It never keeps an agent idle while a "
                "ticket the agent can serve is waiting."]
    kind = policy_spec.partition(":")[0]
    taught = getattr(getattr(policy, "observe", None), "hint", None) is not None
    return [{"model": "A trained neural network: it decides from queue lengths, waits, free "
                      "and busy agents and the time of day"
                      + (", and from the choice of the rule it was taught by (teacher.json "
                         "beside it), which it follows unless it learnt better" if taught
                         else "") + ". What it does is read from its decisions below.",
             "table": "A lookup table of stored decisions by state; a state it does not "
                      "hold falls back to a heuristic. What it does is read from its "
                      "decisions below.",
             "optimal": "The exact optimum of the scenario's Markov decision process, "
                        "stored by state. What it does is read from its decisions below."
             }.get(kind, "What it does is read from its decisions below.")]


def index_words(scenario: Scenario, rule: IndexRule) -> list[str]:
    types, groups = scenario.type_names, scenario.group_names
    order = sorted(range(len(types)), key=lambda t: -rule.weights[t])
    lines = ["Index rule: a free agent takes the waiting type with the highest weight x the "
             "agent's service rate for it. Weights, highest first: "
             + ", ".join(f"{types[t]} {rule.weights[t]:.3g}" for t in order) + "."]
    for kind, values in (("keep_free", rule.keep_free), ("reserve", rule.reserve)):
        for pair, count in enumerate(values or []):
            if not count:
                continue
            t, g = divmod(pair, len(groups))
            if kind == "keep_free":
                lines.append(f"{groups[g]} starts a {types[t]} ticket only while more than "
                             f"{count} of its agents are free (keeps {count} free for other "
                             "work).")
            else:
                lines.append(f"{groups[g]} starts a {types[t]} ticket only while more than "
                             f"{count} of them wait.")
    if len(lines) == 1:
        lines.append("No agent is held back: it never keeps an agent idle while a ticket the "
                     "agent can serve is waiting.")
    return lines


def behaviour(scenario: Scenario, decisions: list[Decision], baseline: str,
              top: int = 5) -> dict[str, Any]:
    """Most frequent situations and choices, departures from the baseline, a few told."""
    words = Words(scenario)
    by_situation: dict[tuple, list[Decision]] = defaultdict(list)
    for decision in decisions:
        by_situation[words.situation_key(decision)].append(decision)
    def told_first(item: tuple) -> tuple[bool, int]:
        # Situations with a choice of pairs, or where it ever holds, say more than a
        # lone ticket served at once.
        (types, groups), group = item
        choice = len(types) > 1 or len(groups) > 1 or any(d.action == words.hold for d in group)
        return (not choice, -len(group))

    common = sorted(by_situation.items(), key=told_first)[:top]
    rules = [_rule(words, key, group, baseline) for key, group in common]
    departed = [d for d in decisions if d.action != d.baseline]
    return {"decisions": len(decisions), "rules": rules,
            "departures": {"share": len(departed) / len(decisions) if decisions else None,
                           "count": len(departed),
                           "where": _where(words, by_situation, top=3),
                           "hours": _hours(decisions)},
            "examples": _examples(words, departed, baseline)}


def _rule(words: Words, key: tuple, group: list[Decision], baseline: str) -> dict[str, Any]:
    chosen = Counter(d.action for d in group).most_common(2)
    base = Counter(d.baseline for d in group).most_common(1)[0]
    shares = [f"{words.action(a)} {n / len(group):.0%}" for a, n in chosen]
    text = (f"When {words.situation(key)} ({len(group):,} decisions): {', '.join(shares)}; "
            f"{baseline}: {words.action(base[0])} {base[1] / len(group):.0%}.")
    return {"situation": words.situation(key), "decisions": len(group),
            "choices": [{"action": words.action(a), "share": n / len(group)} for a, n in chosen],
            "text": text}


def _where(words: Words, by_situation: dict[tuple, list[Decision]], top: int
           ) -> list[dict[str, Any]]:
    rows = []
    for key, group in by_situation.items():
        departed = sum(d.action != d.baseline for d in group)
        if departed:
            rows.append({"situation": words.situation(key), "departures": departed,
                         "share": departed / len(group)})
    return sorted(rows, key=lambda r: -r["departures"])[:top]


def _hours(decisions: list[Decision]) -> list[dict[str, Any]]:
    per_hour: dict[int, list[bool]] = defaultdict(list)
    for d in decisions:
        per_hour[int(d.minute // 60) % 24].append(d.action != d.baseline)
    rows = [{"hour": h, "decisions": len(v), "share": float(np.mean(v))}
            for h, v in sorted(per_hour.items())]
    return sorted(rows, key=lambda r: -r["share"] * r["decisions"])[:3]


def _examples(words: Words, departed: list[Decision], baseline: str, k: int = 3) -> list[str]:
    seen, told = set(), []
    for d in departed:
        key = words.situation_key(d)
        if key in seen:
            continue
        seen.add(key)
        told.append(f"{words.state(d).capitalize()}. The policy: {words.action(d.action)}; "
                    f"{baseline} would have chosen {words.action(d.baseline)}.")
        if len(told) == k:
            break
    return told


def _names(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"
