"""Stressed versions of a scenario: busier, slower, less patient, short-staffed, surging.

Each stress changes one thing and nothing else, so its effect is the
stress's. The scenario is rebuilt from its validated content, so a stressed
scenario passes the same checks as any file, and is written as YAML beside
the audit to be rerun with `routelab simulate`.

The peak is the `PEAK_HOURS` consecutive counted hours with the most work
arriving (arrivals x mean handle time, surges included); on a scenario with
constant demand it is the first such window after the warm-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sim.atomic import write_text
from sim.scenario import Scenario, load_scenario, parse_scenario
from sim.schedule import ArrivalSchedule

PEAK_HOURS = 4
ABSENT_SHARE = 0.2


def _scaled(field: str, key: str, factor: float) -> Callable[[dict[str, Any], Scenario], str]:
    def change(content: dict[str, Any], scenario: Scenario) -> str:
        for spec in content["ticket_types"].values():
            if key and spec.get(field):
                spec[field][key] *= factor
            elif not key:
                spec[field] *= factor
        return {"arrivals_per_hour": f"every arrival rate x{factor:g}",
                "handle_minutes": f"every mean handle time x{factor:g}",
                "patience_minutes": f"every mean patience x{factor:g}"}[field]
    return change


def _absence(content: dict[str, Any], scenario: Scenario) -> str:
    start, end = peak_window(scenario)
    absent = []
    for name, group in scenario.agent_groups.items():
        heads = max(group.scheduled_agents(h % 24) for h in _hours(start, end))
        if heads:
            agents = max(1, round(ABSENT_SHARE * heads))
            content.setdefault("events", []).append(
                {"kind": "absence", "group": name, "start_hour": start, "end_hour": end,
                 "agents": agents})
            absent.append(f"{agents} of {heads} {name}")
    return (f"20% of every group absent over the peak (hours {start:g}-{end:g}; at least one "
            f"agent): {', '.join(absent)}")


def _surge(content: dict[str, Any], scenario: Scenario) -> str:
    start, end = peak_window(scenario)
    volumes = {t: expected_arrivals(scenario, t, scenario.warmup_minutes, scenario.horizon_minutes)
               for t in scenario.type_names}
    largest = max(volumes, key=volumes.__getitem__)
    content.setdefault("events", []).append(
        {"kind": "surge", "ticket_types": [largest], "start_hour": start, "end_hour": end,
         "factor": 2.0})
    return (f"arrivals of {largest} (the largest queue by volume) doubled over the peak "
            f"(hours {start:g}-{end:g})")


STRESSES: dict[str, Callable[[dict[str, Any], Scenario], str]] = {
    "arrivals_x0.9": _scaled("arrivals_per_hour", "", 0.9),
    "arrivals_x1.1": _scaled("arrivals_per_hour", "", 1.1),
    "arrivals_x1.25": _scaled("arrivals_per_hour", "", 1.25),
    "handle_x1.1": _scaled("handle_minutes", "mean", 1.1),
    "patience_x0.5": _scaled("patience_minutes", "mean", 0.5),
    "absence_20pct": _absence,
    "surge_x2": _surge,
}


def stressed(scenario: Scenario, stress: str) -> tuple[Scenario, str]:
    """The scenario under one stress, and what changed in words."""
    content = scenario.content()
    what = STRESSES[stress](content, scenario)
    content["name"] = f"{scenario.name}-{stress.replace('.', '_')}"
    content["description"] = f"{scenario.name} under stress {stress}: {what}"
    return parse_scenario(content, f"{scenario.name} ({stress})"), what


def write_scenario(scenario: Scenario, path: Path, note: str) -> Path:
    """The scenario as a YAML file that loads back to the very same scenario."""
    text = "".join(f"# {line}\n" for line in note.splitlines())
    text += yaml.safe_dump(scenario.content(), sort_keys=False, allow_unicode=True)
    write_text(text, path)
    if load_scenario(path).sha256() != scenario.sha256():
        raise RuntimeError(f"{path}: does not load back to the scenario it was written from")
    return path


def peak_window(scenario: Scenario) -> tuple[float, float]:
    """(start_hour, end_hour) of the busiest PEAK_HOURS counted hours (work arriving)."""
    first = math.ceil(scenario.warmup_hours)
    last = math.floor(scenario.horizon_hours) - PEAK_HOURS
    if last < first:
        return scenario.warmup_hours, scenario.horizon_hours
    best, best_work = first, -1.0
    for start in range(first, last + 1):
        work = sum(expected_arrivals(scenario, t, start * 60.0, (start + PEAK_HOURS) * 60.0)
                   * scenario.ticket_types[t].handle_minutes.mean for t in scenario.type_names)
        if work > best_work + 1e-9:
            best, best_work = start, work
    return float(best), float(best + PEAK_HOURS)


def expected_arrivals(scenario: Scenario, type_name: str, start_min: float,
                      end_min: float) -> float:
    """Expected external arrivals of a type in [start, end) minutes (surges included)."""
    schedule = ArrivalSchedule.for_type(scenario, type_name)
    return _cumulative(schedule, end_min) - _cumulative(schedule, start_min)


def _cumulative(schedule: ArrivalSchedule, minute: float) -> float:
    minute = min(max(minute, 0.0), schedule.end)
    total = 0.0
    for i, start in enumerate(schedule.starts):
        stop = schedule.starts[i + 1] if i + 1 < len(schedule.starts) else schedule.end
        if start >= minute:
            break
        total += schedule.rates[i] * (min(stop, minute) - start)
    return total


def _hours(start: float, end: float) -> list[float]:
    return [start + k for k in range(max(1, math.ceil(end - start)))]
