"""The files of a staffing study: staffing.csv, staffed.yaml, staff.json and the plot.

staff.json is the whole story in one document (the report section reads only
it); staffed.yaml is the scenario with the final roster as its shifts, which
passes validation and runs as is.
"""

from __future__ import annotations

import math
import platform
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.io import write_csv, write_json, write_text
from experiments.staffing.cells import GUARD
from experiments.staffing.evaluate import Counts, ratio_interval
from experiments.staffing.problem import StaffingProblem, hour_blocks, original_roster, with_roster
from experiments.staffing.workflow import StaffResult
from experiments.stats import t_interval
from sim.scenario import HOURS_PER_DAY, Scenario, parse_scenario

PLANS = {"staffed": "staffed roster", "original": "original roster",
         "erlang_per_type": "one Erlang team per ticket type"}


def staffing_table(problem: StaffingProblem, roster: np.ndarray) -> pd.DataFrame:
    """staffing.csv: one row per group and hour of the day."""
    return pd.DataFrame([{"group": name, "hour": h, "agents": int(roster[g, h])}
                         for g, name in enumerate(problem.groups) for h in range(HOURS_PER_DAY)])


def staffed_scenario(result: StaffResult) -> Scenario:
    """The scenario with the final roster, renamed <name>_staffed; validated like any file."""
    problem = result.problem
    shifts = result.shifts or {g: hour_blocks(result.roster[i])
                               for i, g in enumerate(problem.groups)}
    staffed = with_roster(problem.scenario, result.roster, shifts)
    document = staffed_document(staffed, problem.scenario)
    return parse_scenario(document, "staffed.yaml")


def staffed_document(staffed: Scenario, source: Scenario) -> dict[str, Any]:
    """The scenario as YAML data: the fields the source set, with the new staffing plans."""
    fields = _whole_numbers(source.model_dump(mode="json", exclude_unset=True))
    document = {"name": f"{source.name}_staffed",
                "description": f"{source.description or source.name} (staffed by routelab staff)",
                **{k: v for k, v in fields.items() if k not in ("name", "description")}}
    for name, group in staffed.agent_groups.items():
        entry = document["agent_groups"][name]
        entry.pop("agents", None)
        entry.pop("shifts", None)
        if group.shifts is None:
            entry["agents"] = group.agents
        else:
            entry["shifts"] = [{"start_hour": _number(s.start_hour), "end_hour": _number(s.end_hour),
                                "agents": s.agents} for s in group.shifts]
        # keep skills and cost after the staffing plan, as people write them
        for key in ("skills", "cost_per_agent_hour"):
            if key in entry:
                entry[key] = entry.pop(key)
    return document


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _whole_numbers(value: Any) -> Any:
    """24.0 -> 24 all through a document, as people write them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


class _FlowDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = bool(data) and all(not isinstance(v, dict | list) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_FlowDumper.add_representer(list, _represent_list)
_FlowDumper.add_representer(dict, _represent_dict)


def staffed_yaml(result: StaffResult) -> str:
    staffed = staffed_scenario(result)
    document = staffed_document(staffed, result.problem.scenario)
    settings = result.settings
    header = (f"# Staffed by `routelab staff {result.problem.scenario.name} --policy {result.policy}"
              f" --scope {settings.scope} --seeds {settings.seeds}"
              + (f" --shift-hours {settings.shift_hours}" if settings.shift_hours else "")
              + "`.\n# Agents on shift per group and hour are in staffing.csv; "
              "the study in staff.json.\n")
    return header + yaml.dump(document, Dumper=_FlowDumper, sort_keys=False, width=100)


# -- staff.json ---------------------------------------------------------------------------


def staff_document(result: StaffResult) -> dict[str, Any]:
    problem, settings = result.problem, result.settings
    scenario = problem.scenario
    original = original_roster(scenario)
    rosters = {"staffed": result.roster, "original": original,
               "erlang_per_type": result.erlang_plan}
    return {
        "scenario": scenario.name, "scenario_sha256": scenario.sha256(), "policy": result.policy,
        "scope": settings.scope, "shift_hours": settings.shift_hours, "margin": settings.margin,
        "guard_standard_errors": dict(zip(("accept", "remove"), GUARD[settings.scope],
                                          strict=True)),
        "search_seeds": settings.search_seeds, "verification_seeds": settings.verification_seeds,
        "agent_hours": float(problem.agent_hours(result.roster).sum()),
        "cost": problem.cost_of(result.roster),
        "meets_all_targets": _meets_all(problem, result.verified["staffed"], settings.scope),
        "targets_checked": _verdict(problem, result.verified["staffed"], settings.scope),
        "groups": [{"group": g, "cost_per_agent_hour": float(problem.cost[i]),
                    **{f"{plan}_agent_hours": float(problem.agent_hours(r)[i])
                       for plan, r in rosters.items()}}
                   for i, g in enumerate(problem.groups)],
        "roster": _by_group(problem, result.roster),
        "requirement": _by_group(problem, result.search.roster),
        "shifts": None if result.shifts is None else {
            g: [s.model_dump() for s in shifts] for g, shifts in result.shifts.items()},
        "erlang_per_type": {
            "teams": {problem.types[k]: problem.groups[problem.team_of(k)]
                      for k in np.flatnonzero(problem.targeted)},
            "agents": {problem.types[k]: [int(v) for v in result.erlang_need[k]]
                       for k in np.flatnonzero(problem.targeted)},
            "roster": _by_group(problem, result.erlang_plan)},
        "original_roster": {g: [round(float(v), 3) for v in original[i]]
                            for i, g in enumerate(problem.groups)},
        "plans": [_plan_summary(problem, name, rosters[name], counts, settings.scope)
                  for name, counts in result.verified.items()],
        "service_levels": _type_levels(problem, result.verified["staffed"]),
        "hourly": _hourly_levels(problem, result.verified["staffed"]),
        "what_if": result.what_if,
        "search": _search_summary(result.search),
        "shift_search": None if result.shift_search is None else _search_summary(
            result.shift_search),
        "jobs": result.jobs, "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "routelab_version": version("routelab"), "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _search_summary(search: Any) -> dict[str, Any]:
    return {"feasible": search.feasible, "iterations": len(search.history) - 1,
            "history": [vars(step) for step in search.history]}


def _by_group(problem: StaffingProblem, roster: np.ndarray) -> dict[str, list[int]]:
    return {g: [int(v) for v in roster[i]] for i, g in enumerate(problem.groups)}


def _type_levels(problem: StaffingProblem, counts: Counts) -> list[dict[str, Any]]:
    """Per targeted type: the day's service level over the verification days, with interval."""
    daily, hourly = counts.daily(), counts.hourly()
    rows = []
    for k in np.flatnonzero(problem.targeted):
        interval = t_interval(daily[:, k])
        hours = np.flatnonzero(problem.counted_hours & (counts.arrived[:, k].sum(axis=0) > 0))
        met_hours = hourly[k, hours] >= problem.target[k]
        worst = hours[np.argmin(hourly[k, hours])] if len(hours) else None
        rows.append({
            "ticket_type": problem.types[k],
            "sla_minutes": float(problem.sla_minutes[k]), "sla_target": float(problem.target[k]),
            "service_level": interval.mean, "ci_low": interval.low, "ci_high": interval.high,
            "meets_target": bool(interval.mean >= problem.target[k]),
            "hours_meeting_target": int(met_hours.sum()), "hours": len(hours),
            "worst_hour": None if worst is None else int(worst),
            "worst_hour_service_level": None if worst is None else float(hourly[k, worst]),
            "abandon_rate": float(counts.abandoned[:, k].sum() / max(counts.arrived[:, k].sum(), 1)),
        })
    return rows


def _hourly_levels(problem: StaffingProblem, counts: Counts) -> list[dict[str, Any]]:
    rows = []
    days = len(counts.seeds)
    for k in np.flatnonzero(problem.targeted):
        for h in np.flatnonzero(problem.counted_hours):
            level, low, high = ratio_interval(counts.met[:, k, h], counts.arrived[:, k, h])
            rows.append({"ticket_type": problem.types[k], "hour": int(h),
                         "arrived_per_day": float(counts.arrived[:, k, h].sum() / days),
                         "service_level": _plain(level), "ci_low": _plain(low),
                         "ci_high": _plain(high)})
    return rows


def _plan_summary(problem: StaffingProblem, name: str, roster: np.ndarray, counts: Counts,
                  scope: str) -> dict[str, Any]:
    daily = counts.daily()
    return {"plan": name, "label": PLANS[name],
            "agent_hours": float(problem.agent_hours(roster).sum()),
            "cost": problem.cost_of(roster),
            "meets_all_targets": _meets_all(problem, counts, scope),
            "by_type": [{"ticket_type": problem.types[k], "service_level": i.mean,
                         "ci_low": i.low, "ci_high": i.high}
                        for k in np.flatnonzero(problem.targeted)
                        for i in [t_interval(daily[:, k])]]}


def _meets_all(problem: StaffingProblem, counts: Counts, scope: str) -> bool:
    """Every target met on the verification days (every counted hour too in hour scope)."""
    targeted = np.flatnonzero(problem.targeted)
    if scope == "day":
        return bool((np.nanmean(counts.daily()[:, targeted], axis=0)
                     >= problem.target[targeted]).all())
    hourly = counts.hourly()[targeted][:, problem.counted_hours]
    return bool(np.all(np.nan_to_num(hourly, nan=1.0) >= problem.target[targeted, None]))


def _verdict(problem: StaffingProblem, counts: Counts, scope: str) -> dict[str, Any]:
    """How many targets (type-hours, or types) hold on the verification days, and which
    fall short even at the top of their 95% interval ("clearly short")."""
    checked, met, clearly_short = 0, 0, []
    for k in np.flatnonzero(problem.targeted):
        target, name = problem.target[k], problem.types[k]
        if scope == "day":
            interval = t_interval(counts.daily()[:, k])
            cells = [(name, interval.mean, interval.high)]
        else:
            cells = []
            for h in np.flatnonzero(problem.counted_hours & (counts.arrived[:, k].sum(axis=0) > 0)):
                level, _, high = ratio_interval(counts.met[:, k, h], counts.arrived[:, k, h])
                cells.append((f"{name}@{h:02d}h", level, high))
        for label, level, high in cells:
            checked += 1
            met += bool(level >= target)
            if math.isfinite(high) and high < target:
                clearly_short.append(label)
    return {"checked": checked, "met": met, "clearly_short": clearly_short}


def _plain(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# -- writing --------------------------------------------------------------------------------


def write_outputs(result: StaffResult, out: Path) -> dict[str, Any]:
    """staffing.csv, staffed.yaml, staff.json, plots/staffing.png and report.html."""
    from experiments.staffing.plot import staffing_figure
    from experiments.staffing.section import standalone_page

    document = staff_document(result)
    write_csv(staffing_table(result.problem, result.roster), out / "staffing.csv")
    write_text(staffed_yaml(result), out / "staffed.yaml")
    staffing_figure(document, out / "plots" / "staffing.png")
    write_json(_strict(document), out / "staff.json")
    write_text(standalone_page(document, "plots/staffing.png"), out / "report.html")
    return document


def _strict(value: Any) -> Any:
    """NaN and infinities as null: staff.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, np.integer | np.floating):
        return _strict(value.item())
    return value
