"""Service by hour of arrival: counted tickets, those answered within their SLA, those lost.

Three series per ticket type for hourly.csv (`arrived`, `answered_in_sla`,
`abandoned`, counts by the hour the ticket arrived). hourly.csv holds means
over seeds, so a share by hour is a ratio of two of them: the share of all
the seeds' tickets of that hour (pooled), not a mean of noisy per-seed shares.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.model import ABANDONED, SERVED
from sim.scenario import Scenario

SERVICE_SERIES = ("arrived", "answered_in_sla", "abandoned")


def service_series(scenario: Scenario, tickets: pd.DataFrame) -> pd.DataFrame:
    """Counted tickets of each type by hour of arrival: arrived, answered in SLA, abandoned."""
    hours = np.arange(math.ceil(scenario.horizon_hours))
    counted = tickets[tickets["counted"].to_numpy()]
    codes = counted["ticket_type"].cat.codes.to_numpy()
    hour = np.minimum((counted["arrival_min"].to_numpy() // 60).astype(int), len(hours) - 1)
    outcome = counted["outcome"].cat.codes.to_numpy()
    wait = counted["wait_min"].to_numpy()
    frames = []
    for index, name in enumerate(scenario.type_names):
        mine = codes == index
        limit = scenario.ticket_types[name].sla_minutes
        met = (outcome == SERVED) & (wait <= (limit if limit is not None else -1.0))
        for series, chosen in (("arrived", mine), ("answered_in_sla", mine & met),
                               ("abandoned", mine & (outcome == ABANDONED))):
            if series == "answered_in_sla" and limit is None:
                continue
            counts = np.bincount(hour[chosen], minlength=len(hours))
            frames.append(pd.DataFrame({"series": series, "name": name, "hour": hours,
                                        "value": counts.astype(float)}))
    return pd.concat(frames, ignore_index=True)


def varies_by_hour(content: dict[str, Any]) -> bool:
    """Whether demand or head count changes over the day (a scenario's `content()`).

    Without hourly profiles, shifts or events an hour is like any other: hourly
    series would only repeat the day's figures, so none are written or drawn.
    """
    types = content.get("ticket_types", {}).values()
    groups = content.get("agent_groups", {}).values()
    return bool(content.get("events") or any(t.get("hourly_profile") is not None for t in types)
                or any(g.get("shifts") is not None for g in groups))
