"""What a scenario asks of each hour of the day, and rosters in and out of scenarios.

A roster is an integer array (groups x 24): the agents of each group on shift
in each hour of the day, repeated every day of the horizon. Rates are per
minute, averaged over the days of the horizon (surges included, transfers
added to the types they lead to).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from experiments.errors import UserError
from sim.scenario import HOURS_PER_DAY, MINUTES_PER_HOUR, Absence, AgentGroup, Scenario, Shift
from sim.schedule import ArrivalSchedule

Roster = np.ndarray  # int, shape (groups, 24)
TRANSFER_ROUNDS = 20


@dataclass(frozen=True)
class StaffingProblem:
    """The fixed facts of one staffing question: targets, rates, costs, hours."""

    scenario: Scenario
    targeted: np.ndarray  # bool per ticket type: has sla_minutes and sla_target
    target: np.ndarray  # sla_target per type (NaN where none)
    sla_minutes: np.ndarray  # per type (inf where none)
    arrival_rate: np.ndarray  # per minute, (types, 24), transfers included
    counted_hours: np.ndarray  # bool (24): hours of the day with counted arrivals
    roster_hours: np.ndarray  # bool (24): hours of the day inside the horizon
    speed: np.ndarray  # (groups, types), 0 where the group lacks the skill
    cost: np.ndarray  # per agent-hour, per group
    absent: np.ndarray  # (groups, 24): agents away by absence events (worst day)

    @property
    def types(self) -> list[str]:
        return self.scenario.type_names

    @property
    def groups(self) -> list[str]:
        return self.scenario.group_names

    def agent_hours(self, roster: np.ndarray) -> np.ndarray:
        """Agent-hours per group in one day of the roster."""
        return (np.asarray(roster, float) * self.roster_hours).sum(axis=1)

    def cost_of(self, roster: np.ndarray) -> float:
        return float(self.agent_hours(roster) @ self.cost)

    def service_rate(self, group: int, ticket_type: int) -> float:
        spec = self.scenario.ticket_types[self.types[ticket_type]]
        return self.speed[group, ticket_type] / spec.handle_minutes.mean

    def abandon_rate(self, ticket_type: int) -> float:
        patience = self.scenario.ticket_types[self.types[ticket_type]].patience_minutes
        return 1.0 / patience.mean if patience is not None else 0.0

    def team_of(self, ticket_type: int) -> int:
        """The group that serves a type at the least cost per unit of work.

        Ties go to the group with fewer skills (a specialist), then to the first.
        """
        able = [g for g in range(len(self.groups)) if self.speed[g, ticket_type] > 0]
        return min(able, key=lambda g: (self.cost[g] / self.speed[g, ticket_type],
                                        int((self.speed[g] > 0).sum()), g))


def staffing_problem(scenario: Scenario) -> StaffingProblem:
    """Read the staffing question out of a validated scenario; UserError if it has none."""
    specs = [scenario.ticket_types[t] for t in scenario.type_names]
    target = np.array([s.sla_target if s.sla_target is not None else np.nan for s in specs])
    sla = np.array([s.sla_minutes if s.sla_minutes is not None else np.inf for s in specs])
    targeted = np.isfinite(target) & np.isfinite(sla)
    if not targeted.any():
        raise UserError(f"{scenario.name}: no ticket type has both sla_minutes and sla_target; "
                        "there is nothing to staff for")
    for name, spec in zip(scenario.type_names, specs, strict=True):
        if spec.sla_target is not None and spec.sla_target >= 1:
            raise UserError(f"{scenario.name}: ticket_types.{name}.sla_target: 1 cannot be "
                            "staffed for (no head count answers every ticket in time); use < 1")
    groups = [scenario.agent_groups[g] for g in scenario.group_names]
    speed = np.array([[g.skills.get(t, 0.0) for t in scenario.type_names] for g in groups])
    return StaffingProblem(
        scenario=scenario, targeted=targeted, target=target, sla_minutes=sla,
        arrival_rate=_with_transfers(scenario, _external_rates(scenario)),
        counted_hours=_hours_inside(scenario, scenario.warmup_hours),
        roster_hours=_hours_inside(scenario, 0.0), speed=speed,
        cost=np.array([g.cost_per_agent_hour for g in groups]),
        absent=_absent(scenario))


def _hours_inside(scenario: Scenario, start_hour: float) -> np.ndarray:
    inside = np.zeros(HOURS_PER_DAY, bool)
    for hour in range(math.floor(start_hour), math.ceil(scenario.horizon_hours)):
        inside[hour % HOURS_PER_DAY] = True
    return inside


def _external_rates(scenario: Scenario) -> np.ndarray:
    """Mean external arrival rate per minute by type and hour of day over the horizon."""
    hours = math.ceil(scenario.horizon_hours)
    rates = np.zeros((len(scenario.type_names), HOURS_PER_DAY))
    exposure = np.zeros(HOURS_PER_DAY)
    for hour in range(hours):
        a, b = hour * MINUTES_PER_HOUR, min(hour + 1, scenario.horizon_hours) * MINUTES_PER_HOUR
        exposure[hour % HOURS_PER_DAY] += b - a
    for k, name in enumerate(scenario.type_names):
        schedule = ArrivalSchedule.for_type(scenario, name)
        for hour in range(hours):
            a = hour * MINUTES_PER_HOUR
            b = min(hour + 1, scenario.horizon_hours) * MINUTES_PER_HOUR
            rates[k, hour % HOURS_PER_DAY] += _expected(schedule, b) - _expected(schedule, a)
    return np.divide(rates, exposure, out=np.zeros_like(rates), where=exposure > 0)


def _expected(schedule: ArrivalSchedule, minute: float) -> float:
    """Expected arrivals in [0, minute): the integrated piecewise-constant rate."""
    minute = min(minute, schedule.end)
    i = bisect.bisect_right(schedule.starts, minute) - 1
    return schedule.cumulative[i] + schedule.rates[i] * (minute - schedule.starts[i])


def _with_transfers(scenario: Scenario, external: np.ndarray) -> np.ndarray:
    """Add the tickets transfers bring: total = external + P^T total (served ones transfer)."""
    index = {name: k for k, name in enumerate(scenario.type_names)}
    moves = np.zeros((len(index), len(index)))
    for name, spec in scenario.ticket_types.items():
        for target, p in spec.transfers.items():
            moves[index[name], index[target]] += p
    total = external.copy()
    for _ in range(TRANSFER_ROUNDS):
        total = external + moves.T @ total
    return total


def _absent(scenario: Scenario) -> np.ndarray:
    absent = np.zeros((len(scenario.group_names), HOURS_PER_DAY), int)
    index = {name: g for g, name in enumerate(scenario.group_names)}
    for hour in range(math.ceil(scenario.horizon_hours)):
        away = np.zeros(len(index), int)
        for event in scenario.events:
            if isinstance(event, Absence) and event.start_hour < hour + 1 and event.end_hour > hour:
                away[index[event.group]] += event.agents
        absent[:, hour % HOURS_PER_DAY] = np.maximum(absent[:, hour % HOURS_PER_DAY], away)
    return absent


# -- rosters ----------------------------------------------------------------------------


def original_roster(scenario: Scenario) -> np.ndarray:
    """Mean agents scheduled per group and hour of the day (may be fractional)."""
    roster = np.zeros((len(scenario.group_names), HOURS_PER_DAY))
    for g, name in enumerate(scenario.group_names):
        group = scenario.agent_groups[name]
        cuts = group.boundaries_of_day()
        for hour in range(HOURS_PER_DAY):
            points = sorted({hour, hour + 1, *(c for c in cuts if hour < c < hour + 1)})
            roster[g, hour] = sum(group.scheduled_agents((a + b) / 2) * (b - a)
                                  for a, b in zip(points, points[1:], strict=False))
    return roster


def hour_blocks(counts: np.ndarray) -> list[Shift]:
    """Consecutive hours with the same head count as one block each (0 left out)."""
    blocks: list[Shift] = []
    hour = 0
    while hour < HOURS_PER_DAY:
        end = hour
        while end < HOURS_PER_DAY and counts[end] == counts[hour]:
            end += 1
        if counts[hour] > 0:
            blocks.append(Shift(start_hour=hour, end_hour=end, agents=int(counts[hour])))
        hour = end
    return blocks


def group_with(group: AgentGroup, shifts: list[Shift]) -> AgentGroup:
    """The group with a new staffing plan: shifts, or a constant head count for one all-day block."""
    whole_day = [s for s in shifts if s.start_hour == 0 and s.end_hour == HOURS_PER_DAY]
    if len(shifts) == len(whole_day):  # constant (or nobody): a plain head count reads better
        return group.model_copy(update={"agents": sum(s.agents for s in shifts), "shifts": None})
    return group.model_copy(update={"agents": None, "shifts": tuple(shifts)})


def with_roster(scenario: Scenario, roster: np.ndarray,
                shifts: dict[str, list[Shift]] | None = None) -> Scenario:
    """The scenario with each group staffed by `shifts` if given, else by the roster's hour blocks."""
    groups = {}
    for g, name in enumerate(scenario.group_names):
        plan = shifts[name] if shifts is not None else hour_blocks(np.asarray(roster)[g])
        groups[name] = group_with(scenario.agent_groups[name], plan)
    return scenario.model_copy(update={"agent_groups": groups})


def coverage(shifts: list[Shift]) -> np.ndarray:
    """Agents on shift in each hour of the day under whole-hour shifts."""
    counts = np.zeros(HOURS_PER_DAY, int)
    for hour in range(HOURS_PER_DAY):
        counts[hour] = sum(s.agents for s in shifts if s.covers(hour + 0.5))
    return counts
