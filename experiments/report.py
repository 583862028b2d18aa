"""`routelab report`: the plots and report.html of a results folder, from its tables.

Reads runs.csv and comparison.csv (and by_type.csv, hourly.csv, waits.csv,
scenarios.json where present); runs no simulation. The report opens from
disk: images sit in plots/ beside it, linked by relative paths.
"""

from __future__ import annotations

import html
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import click
import pandas as pd

from experiments.errors import UserError
from experiments.io import write_text
from experiments.paths import inside, safe_name
from experiments.stats import COMPARISON_COLUMNS
from sim.atomic import remove_stale_temps
from sim.intervals import FEW_SEEDS

TEMPLATE = Path(__file__).with_name("report_template.html")
CHANNEL_NOUNS = {"phone": "calls", "chat": "chats", "email": "emails"}


@dataclass(frozen=True)
class Tables:
    runs: pd.DataFrame
    comparison: pd.DataFrame
    by_type: pd.DataFrame | None
    hourly: pd.DataFrame | None
    waits: pd.DataFrame | None
    scenarios: dict[str, dict[str, Any]]
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Figure:
    scenario: str
    path: str  # relative to the results folder
    caption: str


# The columns the report reads from each table; all but TEXT_COLUMNS hold numbers.
TABLE_COLUMNS = {
    "runs.csv": ("scenario", "policy", "seed", "cost_per_hour"),
    "comparison.csv": tuple(c for c in COMPARISON_COLUMNS if c != "cost_diff_p_value"),
    "by_type.csv": ("scenario", "policy", "ticket_type", "service_level", "mean_wait_min",
                    "abandon_rate"),
    "hourly.csv": ("scenario", "policy", "series", "name", "hour", "value"),
    "waits.csv": ("scenario", "policy", "ticket_type", "upper_min", "answered", "counted"),
}
TEXT_COLUMNS = ("scenario", "policy", "ticket_type", "series", "name", "best_heuristic")
KEY_COLUMNS = ("scenario", "policy", "seed", "n_seeds", "ticket_type", "series", "name", "hour")


def read_tables(results: Path) -> Tables:
    """The tables of a benchmark folder; runs.csv and comparison.csv are required.

    A table without a column the report reads, or with words where numbers
    belong, is one line naming file and column, never a traceback.
    """
    if not results.is_dir():
        raise UserError(f"RESULTS_DIR: {results} is not a folder")
    missing = [n for n in ("runs.csv", "comparison.csv") if not (results / n).is_file()]
    if missing:
        raise UserError(f"RESULTS_DIR: {results} has no {' or '.join(missing)} "
                        "(run `routelab benchmark` first)")

    def optional_csv(name: str) -> pd.DataFrame | None:
        return read_table(results / name) if (results / name).is_file() else None

    scenarios = {}
    for name, spec in read_json(results / "scenarios.json").items():
        if _scenario_spec_ok(results / "scenarios.json", name, spec):
            scenarios[name] = spec
    return Tables(read_table(results / "runs.csv"), read_table(results / "comparison.csv"),
                  optional_csv("by_type.csv"), optional_csv("hourly.csv"),
                  optional_csv("waits.csv"), scenarios, read_json(results / "manifest.json"))


def read_table(path: Path) -> pd.DataFrame:
    """One result table, its columns checked against TABLE_COLUMNS."""
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    except (ValueError, OSError) as error:
        raise UserError(f"RESULTS_DIR: {path}: unreadable table "
                        f"({' '.join(str(error).split())[:200]})") from None
    required = TABLE_COLUMNS.get(path.name, ())
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise UserError(f"RESULTS_DIR: {path}: missing column(s) {', '.join(absent)}")
    if frame.empty:
        if path.name in ("runs.csv", "comparison.csv"):
            raise UserError(f"RESULTS_DIR: {path}: no rows")
        return frame
    for column in required:
        if column not in TEXT_COLUMNS and not pd.api.types.is_numeric_dtype(frame[column]):
            raise UserError(f"RESULTS_DIR: {path}: column {column}: expected numbers")
        if column in KEY_COLUMNS and frame[column].isna().any():
            raise UserError(f"RESULTS_DIR: {path}: column {column}: empty cells")
    return frame


def read_json(path: Path) -> dict[str, Any]:
    """An optional JSON object beside the tables ({} if absent)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        reason = "nested too deep" if isinstance(error, RecursionError) else \
            " ".join(str(error).split())[:200]
        raise UserError(f"RESULTS_DIR: {path}: unreadable ({reason})") from None
    if not isinstance(data, dict):
        raise UserError(f"RESULTS_DIR: {path}: expected a JSON object")
    return data


def _scenario_spec_ok(path: Path, name: str, spec: object) -> bool:
    """A scenario in scenarios.json the figures can draw from; else a note, and only the
    cost figure for it."""
    from sim.scenario import parse_scenario

    try:
        parse_scenario(spec, f"{path}: {name}")
    except (ValueError, RecursionError) as error:  # ScenarioError is a ValueError
        said = " ".join(str(error).split())[:300]
        click.echo(f"note: {said}; only its cost figure is drawn", err=True)
        return False
    return True


def build_report(results: Path, *, progress: bool = False) -> Path:
    """Draw every figure into results/plots/ and write results/report.html."""
    from agents.progress import steps
    from experiments import plots

    tables = read_tables(results)
    remove_stale_temps(results, recursive=False)  # what a killed run left half-written
    remove_stale_temps(results / "plots")
    figures = []
    scenarios = tables.comparison.groupby("scenario", sort=False)
    for scenario, comparison in steps(scenarios, "drawing the report", total=scenarios.ngroups,
                                      unit="scenario", disable=not progress):
        policies = list(comparison["policy"])
        spec = tables.scenarios.get(scenario)
        stem = f"plots/{safe_name(scenario)}"  # a name from a table: never a path
        inside(results, results / f"{stem}-cost.png", what="RESULTS_DIR")
        plots.cost_figure(comparison, scenario, results / f"{stem}-cost.png")
        figures.append(Figure(scenario, f"{stem}-cost.png", _cost_caption(comparison)))
        if spec is None:
            continue  # the other figures need the scenario's types, groups and events
        if tables.waits is not None:
            waits = tables.waits[tables.waits["scenario"] == scenario]
            plots.waits_figure(waits, spec, policies, results / f"{stem}-waits.png")
            figures.append(Figure(scenario, f"{stem}-waits.png", WAITS_CAPTION))
        if tables.by_type is not None:
            by_type = tables.by_type[tables.by_type["scenario"] == scenario]
            plots.by_type_figure(by_type, spec, policies, results / f"{stem}-by-type.png")
            figures.append(Figure(scenario, f"{stem}-by-type.png", BY_TYPE_CAPTION))
        if tables.hourly is not None:
            hourly = tables.hourly[tables.hourly["scenario"] == scenario]
            plots.hourly_figure(hourly, spec, policies, results / f"{stem}-hourly.png")
            figures.append(Figure(scenario, f"{stem}-hourly.png", _hourly_caption(spec)))
    page = render(tables, figures)
    from experiments.staffing.section import with_staffing_section

    page = with_staffing_section(page, results)  # unchanged unless results/staff.json exists
    return write_text(page, results / "report.html")


# -- words -------------------------------------------------------------------------------


def headlines(tables: Tables) -> list[tuple[str, str]]:
    """(scenario, sentence) pairs in plain words; each sentence names every policy."""
    lines = []
    for scenario, comparison in tables.comparison.groupby("scenario", sort=False):
        lines.append((scenario, cost_sentence(comparison)))
        spec = tables.scenarios.get(scenario, {})
        if tables.by_type is not None:
            by_type = tables.by_type[tables.by_type["scenario"] == scenario]
            lines += [(scenario, s) for s in type_sentences(by_type, spec)]
        if comparison["abandon_rate"].fillna(0).max() > 0:
            lines.append((scenario, _ranking("Share of all tickets abandoned: ", comparison,
                                             "abandon_rate", ascending=True, fmt=_pct) + "."))
    return lines


def cost_sentence(comparison: pd.DataFrame) -> str:
    rows = comparison.sort_values("cost_per_hour", kind="stable")
    best = rows["best_heuristic"].dropna()
    if best.empty:
        return _ranking("Cost per hour: ", rows, "cost_per_hour", ascending=True,
                        fmt=lambda v: f"{v:,.1f}") + "."
    best_name = best.iloc[0]
    base = float(rows.loc[rows["policy"] == best_name, "cost_per_hour"].iloc[0])
    same, parts = [], []
    for row in rows.itertuples():
        if row.policy == best_name:
            continue
        if row.cost_diff_ci_low == row.cost_diff_ci_high == 0:
            same.append(row.policy)
            continue
        low, high = (100 * row.cost_diff_ci_low / base, 100 * row.cost_diff_ci_high / base)
        verdict = "" if _excludes_zero(low, high) else ", no clear difference"
        parts.append(f"{row.policy} {row.cost_diff_pct:+.1f}% ({_pct_span(low, high)}{verdict})")
    sentence = f"{best_name} is the cheapest heuristic at {base:,.1f} per hour."
    if same:
        verb = "routes" if len(same) == 1 else "route"
        sentence += f" {_names(same)} {verb} to the same cost on every simulated day."
    if parts:
        sentence += " The others, against it on the same days: " + "; ".join(parts) + "."
    return sentence


def type_sentences(by_type: pd.DataFrame, spec: dict[str, Any]) -> list[str]:
    """One sentence per ticket type: service level within its SLA, else mean wait."""
    sentences = []
    types = spec.get("ticket_types", {})
    means = by_type.groupby(["ticket_type", "policy"], sort=False)[
        ["service_level", "mean_wait_min"]].mean().reset_index()
    order = list(dict.fromkeys(by_type["policy"]))
    for name in dict.fromkeys(by_type["ticket_type"]):
        mine = means[means["ticket_type"] == name].set_index("policy").reindex(order).reset_index()
        info = types.get(name, {})
        noun = _noun(name, info.get("channel", ""))
        sla = info.get("sla_minutes")
        if sla and mine["service_level"].notna().any():
            groups = _groups(mine, "service_level", ascending=False, fmt=_pct)
            (first, value), rest = groups[0], groups[1:]
            verb = "answers" if len(first) == 1 else "answer"
            tail = "".join(f"; {_names(names)} {v}" for names, v in rest)
            target = info.get("sla_target")
            goal = f" (target {_pct(target)})" if target is not None else ""
            sentences.append(f"{_names(first)} {verb} {value} of {noun} within "
                             f"{_duration(sla)}{tail}{goal}.")
        else:
            groups = _groups(mine, "mean_wait_min", ascending=True, fmt=lambda v: f"{v:.1f} min")
            sentences.append(f"Average wait for {noun}: "
                             + "; ".join(f"{_names(n)} {v}" for n, v in groups) + ".")
    return sentences


def _noun(type_name: str, channel: str) -> str:
    """`fraud` on the phone -> `fraud calls`; a type already named `calls` stays `calls`."""
    words = type_name.replace("_", " ")
    noun = CHANNEL_NOUNS.get(channel, "tickets")
    return words if words.endswith((noun, noun.rstrip("s"), "tickets")) else f"{words} {noun}"


def _groups(rows: pd.DataFrame, metric: str, ascending: bool, fmt) -> list[tuple[list[str], str]]:
    """Policies ranked by a metric, those that read the same merged: [(names, text)]."""
    ranked = rows.sort_values(metric, ascending=ascending, kind="stable")
    groups: list[tuple[list[str], str]] = []
    for policy, value in zip(ranked["policy"], ranked[metric], strict=True):
        text = fmt(value)
        if groups and groups[-1][1] == text:
            groups[-1][0].append(policy)
        else:
            groups.append(([policy], text))
    return groups


def _names(policies: list[str]) -> str:
    if len(policies) <= 2:
        return " and ".join(policies)
    return ", ".join(policies[:-1]) + f" and {policies[-1]}"


def _ranking(prefix: str, rows: pd.DataFrame, metric: str, ascending: bool, fmt) -> str:
    return prefix + "; ".join(f"{_names(n)} {v}"
                              for n, v in _groups(rows, metric, ascending, fmt))


def _excludes_zero(low: float, high: float) -> bool:
    return not (math.isnan(low) or math.isnan(high)) and (low > 0 or high < 0)


def _pct(value: float) -> str:
    if pd.isna(value):
        return "-"
    return f"{100 * value:.0f}%" if value >= 0.1 else f"{100 * value:.1f}%"


def _pct_span(low: float, high: float) -> str:
    if math.isnan(low):
        return "interval not available"
    return f"95% CI {low:+.1f}% to {high:+.1f}%"


def _duration(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} seconds"
    if minutes >= 120:
        return f"{minutes / 60:g} hours"
    return "1 minute" if minutes == 1 else f"{minutes:g} minutes"


def _cost_caption(comparison: pd.DataFrame) -> str:
    best = comparison["best_heuristic"].dropna()
    name = best.iloc[0] if len(best) else "the best heuristic"
    return (f"Left: cost per hour of each policy (waiting cost plus abandonment penalties), "
            f"mean over {int(comparison['n_seeds'].max())} simulated days with a 95% interval. "
            f"Right: each policy's cost minus that of {name} on the same days; a whisker that "
            "does not cross zero is a clear difference.")


WAITS_CAPTION = ("Share of each ticket type answered within a given wait (a curve higher and "
                 "further left is better). The dotted line is the type's SLA; where a curve "
                 "crosses it is the service level. Curves stop short of 100% by the share "
                 "that abandoned.")
BY_TYPE_CAPTION = ("Top: share of each ticket type answered within its SLA (dashed: target). "
                   "Bottom: share that abandoned before an answer. Bars are means over seeds "
                   "with 95% intervals.")


def _hourly_caption(spec: dict[str, Any]) -> str:
    events = []
    for event in spec.get("events", []):
        window = f"hours {event['start_hour']:g}-{event['end_hour']:g}"
        if event["kind"] == "surge":
            events.append(f"a surge of {', '.join(event['ticket_types'])} (x{event['factor']:g}, "
                          f"{window})")
        else:
            events.append(f"{event['agents']} {event['group']} agents absent ({window})")
    said = f" Shaded: {'; '.join(events)}." if events else ""
    return ("Mean number of tickets waiting in each queue, and the share of scheduled agent "
            f"time spent serving, by hour, averaged over seeds.{said}")


# -- html ------------------------------------------------------------------------------


def render(tables: Tables, figures: list[Figure]) -> str:
    manifest = tables.manifest
    policies = list(dict.fromkeys(tables.comparison["policy"]))
    scenarios = list(dict.fromkeys(tables.comparison["scenario"]))
    seeds = int(tables.comparison["n_seeds"].max())
    meta = (f"{len(scenarios)} scenario(s): {', '.join(scenarios)}. {len(policies)} policies: "
            f"{', '.join(policies)}. {seeds} seeds (simulated days) each."
            + (f" With fewer than {FEW_SEEDS} seeds the 95% intervals are wide: read them as rough."
               if int(tables.comparison["n_seeds"].min()) < FEW_SEEDS else "")
            + (f" routelab {manifest['routelab_version']}." if "routelab_version" in manifest
               else "") + f" Report built {time.strftime('%Y-%m-%d %H:%M')}.")
    rows = "\n".join(f'<tr><td class="text">{_e(s)}</td><td>{_e(text)}</td></tr>'
                     for s, text in headlines(tables))
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title="Routing policies compared", meta=_e(meta), headlines=rows,
        comparison=_comparison_html(tables.comparison),
        figures=_figures_html(figures, tables.scenarios), notes=NOTES)


def _comparison_html(comparison: pd.DataFrame) -> str:
    head = ("<tr><th class='text'>scenario</th><th class='text'>policy</th><th>cost per hour</th>"
            "<th>vs best</th><th>mean wait (min)</th><th>answered within SLA</th>"
            "<th>abandoned</th><th>seeds</th></tr>")
    body = []
    for row in comparison.itertuples():
        best = ' class="best"' if row.policy == row.best_heuristic else ""
        body.append(
            f"<tr{best}><td class='text'>{_e(row.scenario)}</td><td class='text'>{_e(row.policy)}"
            f"</td><td>{_cell(row, 'cost_per_hour', '{:,.1f}')}</td>"
            f"<td>{_diff_cell(row)}</td><td>{_cell(row, 'mean_wait_min', '{:.2f}')}</td>"
            f"<td>{_cell(row, 'service_level', '{:.1%}')}</td>"
            f"<td>{_cell(row, 'abandon_rate', '{:.1%}')}</td><td>{row.n_seeds}</td></tr>")
    return f"<table class='comparison'><thead>{head}</thead><tbody>\n" + "\n".join(body) + \
        "\n</tbody></table>"


def _cell(row: Any, metric: str, fmt: str) -> str:
    value, low, high = (getattr(row, metric), getattr(row, f"{metric}_ci_low"),
                        getattr(row, f"{metric}_ci_high"))
    if pd.isna(value):
        return "-"
    span = ("" if pd.isna(low) else
            f"<br><span class='ci'>{fmt.format(low)} to {fmt.format(high)}</span>")
    return fmt.format(value) + span


def _diff_cell(row: Any) -> str:
    if pd.isna(row.cost_diff_vs_best):
        return "-"
    if row.policy == row.best_heuristic:
        return "(best)"
    span = ("" if pd.isna(row.cost_diff_ci_low) else
            f"<br><span class='ci'>{row.cost_diff_ci_low:+,.1f} to "
            f"{row.cost_diff_ci_high:+,.1f}</span>")
    return f"{row.cost_diff_vs_best:+,.1f} ({row.cost_diff_pct:+.1f}%){span}"


def _figures_html(figures: list[Figure], scenarios: dict[str, dict[str, Any]]) -> str:
    parts, current = [], None
    for figure in figures:
        if figure.scenario != current:
            current = figure.scenario
            description = scenarios.get(current, {}).get("description", "")
            parts.append(f"<h3>{_e(current)}</h3>" + (f"<p>{_e(description)}</p>" if description
                                                      else ""))
        parts.append(f'<figure><img src="{_e(figure.path)}" alt="{_e(figure.caption)}">'
                     f"<figcaption>{_e(figure.caption)}</figcaption></figure>")
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


NOTES = """<p>Each seed is one simulated day (or horizon) of the scenario. For a given seed,
every policy sees the same arrivals, the same work per ticket and the same customer patience
(common random numbers), so differences between policies come from routing alone and are
compared seed by seed.</p>
<p>Intervals are 95% Student t intervals over seeds. The cheapest heuristic is picked from the
same runs it is compared on, so small differences against it are slightly flattering to it;
trust differences whose interval clearly excludes zero.</p>
<p>Cost is the scenario's own currency: each minute a ticket waits costs its type's
wait cost per minute, and each abandoned ticket its abandon cost. Tickets arriving during the
warm-up are simulated but not counted.</p>"""


def run(results_dir: Path) -> None:
    """Rebuild report.html and plots/ of RESULTS_DIR from its tables (no simulation)."""
    path = build_report(results_dir, progress=True)
    click.echo(f"wrote {path} and {results_dir / 'plots'}/")
