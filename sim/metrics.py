"""What a finished run measured: the ticket table, the summary rows, utilisation.

Counted tickets are those arriving in [warm-up, horizon) and the transfers
they lead to. Waits of abandoned tickets run until they abandon, waits of
unresolved tickets until the run ends; both count in the cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model import SupportModel
from sim.tickets import ABANDONED, OUTCOMES, SERVED, UNRESOLVED

SUMMARY_COLUMNS = [
    "scenario", "policy", "seed", "ticket_type", "arrived", "served", "abandoned", "unresolved",
    "abandon_rate", "mean_wait_min", "p_wait", "p95_wait_min", "service_level", "sla_minutes",
    "sla_target", "cost", "cost_per_hour",
]
AGENT_COLUMNS = [
    "scenario", "policy", "seed", "agent_group", "hour", "hour_of_day", "agents_scheduled",
    "busy_agents", "utilisation",
]
ALL = "ALL"


def ticket_table(model: SupportModel) -> pd.DataFrame:
    """One row per ticket, warm-up and transfers included (see `counted`)."""
    columns = model.tickets.arrays()
    scenario = model.scenario
    types, groups = scenario.type_names, scenario.group_names
    channels = [scenario.ticket_types[t].channel for t in types]
    type_index, state = columns["type"], columns["state"]
    arrival, start, end = columns["arrival"], columns["start"], columns["end"]
    served = state == SERVED
    wait = np.where(served, start - arrival, end - arrival)
    return pd.DataFrame({
        "ticket_id": np.arange(len(type_index)),
        "ticket_type": pd.Categorical.from_codes(type_index, types),
        "channel": pd.Categorical.from_codes(type_index, channels, validate=False)
        if len(set(channels)) == len(channels) else np.array(channels, dtype=object)[type_index],
        "arrival_min": arrival,
        "start_min": start,
        "end_min": end,
        "wait_min": wait,
        "outcome": pd.Categorical.from_codes(state, OUTCOMES),
        "counted": columns["counted"],
        "agent_group": pd.Categorical.from_codes(columns["group"], groups),
        "agent_id": columns["agent"],
        "work_min": columns["work"],
        "origin_id": columns["origin"],
        "transfer_depth": columns["depth"],
    }, copy=False)  # fresh arrays: no copy into consolidated blocks


def cost_per_hour(model: SupportModel) -> float:
    """The ALL row's cost_per_hour of a finished run, from the model's tickets without pandas.

    The same arithmetic, on the same arrays in the same order, as `summary_rows`,
    so the two agree to the last bit; this one is for inner loops (tuning,
    teachers, fidelity, the env's day totals).
    """
    columns = model.tickets.arrays()
    counted = columns["counted"]
    codes, state = columns["type"][counted], columns["state"][counted]
    arrival, start, end = (columns[k][counted] for k in ("arrival", "start", "end"))
    wait = np.where(state == SERVED, start - arrival, end - arrival)
    wait_cost = np.asarray(model.wait_cost)[codes]
    abandon_cost = np.asarray(model.abandon_cost)[codes]
    cost = float(np.sum(wait_cost * wait) + np.sum(abandon_cost[state == ABANDONED]))
    return cost / model.scenario.counted_hours


def summary_rows(model: SupportModel, tickets: pd.DataFrame, policy: str) -> pd.DataFrame:
    """The summary.csv rows of one run: one per ticket type, then ALL."""
    scenario = model.scenario
    counted = tickets["counted"].to_numpy()
    columns = (tickets["ticket_type"].cat.codes.to_numpy()[counted],
               tickets["outcome"].cat.codes.to_numpy()[counted],
               tickets["wait_min"].to_numpy()[counted])
    hours = scenario.counted_hours
    rows = []
    for index, name in enumerate(scenario.type_names):
        mine = columns[0] == index
        part = tuple(column[mine] for column in columns)
        spec = scenario.ticket_types[name]
        rows.append(_row(part, model, name, hours, spec.sla_minutes, spec.sla_target))
    rows.append(_row(columns, model, ALL, hours, None, None))
    frame = pd.DataFrame(rows)
    frame.insert(0, "seed", model.seed)
    frame.insert(0, "policy", policy)
    frame.insert(0, "scenario", scenario.name)
    return frame[SUMMARY_COLUMNS]


def _row(part: tuple[np.ndarray, np.ndarray, np.ndarray], model: SupportModel, name: str,
         hours: float, sla: float | None, sla_target: float | None) -> dict[str, object]:
    """One summary row from the type codes, outcome codes and waits of some counted tickets."""
    codes, state, wait = part
    answered_or_left = (state == SERVED) | (state == ABANDONED)
    waits = wait[answered_or_left]
    arrived = len(codes)
    wait_cost = np.asarray(model.wait_cost)[codes]
    abandon_cost = np.asarray(model.abandon_cost)[codes]
    cost = float(np.sum(wait_cost * wait) + np.sum(abandon_cost[state == ABANDONED]))
    return {
        "ticket_type": name,
        "arrived": arrived,
        "served": int(np.sum(state == SERVED)),
        "abandoned": int(np.sum(state == ABANDONED)),
        "unresolved": int(np.sum(state == UNRESOLVED)),
        "abandon_rate": _share(np.sum(state == ABANDONED), arrived),
        "mean_wait_min": float(waits.mean()) if len(waits) else np.nan,
        "p_wait": _share(np.sum(waits > 0), len(waits)),
        "p95_wait_min": float(np.percentile(waits, 95)) if len(waits) else np.nan,
        "service_level": _service_level(model, codes, state, wait, sla),
        "sla_minutes": sla if sla is not None else np.nan,
        "sla_target": sla_target if sla_target is not None else np.nan,
        "cost": cost,
        "cost_per_hour": cost / hours,
    }


def _service_level(model: SupportModel, codes: np.ndarray, state: np.ndarray,
                   wait: np.ndarray, sla: float | None) -> float:
    """Share of tickets answered within their SLA, over the tickets whose type has one."""
    limit = np.asarray(model.sla_minutes)[codes] if sla is None else np.full(len(codes), sla)
    with_sla = np.isfinite(limit)
    met = (state == SERVED) & (wait <= limit)
    return _share(np.sum(met & with_sla), np.sum(with_sla))


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else np.nan


def agent_table(model: SupportModel, tickets: pd.DataFrame, policy: str) -> pd.DataFrame:
    """Scheduled head count, busy agents and utilisation per group and hour."""
    hours = int(np.ceil(max(model.end_time, model.horizon) / 60.0))
    edges = np.arange(hours + 1) * 60.0
    codes = tickets["agent_group"].cat.codes.to_numpy()
    starts, ends = tickets["start_min"].to_numpy(), tickets["end_min"].to_numpy()
    rows = []
    for g, name in enumerate(model.scenario.group_names):
        mine = codes == g
        start, end = starts[mine], ends[mine]
        end = np.where(np.isnan(end), model.end_time, end)
        busy = np.diff(_integral(start, edges) - _integral(end, edges))
        plan = model.staffing[g]
        times = np.array([m for m, _ in plan] + [edges[-1]])
        counts = np.array([c for _, c in plan], float)
        on_shift = np.diff(_step_integral(times, counts, edges))
        for h in range(hours):
            scheduled, busy_minutes = on_shift[h] / 60.0, busy[h] / 60.0
            rows.append({
                "agent_group": name, "hour": h, "hour_of_day": h % 24,
                "agents_scheduled": scheduled, "busy_agents": busy_minutes,
                "utilisation": busy_minutes / scheduled if scheduled > 0 else np.nan,
            })
    frame = pd.DataFrame(rows)
    frame.insert(0, "seed", model.seed)
    frame.insert(0, "policy", policy)
    frame.insert(0, "scenario", model.scenario.name)
    return frame[AGENT_COLUMNS]


def _integral(points: np.ndarray, at: np.ndarray) -> np.ndarray:
    """sum over points p < x of (x - p), for each x in `at`."""
    points = np.sort(points, kind="stable")  # timsort: start and end times come nearly sorted
    before = np.searchsorted(points, at)
    prefix = np.concatenate(([0.0], np.cumsum(points)))
    return at * before - prefix[before]


def _step_integral(times: np.ndarray, counts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Integral from 0 of a step function (counts[i] on [times[i], times[i+1])) at `at`."""
    area = np.concatenate(([0.0], np.cumsum(counts * np.diff(times))))
    i = np.clip(np.searchsorted(times, at, side="right") - 1, 0, len(counts) - 1)
    return area[i] + counts[i] * (np.minimum(at, times[-1]) - times[i])
