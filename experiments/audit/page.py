"""audit.html: the audit on one page, findings first, every miss marked."""

from __future__ import annotations

import html
from typing import Any

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 1.5rem auto;
       max-width: 72rem; padding: 0 1.5rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
border-bottom: 1px solid #ddd; } .meta { color: #666; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
td.miss { background: #fde0dc; color: #8a1c0c; font-weight: 600; }
td.ok { background: #e6f4ea; }
.findings { background: #f6f8fa; border-left: 4px solid #0072b2; padding: 0.6rem 1.2rem; }
.findings li { margin: 0.25rem 0; } code { background: #f4f4f4; padding: 0 0.2rem; }
"""


def render(audit: dict[str, Any], scenario: dict[str, Any]) -> str:
    fair = audit["fairness"]
    parts = [f"<h1>Audit: {_e(audit['policy'])} on {_e(audit['scenario'])}</h1>",
             f"<p class='meta'>{_e(scenario.get('description', ''))}. Seeds (simulated days) "
             f"{_seeds(audit['seeds'])}; baseline for comparison: "
             f"<b>{_e(audit['baseline_policy'])}</b>. A red cell misses its target.</p>",
             "<div class='findings'><ul>" + "".join(f"<li>{line}</li>" for line in
                                                     findings(audit)) + "</ul></div>",
             "<h2>Fairness: who is served how</h2>", _type_table(fair, audit),
             _channel_table(fair), _agents_table(fair),
             "<h2>Robustness: the same days under stress</h2>", _stress_table(audit),
             "<h2>Transparency: what it does</h2>", _transparency(audit)]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Audit of {_e(audit['policy'])} on {_e(audit['scenario'])}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def findings(audit: dict[str, Any]) -> list[str]:
    """The audit in five sentences (HTML-escaped)."""
    fair, base = audit["fairness"], _e(audit["baseline_policy"])
    lines = [f"Cost {_money(fair['cost_per_hour'])} per hour against {base}'s "
             f"{_money(fair['baseline_cost_per_hour'])} (waiting and abandonment cost, the "
             "scenario's money)."]
    missed = [r for r in fair["by_type"] if r["shortfall"]]
    if any(r["sla_target"] is not None for r in fair["by_type"]):
        lines.append(("Misses " + ", ".join(
            f"{_e(r['ticket_type'])} ({_pct(r['service_level'])} against "
            f"{_pct(r['sla_target'])})" for r in missed)
            if missed else "Meets every service-level target")
            + f"; total shortfall {fair['total_shortfall']:.3f} against {base}'s "
            f"{fair['baseline_total_shortfall']:.3f}.")
    if fair["worst_served"]:
        worst = fair["worst_served"]
        lines.append(f"Worst served: {_e(worst['ticket_type'])}, {_e(worst['reason'])}.")
    summary = audit["stress_summary"]
    broken = [b for b in summary["breaks_first"] if b["stress"] != "nominal"]
    if broken:
        first = broken[0]
        lines.append(f"Under stress, {_e(first['ticket_type'])} breaks first "
                     f"({_e(first['stress'])}: {_pct(first['service_level'])} against "
                     f"{_pct(first['sla_target'])}).")
    elif summary["never_broken"]:
        lines.append("Every target it meets holds under every stress tried.")
    departures = audit["transparency"]["departures"]
    if departures["share"] is not None:
        lines.append(f"It departs from {base} in {departures['share']:.0%} of its real choices "
                     f"({departures['count']:,} of {audit['transparency']['decisions']:,} on "
                     f"{len(audit['transparency']['recorded_days'])} day(s)).")
    return lines


def _type_table(fair: dict[str, Any], audit: dict[str, Any]) -> str:
    head = ["ticket type", "channel", "answered in SLA", "target", "shortfall",
            f"{audit['baseline_policy']}", "mean wait", "95% wait", "95% wait / SLA",
            "abandoned"]
    body = []
    for r in fair["by_type"]:
        body.append([_text(r["ticket_type"]), _text(r["channel"]),
                     _level(r["service_level"], r["sla_target"]), _pct(r["sla_target"]),
                     _num(r["shortfall"], 3), _level(r["baseline_service_level"], r["sla_target"]),
                     _minutes(r["mean_wait_min"]), _minutes(r["p95_wait_min"]),
                     _num(r["p95_wait_over_sla"], 2), _pct(r["abandon_rate"])])
    spread = fair.get("wait_spread")
    note = (f"<p>Waits against each type's SLA: {_e(spread['highest'])} waits longest for its "
            f"SLA (95% wait {spread['p95_wait_over_sla'][spread['highest']]:.2f} x SLA), "
            f"{_e(spread['lowest'])} shortest "
            f"({spread['p95_wait_over_sla'][spread['lowest']]:.2f} x).</p>" if spread else "")
    return _table(head, body) + note


def _channel_table(fair: dict[str, Any]) -> str:
    head = ["channel", "ticket types", "answered in SLA", "target (weighted)", "shortfall",
            "mean wait", "95% wait", "abandoned"]
    body = [[_text(r["channel"]), _text(", ".join(r["ticket_types"])),
             _level(r["service_level"], r["sla_target"]), _pct(r["sla_target"]),
             _num(r["shortfall"], 3), _minutes(r["mean_wait_min"]), _minutes(r["p95_wait_min"]),
             _pct(r["abandon_rate"])] for r in fair["by_channel"]]
    return _table(head, body)


def _agents_table(fair: dict[str, Any]) -> str:
    spread = fair.get("occupancy_spread")
    head = ["agent group", "occupancy (busy share of scheduled time)"]
    body = [[_text(a["group"]), _pct(a["occupancy"])] for a in fair["agents"]]
    note = (f"<p>Occupancy ranges from {_pct(spread['min'])} to {_pct(spread['max'])} "
            f"({100 * spread['range']:.0f} points apart).</p>" if spread else "")
    return _table(head, body) + note


def _stress_table(audit: dict[str, Any]) -> str:
    fair = audit["fairness"]
    types = [r["ticket_type"] for r in fair["by_type"] if r["sla_target"] is not None]
    head = ["stress", "cost / h", audit["baseline_policy"], "shortfall",
            *[t.replace("_", " ") for t in types]]
    levels = {r["ticket_type"]: r for r in fair["by_type"]}
    body = [[_text("none (as it is)"), _money(fair["cost_per_hour"]),
             _money(fair["baseline_cost_per_hour"]), _num(fair["total_shortfall"], 3),
             *[_level(levels[t]["service_level"], levels[t]["sla_target"]) for t in types]]]
    for row in audit["robustness"]:
        cells = {c["ticket_type"]: c for c in row["by_type"]}
        link = f"<a href='{_e(row['scenario_file'])}'>{_e(row['stress'])}</a>"
        body.append([f"<td class='text' title='{_e(row['description'])}'>{link}</td>",
                     _money(row["policy_cost_per_hour"]), _money(row["baseline_cost_per_hour"]),
                     _num(row["policy_total_shortfall"], 3),
                     *[_level(cells[t]["service_level"], cells[t]["sla_target"]) for t in types]])
    words = "".join(f"<li><b>{_e(r['stress'])}</b>: {_e(r['description'])}</li>"
                    for r in audit["robustness"])
    first = audit["stress_summary"]["breaks_first"]
    order = ("<p>Targets in the order they break: " + "; ".join(
        f"{_e(b['ticket_type'])} ({'already missed' if b['stress'] == 'nominal' else _e(b['stress'])})"
        for b in first) + ".</p>") if first else ""
    rerun = audit["manifest"]["rerun"][0] if audit["manifest"]["rerun"] else ""
    return (_table(head, body) + order + f"<ul>{words}</ul><p>Each stress is a scenario file "
            f"beside this page; its figures equal <code>{_e(rerun)}</code> and likewise for "
            "the others.</p>")


def _transparency(audit: dict[str, Any]) -> str:
    t = audit["transparency"]
    parts = ["<p>" + "<br>".join(_e(line) for line in t["definition"]) + "</p>"]
    if t["rules"]:
        parts.append(f"<p>What it does most often ({t['decisions']:,} real choices on "
                     f"{len(t['recorded_days'])} day(s)):</p><ul>"
                     + "".join(f"<li>{_e(r['text'])}</li>" for r in t["rules"]) + "</ul>")
    where = t["departures"]["where"]
    if where:
        parts.append(f"<p>Where it departs from {_e(audit['baseline_policy'])} most:</p><ul>"
                     + "".join(f"<li>{_e(w['situation'])}: {w['departures']:,} times "
                               f"({w['share']:.0%} of those choices)</li>" for w in where)
                     + "</ul>")
    if t["examples"]:
        parts.append("<p>Three departures as they happened:</p><ul>"
                     + "".join(f"<li>{_e(x)}</li>" for x in t["examples"]) + "</ul>")
    return "\n".join(parts)


def _table(head: list[str], body: list[list[str]]) -> str:
    header = "".join(f"<th{' class=text' if i < 2 else ''}>{_e(h)}</th>"
                     for i, h in enumerate(head))
    rows = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)
                   + "</tr>" for row in body)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"


def _level(level: float | None, target: float | None) -> str:
    if level is None:
        return "<td>-</td>"
    if target is None:
        return f"<td>{_pct(level)}</td>"
    miss = level < target - 1e-9
    mark = " &#x2717;" if miss else ""
    return f"<td class='{'miss' if miss else 'ok'}'>{_pct(level)}{mark}</td>"


def _text(value: str) -> str:
    return f"<td class='text'>{_e(value)}</td>"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} min" if value < 120 else f"{value / 60:.1f} h"


def _seeds(seeds: list[int]) -> str:
    return f"0-{seeds[-1]}" if seeds == list(range(len(seeds))) and len(seeds) > 1 else str(seeds)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
