"""One scenario's part of report.html: the recommendation first, then the policies side by side.

Policies that route identically on every seed (the same cost and service
levels, day by day) are shown once, named together (`fifo = priority = cmu`).
Service levels are means over seeds; a cell below its target is marked.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from experiments.recommend import Standing, standings

PLAIN_WORDS = {
    "fifo": "the ticket that has waited longest goes first, whatever its type.",
    "priority": "a fixed order of ticket types, by their cost per minute of waiting; "
                "within a type, oldest first.",
    "cmu": "the type whose waiting costs most per minute, weighed by how fast the free "
           "agent clears it (the c-mu rule).",
    "gcmu": "like cmu, but a ticket grows more urgent the longer it has waited "
            "(generalised c-mu).",
    "lqf": "the longest queue first.",
    "sla": "the ticket closest to missing (or furthest past) its service-level deadline "
           "first; types without a deadline last.",
    "cmu_theta": "ranks types by cost, speed and how quickly their customers give up: "
                 "types whose customers never hang up (email) come first (c-mu/theta).",
    "cmu_holding": "like cmu, but a waiting ticket's cost includes the risk that its customer "
                   "hangs up (the abandonment cost).",
    "maxweight": "the type with the largest queue x cost x speed (MaxWeight).",
    "random": "any ticket the free agent can serve, at random (a reference point only).",
    "optimal": "the exact optimum of a small scenario, solved ahead (routelab solve).",
}
KIND_WORDS = {
    "model": "a neural network trained on this scenario (routelab train); it may keep an "
             "agent free for more urgent work.",
    "index": "a tuned index rule (routelab tune): a weight per ticket type, and agents or "
             "tickets held back where that pays.",
    "table": "a lookup table exported from another policy (routelab export).",
}


@dataclass(frozen=True)
class PolicyGroup:
    """Policies that routed identically on every seed; `name` is the first of them."""

    members: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.members[0]

    @property
    def label(self) -> str:
        return " = ".join(self.members)


def identical_groups(runs: pd.DataFrame, by_type: pd.DataFrame | None,
                     order: Sequence[str]) -> list[PolicyGroup]:
    """Group policies whose per-seed cost and per-type service levels are all equal."""
    def fingerprint(policy: str) -> tuple:
        mine = runs[runs["policy"] == policy].sort_values("seed")
        key = tuple(zip(mine["seed"], mine["cost_per_hour"].round(9), strict=True))
        if by_type is not None:
            part = by_type[by_type["policy"] == policy].sort_values(["ticket_type", "seed"])
            key += tuple(part["service_level"].round(9).fillna(-1))
        return key

    groups: dict[tuple, list[str]] = {}
    for policy in order:
        groups.setdefault(fingerprint(policy), []).append(policy)
    return [PolicyGroup(tuple(members)) for members in groups.values()]


def scenario_standings(comparison: pd.DataFrame, by_type: pd.DataFrame | None,
                       targets: Mapping[str, float], groups: list[PolicyGroup]) -> list[Standing]:
    costs = comparison.set_index("policy")["cost_per_hour"]
    frame = by_type if by_type is not None else pd.DataFrame(
        columns=["policy", "ticket_type", "seed", "service_level"])
    return standings({g.name: float(costs[g.name]) for g in groups}, frame, targets)


def recommendation_html(scenario: str, ranked: list[Standing], groups: list[PolicyGroup],
                        audit_link: str | None, types: Mapping[str, Any]) -> str:
    """The element `recommendation-<scenario>`: its first named policy is the one to use."""
    best = ranked[0]
    group = next(g for g in groups if g.name == best.policy)
    same = (f" (routes exactly as {_names([_e(m) for m in group.members[1:]])} here)"
            if len(group.members) > 1 else "")
    cheapest = min(ranked, key=lambda s: s.cost_per_hour)
    money = f"{best.cost_per_hour:,.1f} per hour"
    if not best.targets:
        why = f"the cheapest policy: {money}. This scenario sets no service-level target."
    elif best.meets:
        why = (f"the cheapest policy that meets every service-level target: {money}"
               + ("." if best.policy == cheapest.policy else
                  f" ({_e(cheapest.policy)} costs {cheapest.cost_per_hour:,.1f} but misses "
                  f"{_names([_e(t) for t in cheapest.misses])})."))
    else:
        why = (f"no policy meets every target here; this one falls least short (total "
               f"shortfall {best.shortfall:.3f}). Cost {money}"
               + ("." if best.policy == cheapest.policy else
                  f"; the cheapest, {_e(cheapest.policy)}, costs {cheapest.cost_per_hour:,.1f} "
                  f"with a shortfall of {cheapest.shortfall:.3f}."))
    cells = "".join(f"<th>{_e(_short_name(t))}<br><span class='ci'>target "
                    f"{_pct(best.targets[t])} in {_minutes(types[t]['sla_minutes'])}</span></th>"
                    for t in best.targets)
    levels = "".join(_level_cell(best.levels[t], best.targets[t]) for t in best.targets)
    table = (f"<table class='levels'><tr><th class='text'>answered within the SLA</th>{cells}"
             f"</tr><tr><td class='text'>{_e(best.policy)}</td>{levels}</tr></table>"
             if best.targets else "")
    audit = (f"<p class='audit'>Audit of this policy (fairness, robustness under stress, "
             f"how it decides): <a href='{_e(audit_link)}'>{_e(audit_link)}</a></p>"
             if audit_link else "")
    return (f'<div class="recommendation" id="recommendation-{_e(scenario)}">'
            f"<p class='use'>Use <b>{_e(best.policy)}</b>{same}: {why}</p>{table}{audit}</div>")


SHOWN_ROWS = 5  # policies in view; the rest behind "more policies"


def policy_table(comparison: pd.DataFrame, ranked: list[Standing], groups: list[PolicyGroup],
                 abandon: pd.Series, audits: Mapping[str, str] | None = None) -> str:
    """One row per group of identical policies, in the order of the recommendation rule;
    past the first SHOWN_ROWS, the rest fold away. A policy with an audit links to it."""
    rows = comparison.set_index("policy")
    by_name = {g.name: g for g in groups}
    targets = ranked[0].targets
    head = ("<tr><th class='text'>policy</th><th>cost per hour <span class='ci'>95% CI</span>"
            "</th><th>vs cheapest heuristic <span class='ci'>paired by day</span></th>"
            + ("<th>total shortfall</th>" if targets else "")
            + "".join(f"<th>{_e(_short_name(t))} <span class='ci'>&ge;{_pct(g)}</span></th>"
                      for t, g in targets.items())
            + "<th>abandoned</th></tr>")
    body = []
    for rank, standing in enumerate(ranked):
        row = rows.loc[standing.policy]
        marker = " class='chosen'" if rank == 0 else ""
        link = (audits or {}).get(standing.policy)
        audit = f" <a class='ci' href='{_e(link)}'>audit</a>" if link else ""
        body.append(
            f"<tr{marker}><td class='text'>{_e(by_name[standing.policy].label)}{audit}</td>"
            f"<td>{row.cost_per_hour:,.1f}"
            f"{_span(row.cost_per_hour_ci_low, row.cost_per_hour_ci_high, '{:,.0f}')}</td>"
            f"<td>{_diff(standing.policy, row)}</td>"
            + (f"<td>{standing.shortfall:.3f}</td>" if targets else "")
            + "".join(_level_cell(standing.levels[t], g) for t, g in targets.items())
            + f"<td>{_pct(abandon.get(standing.policy, math.nan))}</td></tr>")

    def table(lines: list[str]) -> str:
        return (f"<table class='policies'><thead>{head}</thead><tbody>" + "".join(lines)
                + "</tbody></table>")

    shown = table(body[:SHOWN_ROWS])
    if len(body) > SHOWN_ROWS:
        rest = len(body) - SHOWN_ROWS
        shown += (f"<details><summary>{rest} more {'policy' if rest == 1 else 'policies'}"
                  f"</summary>{table(body[SHOWN_ROWS:])}</details>")
    return shown


def cost_words(spec: Mapping[str, Any]) -> str:
    """What a cost per hour is made of, with this scenario's prices."""
    types = spec.get("ticket_types", {})
    waits = ", ".join(f"{_short_name(t)} {s.get('wait_cost_per_minute', 1.0):g}"
                      for t, s in types.items())
    lost = ", ".join(f"{_short_name(t)} {s['abandon_cost']:g}" for t, s in types.items()
                     if s.get("abandon_cost"))
    text = (f"Cost per hour is what waiting and lost customers cost, in the scenario's own "
            f"money, per hour of the day: every minute a ticket waits costs its type's price "
            f"({waits})")
    text += f", and every customer who hangs up costs more ({lost})." if lost else "."
    return text


def glossary_html(policies: Sequence[str]) -> str:
    rows = []
    for policy in policies:
        kind = policy.split("-")[0] if "-" in policy else policy
        words = PLAIN_WORDS.get(policy) or KIND_WORDS.get(kind) or _summary(policy)
        rows.append(f"<dt>{_e(policy)}</dt><dd>{_e(words)}</dd>")
    return "<dl class='glossary'>" + "".join(rows) + "</dl>"


def _summary(policy: str) -> str:
    from agents.heuristics import HEURISTICS

    cls = HEURISTICS.get(policy)
    return cls.summary if cls is not None else "a policy given to the benchmark by name."


def _level_cell(level: float, target: float) -> str:
    if math.isnan(level):
        return "<td>-</td>"
    shown = f"{100 * level:.1f}%"
    if level < target - 1e-9:
        return f"<td class='miss' title='misses its target of {_pct(target)}'>{shown} &#x2717;</td>"
    return f"<td class='ok'>{shown}</td>"


def _diff(policy: str, row: Any) -> str:
    if pd.isna(row.cost_diff_vs_best):
        return "-"
    if policy == row.best_heuristic:
        return "(cheapest)"
    return (f"{row.cost_diff_pct:+.1f}%"
            + _span(100 * row.cost_diff_ci_low / (row.cost_per_hour - row.cost_diff_vs_best),
                    100 * row.cost_diff_ci_high / (row.cost_per_hour - row.cost_diff_vs_best),
                    "{:+.1f}%"))


def _span(low: float, high: float, fmt: str) -> str:
    if pd.isna(low):
        return ""
    return f" <span class='ci'>{fmt.format(low)} to {fmt.format(high)}</span>"


def _short_name(type_name: str) -> str:
    return type_name.replace("_", " ")


def _names(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def _pct(value: float) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{100 * value:.0f}%" if value >= 0.1 or value == 0 else f"{100 * value:.1f}%"


def _minutes(value: float) -> str:
    if value < 1:
        return f"{value * 60:.0f} s"
    if value >= 120:
        return f"{value / 60:g} h"
    return "1 min" if value == 1 else f"{value:g} min"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
