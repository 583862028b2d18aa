"""The staffing section of a report, rendered from staff.json alone.

`section_html` is the section; `standalone_page` wraps it for the report.html
that `routelab staff` writes; `with_staffing_section` adds it to a benchmark
report whose folder holds a staff.json (called from experiments/report.py).
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any

# The style of the report page (experiments/report_template.html) serves this page too.
TEMPLATE = Path(__file__).resolve().parents[1] / "report_template.html"

STAFF_JSON = "staff.json"
PLOT = "plots/staffing.png"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{100 * value:.1f}%"


def _level(row: dict[str, Any], target: float | None = None) -> str:
    text = _pct(row.get("service_level"))
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is not None and high is not None:
        text += f"<br><span class='ci'>{_pct(low)} to {_pct(high)}</span>"
    if target is not None and row.get("service_level") is not None \
            and row["service_level"] < target:
        text = f"<strong>{text}</strong>"
    return text


def _change(row: dict[str, Any], prefix: str = "") -> str:
    value = row.get(f"{prefix}change")
    if value is None:
        return "-"
    low, high = row.get(f"{prefix}ci_low"), row.get(f"{prefix}ci_high")
    span = "" if low is None else f"<br><span class='ci'>{100 * low:+.1f} to {100 * high:+.1f}</span>"
    return f"{100 * value:+.1f} pts{span}"


def headline(doc: dict[str, Any]) -> str:
    """One paragraph in plain words: the answer, what it replaces, whether it holds."""
    plans = {p["plan"]: p for p in doc["plans"]}
    staffed, original, erlang = plans["staffed"], plans["original"], plans["erlang_per_type"]
    days = len(doc["verification_seeds"])
    checked = doc["targets_checked"]
    scope = "in every hour" if doc["scope"] == "hour" else "over the day"
    if doc["meets_all_targets"]:
        verdict = f"meets every ticket type's target {scope}"
    else:
        unit = "type-hours" if doc["scope"] == "hour" else "ticket types"
        short = checked["clearly_short"]
        verdict = (f"meets the target in {checked['met']} of {checked['checked']} {unit}; "
                   + (f"clearly short (whole 95% interval below target): {', '.join(short)}"
                      if short else "the others are within day-to-day noise (their 95% "
                      "intervals reach the target)"))
    original_misses = [r["ticket_type"] for r in original["by_type"]
                       if r["service_level"] is not None and r["service_level"]
                       < _target(doc, r["ticket_type"])]
    text = (f"Under {doc['policy']}, {staffed['agent_hours']:,.0f} agent-hours a day "
            f"(cost {staffed['cost']:,.1f}) on {days} fresh simulated days: {verdict}.")
    text += (f" The original roster has {original['agent_hours']:,.0f} agent-hours"
             + (f" and misses {', '.join(original_misses)} over the day" if original_misses
                else " and meets every target over the day")
             + f"; one Erlang team per ticket type would need {erlang['agent_hours']:,.0f}.")
    return text


def _target(doc: dict[str, Any], ticket_type: str) -> float:
    return next(r["sla_target"] for r in doc["service_levels"] if r["ticket_type"] == ticket_type)


def plans_table(doc: dict[str, Any]) -> str:
    types = [r["ticket_type"] for r in doc["service_levels"]]
    head = "".join(f"<th>{_e(t)}<br><span class='ci'>target {_pct(_target(doc, t))}</span></th>"
                   for t in types)
    rows = []
    for plan in doc["plans"]:
        cells = "".join(f"<td>{_level(r, _target(doc, r['ticket_type']))}</td>"
                        for r in plan["by_type"])
        best = " class='best'" if plan["plan"] == "staffed" else ""
        rows.append(f"<tr{best}><td class='text'>{_e(plan['label'])}</td>"
                    f"<td>{plan['agent_hours']:,.0f}</td><td>{plan['cost']:,.1f}</td>{cells}</tr>")
    return (f"<table><thead><tr><th class='text'>roster</th><th>agent-hours a day</th>"
            f"<th>cost</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def groups_table(doc: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td class='text'>{_e(g['group'])}</td><td>{g['cost_per_agent_hour']:g}</td>"
        f"<td>{g['staffed_agent_hours']:,.0f}</td><td>{g['original_agent_hours']:,.1f}</td>"
        f"<td>{g['erlang_per_type_agent_hours']:,.0f}</td></tr>" for g in doc["groups"])
    return ("<table><thead><tr><th class='text'>group</th><th>cost per agent-hour</th>"
            "<th>staffed</th><th>original</th><th>Erlang per type</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def hours_table(doc: dict[str, Any]) -> str:
    rows = []
    for r in doc["service_levels"]:
        worst = "-" if r["worst_hour"] is None else f"{r['worst_hour']:02d}:00"
        rows.append(f"<tr><td class='text'>{_e(r['ticket_type'])}</td>"
                    f"<td>{r['hours_meeting_target']} of {r['hours']}</td><td>{worst}</td>"
                    f"<td>{_pct(r['worst_hour_service_level'])}</td>"
                    f"<td>{_pct(r['abandon_rate'])}</td></tr>")
    return ("<table><thead><tr><th class='text'>ticket type</th><th>hours meeting target</th>"
            "<th>worst hour</th><th>its service level</th><th>abandoned</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def what_if_table(doc: dict[str, Any]) -> str:
    what_if = doc.get("what_if")
    if not what_if or not what_if["changes"]:
        return "<p>No what-if was run.</p>"
    types = [r["ticket_type"] for r in doc["service_levels"]]
    head = "".join(f"<th>{_e(t)}</th>" for t in types)
    rows = []
    for change in what_if["changes"]:
        by_type = {r["ticket_type"]: r for r in change["by_type"]}
        cells = "".join(f"<td>{_change(by_type[t], 'busiest_hours_')}<br><span class='ci'>day: "
                        f"{_points(by_type[t]['change'])}</span></td>" for t in types)
        rows.append(f"<tr><td class='text'>{change['change']:+d} {_e(change['group'])}</td>"
                    f"<td>{change['cost']:+,.1f}</td>{cells}</tr>")
    hours = ", ".join(f"{h:02d}:00" for h in what_if["hours"])
    return (f"<p>One agent more or fewer in a group during the busiest hours ({hours}): the "
            "change in the service level of those hours' arrivals, in percentage points, "
            "against the staffed roster on the same days (paired 95% interval), and under it "
            "the change over the whole day.</p>"
            f"<table><thead><tr><th class='text'>change</th><th>cost</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f} pts"


def section_html(doc: dict[str, Any], plot: str = PLOT) -> str:
    days = len(doc["verification_seeds"])
    search = doc["search"]
    return f"""<h2 id="staffing-{_e(doc['scenario'])}">Staffing: {_e(doc['scenario'])}</h2>
<p>{_e(headline(doc))}</p>
<p>Service level per ticket type over the day on {days} verification days never used in the
search (95% interval in grey; bold: below target).</p>
{plans_table(doc)}
<h3>Agent-hours by group</h3>
{groups_table(doc)}
<figure><img src="{_e(plot)}" alt="agents per hour, staffed against the original roster">
<figcaption>Agents on shift per hour of the day in each group: the staffed roster (red), the
original roster (grey) and one Erlang team per ticket type (blue, dotted).</figcaption></figure>
<h3>Hour by hour</h3>
{hours_table(doc)}
<h3>What if</h3>
{what_if_table(doc)}
<p class="meta">Scope {_e(doc['scope'])}; {len(doc['search_seeds'])} search days,
{search['iterations']} search steps; {doc['jobs'].get('simulated', 0)} simulated days in this
run; {doc['seconds'].get('total', 0):,.0f} s.</p>"""


def standalone_page(doc: dict[str, Any], plot: str = PLOT) -> str:
    style = re.search(r"<style>.*?</style>", TEMPLATE.read_text(encoding="utf-8"), re.S)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Staffing: {_e(doc['scenario'])}</title>
{style.group(0) if style else ''}
</head>
<body>
<h1>Staffing {_e(doc['scenario'])} under {_e(doc['policy'])}</h1>
{section_html(doc, plot)}
<h2>How to read this section</h2>
<div class="note">{NOTES}</div>
</body>
</html>
"""


def with_staffing_section(page: str, results: Path) -> str:
    """The report page with the staffing section of results/staff.json, if there is one."""
    path = Path(results) / STAFF_JSON
    if not path.is_file():
        return page
    doc = json.loads(path.read_text(encoding="utf-8"))
    section = section_html(doc) + f"\n<div class='note'>{NOTES}</div>\n"
    marker = "<h2>How to read this report</h2>"
    if marker in page:
        return page.replace(marker, section + marker, 1)
    return page.replace("</body>", section + "</body>", 1)


NOTES = """<p>The staffed roster is found by simulation under the routing policy: it starts
from one Erlang team per ticket type (Erlang A where customers abandon), then adds the
agent-hours that close the largest shortfall per unit cost and removes those the targets do
not need, every candidate judged on the same search days (common random numbers). Its
figures here come from fresh days the search never saw.</p>
<p>A service level is the share of arrivals answered within the type's SLA (an abandoned
ticket is not answered). In hour scope the target holds for the arrivals of every hour, pooled
over days; in day scope over each day's arrivals, averaged over days.</p>"""
