"""`routelab report`: the plots and report.html of a results folder, from its tables.

Reads runs.csv and comparison.csv (and by_type.csv, hourly.csv, waits.csv,
scenarios.json where present); runs no simulation. The report opens from
disk: images sit in plots/ beside it, linked by relative paths. Each
scenario opens with a recommendation (experiments/recommend.py), then its
policies side by side and its service by hour; a glossary of the policies
closes the page. An audit (`routelab audit --out` inside the results folder)
is linked from the scenario it audits.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from string import Template
from typing import Any

import click
import pandas as pd

from experiments.hourly import varies_by_hour
from experiments.io import write_text
from experiments.paths import inside, safe_name
from experiments.recommend import targets_of
from experiments.report_sections import (
    PolicyGroup,
    cost_words,
    glossary_html,
    identical_groups,
    policy_table,
    recommendation_html,
    scenario_standings,
)
from experiments.report_tables import Tables, read_tables
from sim.intervals import FEW_SEEDS

TEMPLATE = Path(__file__).with_name("report_template.html")
MAX_LINES = 4  # policies drawn in one panel


def find_audits(results: Path) -> dict[tuple[str, str], str]:
    """(scenario, policy) -> relative link of every audit.json-beside-audit.html found
    in the results folder or one or two levels below it."""
    found = {}
    for pattern in ("audit.json", "*/audit.json", "*/*/audit.json"):
        for path in sorted(results.glob(pattern)):
            try:
                audit = json.loads(path.read_text(encoding="utf-8"))
                key = (str(audit["scenario"]), str(audit["policy"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if path.with_name("audit.html").is_file():
                found[key] = path.with_name("audit.html").relative_to(results).as_posix()
    return found


def build_report(results: Path, *, progress: bool = False) -> Path:
    """Draw every figure into results/plots/ and write results/report.html."""
    from agents.progress import steps
    from experiments.staffing.section import with_staffing_section
    from sim.atomic import remove_stale_temps

    tables = read_tables(results)
    remove_stale_temps(results, recursive=False)  # what a killed run left half-written
    remove_stale_temps(results / "plots")
    audits = find_audits(results)
    sections, glance = [], []
    scenarios = tables.comparison.groupby("scenario", sort=False)
    for scenario, comparison in steps(scenarios, "drawing the report", total=scenarios.ngroups,
                                      unit="scenario", disable=not progress):
        section, row = scenario_section(results, tables, str(scenario), comparison, audits)
        sections.append(section)
        glance.append(row)
    page = with_staffing_section(render(tables, sections, glance), results)
    return write_text(page, results / "report.html")


def _plot_path(results: Path, scenario: str, what: str) -> Path:
    """plots/<scenario>-<what>.png, the name from a table made safe: never a path elsewhere."""
    return inside(results, results / "plots" / f"{safe_name(scenario)}-{what}.png",
                  what="RESULTS_DIR")


def scenario_section(results: Path, tables: Tables, scenario: str, comparison: pd.DataFrame,
                     audits: dict[tuple[str, str], str]) -> tuple[str, str]:
    """The scenario's HTML and its row of the at-a-glance table."""
    spec = tables.scenarios.get(scenario, {})
    runs = tables.runs[tables.runs["scenario"] == scenario]
    by_type = (tables.by_type[tables.by_type["scenario"] == scenario]
               if tables.by_type is not None else None)
    order = list(comparison["policy"])
    groups = identical_groups(runs, by_type, order)
    targets = targets_of(spec) if spec else _targets_from(by_type)
    ranked = scenario_standings(comparison, by_type, targets, groups)
    best = ranked[0]
    audited = {g.name: link for g in groups if (link := _audit_for(audits, scenario, g))}
    audit = audited.get(best.policy)
    types = spec.get("ticket_types") or {t: {"sla_minutes": float("nan")} for t in targets}
    abandon = comparison.set_index("policy")["abandon_rate"]
    parts = [f"<h2 id='scenario-{_e(scenario)}'>{_e(scenario)}</h2>",
             f"<p class='description'>{_e(spec.get('description', ''))}</p>",
             recommendation_html(scenario, ranked, groups, audit, types),
             policy_table(comparison, ranked, groups, abandon, audited),
             f"<p class='cost'>{_e(cost_words(spec))}</p>" if spec else ""]
    if len(groups) < len(order):
        parts.append(f"<p class='note-inline'>{len(order)} policies, {len(groups)} different "
                     "behaviours: policies joined by = routed every ticket the same way on "
                     "every simulated day.</p>")
    cost = _cost_figure(results, scenario, comparison, groups)
    parts.append(f"<details><summary>Cost per hour with 95% intervals, as a figure</summary>"
                 f"<figure><img src='{_e(cost)}' alt='cost per hour, {_e(scenario)}'></figure>"
                 "</details>")
    figure = _hourly_figure(results, tables, scenario, spec, ranked, groups, comparison)
    if figure:
        parts.append(f"<figure><img src='{_e(figure)}' alt='service by hour, {_e(scenario)}'>"
                     f"<figcaption>{_e(_hourly_caption(spec))}</figcaption></figure>")
    met = ("no target set" if not targets else "every target met" if best.meets else
           f"misses {', '.join(best.misses)} (shortfall {best.shortfall:.3f})")
    link = f" <a href='{_e(audit)}'>audit</a>" if audit else ""
    row = (f"<tr><td class='text'><a href='#scenario-{_e(scenario)}'>{_e(scenario)}</a></td>"
           f"<td class='text'><b>{_e(best.policy)}</b>{link}</td>"
           f"<td>{best.cost_per_hour:,.1f}</td><td class='text'>{_e(met)}</td></tr>")
    return "\n".join(p for p in parts if p), row


def _targets_from(by_type: pd.DataFrame | None) -> dict[str, float]:
    if by_type is None or "sla_target" not in by_type:
        return {}
    firsts = by_type.groupby("ticket_type", sort=False)["sla_target"].first().dropna()
    return {str(t): float(v) for t, v in firsts.items()}


def _audit_for(audits: dict[tuple[str, str], str], scenario: str,
               group: PolicyGroup) -> str | None:
    for (audited, policy), link in audits.items():
        label = policy if ":" not in policy else _label(policy)
        if audited == scenario and (policy in group.members or label in group.members):
            return link
    return None


def _label(spec: str) -> str:
    from agents.registry import policy_label

    return policy_label(spec)


def _hourly_figure(results: Path, tables: Tables, scenario: str, spec: dict[str, Any],
                   ranked: list, groups: list[PolicyGroup], comparison: pd.DataFrame) -> str | None:
    """Service by hour for a few policies, where demand or staffing changes over the day."""
    hourly = tables.hourly
    if not spec or hourly is None or "arrived" not in set(hourly["series"]) or not varies_by_hour(spec):
        return None
    lines: dict[str, str] = {}
    cheapest = comparison["best_heuristic"].dropna()
    picks = [ranked[0].policy] + ([cheapest.iloc[0]] if len(cheapest) else [])
    picks += [g.name for g in groups if ":" in g.name or "-" in g.name]  # learned, tuned, tables
    picks += [s.policy for s in ranked[1:]]
    for policy in picks:
        group = next((g for g in groups if policy in g.members), None)
        if group is None or group.name in lines.values() or len(lines) == MAX_LINES:
            continue
        others = len(group.members) - 1
        label = group.label if others <= 2 else f"{group.name} (= {others} others)"
        lines[label] = group.name
    from experiments import plots

    path = _plot_path(results, scenario, "service-by-hour")
    drawn = plots.hourly_service_figure(hourly[hourly["scenario"] == scenario], spec, lines, path)
    return drawn.relative_to(results).as_posix() if drawn else None


def _cost_figure(results: Path, scenario: str, comparison: pd.DataFrame,
                 groups: list[PolicyGroup]) -> str:
    """Cost per hour of each group of identical policies (named by its members)."""
    from experiments import plots

    names = {g.name: (g.label if len(g.members) <= 3 else f"{g.name} (= {len(g.members) - 1} "
                      "others)") for g in groups}
    shown = comparison[comparison["policy"].isin(names)].copy()
    best = shown["best_heuristic"].map(lambda b: names.get(b, b) if isinstance(b, str) else b)
    shown = shown.assign(policy=shown["policy"].map(names), best_heuristic=best)
    path = _plot_path(results, scenario, "cost")
    return plots.cost_figure(shown, scenario, path).relative_to(results).as_posix()


def _hourly_caption(spec: dict[str, Any]) -> str:
    return ("Share of each hour's tickets answered within their SLA (dashed line: the target) "
            "and share that hung up, by hour of arrival: the recommended policy, the cheapest "
            "heuristic, any learned or tuned policy, then the next in the table (four at "
            "most). Shaded: "
            + ("; ".join(_event_words(e) for e in spec.get("events", [])) or "no event")
            + (", and the warm-up (not counted)." if spec.get("warmup_hours") else "."))


def _event_words(event: dict[str, Any]) -> str:
    window = f"{event['start_hour']:g}:00-{event['end_hour']:g}:00"
    if event["kind"] == "surge":
        return f"{', '.join(event['ticket_types'])} x{event['factor']:g} ({window})"
    return f"{event['agents']} {event['group']} agents absent ({window})"


# -- the page ------------------------------------------------------------------------------


def render(tables: Tables, sections: list[str], glance: list[str]) -> str:
    manifest = tables.manifest
    policies = list(dict.fromkeys(tables.comparison["policy"]))
    scenarios = list(dict.fromkeys(tables.comparison["scenario"]))
    seeds = int(tables.comparison["n_seeds"].max())
    meta = (f"{len(scenarios)} scenario(s), {len(policies)} policies, {seeds} simulated days "
            "each, the same days for every policy."
            + (f" With fewer than {FEW_SEEDS} days the 95% intervals are wide: read them as rough."
               if int(tables.comparison["n_seeds"].min()) < FEW_SEEDS else "")
            + (f" routelab {manifest['routelab_version']}." if "routelab_version" in manifest
               else "") + f" Built {time.strftime('%Y-%m-%d %H:%M')}.")
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title="Which routing policy to use", meta=_e(meta), glance="\n".join(glance),
        sections="\n".join(f"<section>{s}</section>" for s in sections),
        glossary=glossary_html(policies), notes=NOTES)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


NOTES = """<p><b>The recommendation.</b> The cheapest policy whose service level, averaged over
the simulated days, meets every ticket type's target; where none does, the one with the smallest
total shortfall (the sum over types of how far each falls below its target).</p>
<p><b>Service level</b> is the share of a type's tickets answered within its SLA time; a customer
who hangs up first counts as a miss. A red cell marked &#x2717; misses its target.</p>
<p><b>Same days for every policy.</b> For a given day, every policy sees the same arrivals, the
same work per ticket and the same customer patience, so differences come from routing alone and
are compared day by day (paired). Intervals are 95% Student t intervals over days; trust a
difference whose interval excludes zero. The cheapest heuristic is picked from the same runs it
is compared on, which flatters it slightly.</p>"""


def run(results_dir: Path) -> None:
    """The work of `routelab report`; its options and help: experiments/commands/report.py."""
    path = build_report(results_dir, progress=True)
    click.echo(f"wrote {path} and {results_dir / 'plots'}/")
