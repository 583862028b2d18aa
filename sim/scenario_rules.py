"""Rules over a whole scenario, and the work one run of it will do.

The schema in sim/scenario.py checks each field on its own; what needs several
fields at once is here: names that refer to each other, events against the
horizon and the groups, transfer chains that must end, and a bound on the
tickets and head-count changes of a run, so that a file which would run for
ever or fill the memory is refused before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from sim import limits

# The validated models of sim/scenario.py, which imports this module; named here
# without an import so that the two modules do not import each other.
Scenario = AgentGroup = TicketType = Any

HOURS_PER_DAY = 24
LIMITS_DOC = "docs/scenario-limits.md"
# Shifts keep running after the horizon so tickets can drain (sim/schedule.py
# DRAIN_DAYS); the staffing bound counts these days too.
DRAIN_DAYS = 2
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


class ScenarioError(ValueError):
    """A scenario that cannot be used; `str()` is the one line shown to users."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source, self.field, self.message = source, field, message
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + message)


class FieldError(ValueError):
    """Raised inside validators to point at a sub-field of the model being checked."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def number(value: float) -> str:
    """A number as a message shows it: 8,784 or 1e+09 or 0.25."""
    try:
        value = float(value)
    except OverflowError:  # an int too big for a float
        return f"a {int(value).bit_length()}-bit number"
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6g}"


def over(limit: float, unit: str = "") -> str:
    """The end of the message for a value over one of sim/limits.py's limits."""
    return f"above the limit of {number(limit)}{unit} (see {LIMITS_DOC})"


def above_limit(value: float, limit: float, unit: str = "") -> str:
    shown = number(value)
    return f"{shown if shown.endswith('-bit number') else shown + unit} is {over(limit, unit)}"


def check_name(name: str) -> str:
    """A ticket type or agent group name: it becomes a column value, a key and a path part."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"{name!r}: use letters, digits, _ and - only")
    if len(name) > limits.MAX_NAME_LENGTH:
        raise ValueError(f"longer than {limits.MAX_NAME_LENGTH} characters")
    if name.upper() in limits.RESERVED_NAMES:
        raise ValueError(f"{name} is reserved (summary.csv's row of all ticket types)")
    return name


def check_scenario(scenario: Scenario) -> None:
    """Every rule that needs more than one field, cheapest first; raises FieldError."""
    _check_sizes(scenario)
    _check_references(scenario)
    _check_events(scenario)
    _check_head_counts(scenario)
    chains = transfer_chain_lengths(scenario)
    _check_arrivals(scenario, chains)
    _check_staffing_changes(scenario)


def _check_sizes(scenario: Scenario) -> None:
    for field, count, limit in (("ticket_types", len(scenario.ticket_types), limits.MAX_TICKET_TYPES),
                                ("agent_groups", len(scenario.agent_groups), limits.MAX_AGENT_GROUPS),
                                ("events", len(scenario.events), limits.MAX_EVENTS)):
        if count > limit:
            raise FieldError(field, f"{count} entries, {over(limit)}")
    if not scenario.ticket_types:
        raise FieldError("ticket_types", "must name at least one ticket type")
    if not scenario.agent_groups:
        raise FieldError("agent_groups", "must name at least one agent group")
    if scenario.warmup_hours >= scenario.horizon_hours:
        raise FieldError("warmup_hours", "must be < horizon_hours")


def _check_references(scenario: Scenario) -> None:
    types = scenario.ticket_types
    for group_name, group in scenario.agent_groups.items():
        for ticket_type in group.skills:
            if ticket_type not in types:
                raise FieldError(f"agent_groups.{group_name}.skills.{ticket_type}", "unknown ticket type")
    served = {t for g in scenario.agent_groups.values() for t in g.skills}
    for ticket_type, spec in types.items():
        if ticket_type not in served:
            raise FieldError(f"ticket_types.{ticket_type}", "no agent group has this skill")
        for target in spec.transfers:
            if target not in types:
                raise FieldError(f"ticket_types.{ticket_type}.transfers.{target}", "unknown ticket type")


def _check_events(scenario: Scenario) -> None:
    horizon = scenario.horizon_hours
    for i, event in enumerate(scenario.events):
        if event.end_hour <= event.start_hour:
            raise FieldError(f"events.{i}.end_hour", "must be > start_hour")
        if event.start_hour >= horizon:
            raise FieldError(f"events.{i}.start_hour",
                             f"{event.start_hour:g} is not before horizon_hours ({horizon:g}): "
                             "the event would never happen")
        if event.kind == "surge":
            for ticket_type in event.ticket_types:
                if ticket_type not in scenario.ticket_types:
                    raise FieldError(f"events.{i}.ticket_types", f"unknown type {ticket_type}")
            continue
        group = scenario.agent_groups.get(event.group)
        if group is None:
            raise FieldError(f"events.{i}.group", f"unknown agent group {event.group}")
        most = peak_agents(group, event.start_hour, event.end_hour)
        if event.agents > most:
            raise FieldError(f"events.{i}.agents",
                             f"{event.agents} absent from {event.group}, which has at most {most} "
                             f"on shift between hours {event.start_hour:g} and {event.end_hour:g}")


def peak_agents(group: AgentGroup, start_hour: float = 0.0, end_hour: float = HOURS_PER_DAY) -> int:
    """The most agents the staffing plan puts on shift at any time in [start, end)."""
    if group.shifts is None:
        return group.agents or 0
    if end_hour - start_hour >= HOURS_PER_DAY:
        start_hour, end_hour = 0.0, float(HOURS_PER_DAY)
    # The plan is piecewise constant and rises only where a shift starts.
    times = [start_hour]
    first_day, last_day = math.floor(start_hour / HOURS_PER_DAY), math.ceil(end_hour / HOURS_PER_DAY)
    for shift in group.shifts:
        for day in range(first_day, last_day + 1):
            at = shift.start_hour + HOURS_PER_DAY * day
            if start_hour <= at < end_hour:
                times.append(at)
    return max(group.scheduled_agents(t % HOURS_PER_DAY) for t in times)


def _check_head_counts(scenario: Scenario) -> None:
    total = 0
    for name, group in scenario.agent_groups.items():
        if group.shifts is not None and len(group.shifts) > limits.MAX_SHIFTS_PER_GROUP:
            raise FieldError(f"agent_groups.{name}.shifts",
                             f"{len(group.shifts)} shifts, {over(limits.MAX_SHIFTS_PER_GROUP)}")
        peak = peak_agents(group)
        if peak > limits.MAX_AGENTS:
            raise FieldError(f"agent_groups.{name}.shifts", f"overlapping shifts put {number(peak)} "
                             f"agents on shift, {over(limits.MAX_AGENTS)}")
        total += peak
    if total > limits.MAX_AGENTS:
        raise FieldError("agent_groups", f"all groups together have up to {number(total)} agents on "
                         f"shift, {over(limits.MAX_AGENTS)}")


def transfer_chain_lengths(scenario: Scenario) -> dict[str, float]:
    """Expected tickets one arrival of each type leads to, itself and its transfers included.

    With P the transfer matrix (P[i][j]: a served ticket of type i comes back as
    type j), that is (I - P)^-1 1, finite only if the spectral radius of P is
    below 1, i.e. if no set of types passes every ticket on within itself. It
    counts every ticket as served, so it bounds what abandonment leaves.
    """
    names = scenario.type_names
    closed = _closed_transfer_set(scenario.ticket_types)
    if closed:
        cycle = " -> ".join([*closed, closed[0]]) if len(closed) > 1 else f"{closed[0]} -> {closed[0]}"
        raise FieldError(f"ticket_types.{closed[0]}.transfers",
                         f"transfers with probability 1 in a cycle ({cycle}): tickets would come "
                         "back for ever")
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)))
    for name, spec in scenario.ticket_types.items():
        for target, p in spec.transfers.items():
            matrix[index[name], index[target]] += p
    try:
        lengths = np.linalg.solve(np.eye(len(names)) - matrix, np.ones(len(names)))
    except np.linalg.LinAlgError:
        lengths = np.full(len(names), math.inf)
    chains = {}
    for name, length in zip(names, lengths, strict=True):
        length = float(length)
        if not (math.isfinite(length) and 1 - 1e-9 <= length <= limits.MAX_TRANSFER_CHAIN):
            shown = number(length) if math.isfinite(length) and length > 0 else "without bound"
            raise FieldError(f"ticket_types.{name}.transfers",
                             f"one {name} ticket leads to {shown} tickets on average through "
                             f"transfers, {over(limits.MAX_TRANSFER_CHAIN)}")
        chains[name] = length
    return chains


def _closed_transfer_set(types: dict[str, TicketType]) -> list[str]:
    """Types whose tickets, once served, always come back within the same set."""
    closed = {name for name, spec in types.items() if sum(spec.transfers.values()) >= 1 - 1e-12}
    changed = True
    while changed:
        changed = False
        for name in sorted(closed):
            if any(p > 0 and target not in closed for target, p in types[name].transfers.items()):
                closed.discard(name)
                changed = True
    if not closed:
        return []
    # Follow the likeliest transfer from the first such type until a type repeats.
    path = [min(closed, key=list(types).index)]
    while True:
        step = max((t for t, p in types[path[-1]].transfers.items() if p > 0 and t in closed),
                   key=lambda t: types[path[-1]].transfers[t])
        if step in path:
            return path[path.index(step):]
        path.append(step)


def expected_arrivals(scenario: Scenario, type_name: str) -> tuple[float, float]:
    """(expected arrivals over [0, horizon), peak rate per hour) of one type, before transfers.

    The same piecewise-constant rate as sim/schedule.py's ArrivalSchedule,
    integrated over whole days and surge windows instead of hour by hour.
    """
    spec = scenario.ticket_types[type_name]
    horizon = scenario.horizon_hours
    surges = [e for e in scenario.events if e.kind == "surge" and type_name in e.ticket_types]
    cuts = sorted({0.0, horizon, *(h for s in surges for h in (s.start_hour, s.end_hour) if h < horizon)})
    total, top_factor = 0.0, 1.0
    for start, stop in zip(cuts, cuts[1:], strict=False):
        factor = math.prod(s.factor for s in surges if s.start_hour <= start < s.end_hour)
        top_factor = max(top_factor, factor)
        total += factor * (_profile_hours(spec, stop) - _profile_hours(spec, start))
    profile_top = max(spec.hourly_profile) if spec.hourly_profile is not None else 1.0
    return spec.arrivals_per_hour * total, spec.arrivals_per_hour * profile_top * top_factor


def _profile_hours(spec: TicketType, hours: float) -> float:
    """Integral of the hourly profile (1 without one) from 0 to `hours`."""
    profile = spec.hourly_profile
    if profile is None:
        return hours
    days, rest = divmod(hours, HOURS_PER_DAY)
    whole = int(rest)
    partial = (rest - whole) * profile[whole] if whole < HOURS_PER_DAY else 0.0
    return days * math.fsum(profile) + math.fsum(profile[:whole]) + partial


def expected_tickets(scenario: Scenario, chains: dict[str, float] | None = None) -> float:
    """Expected tickets of one run, transfers included (an upper bound: all served)."""
    chains = chains if chains is not None else transfer_chain_lengths(scenario)
    return math.fsum(expected_arrivals(scenario, t)[0] * chains[t] for t in scenario.type_names)


def _check_arrivals(scenario: Scenario, chains: dict[str, float]) -> None:
    per_type = {}
    for name in scenario.type_names:
        arrivals, peak = expected_arrivals(scenario, name)
        if not peak <= limits.MAX_ARRIVALS_PER_HOUR:
            raise FieldError(f"ticket_types.{name}.arrivals_per_hour",
                             "the peak rate (arrivals_per_hour x hourly_profile x surge factors) of "
                             + above_limit(peak, limits.MAX_ARRIVALS_PER_HOUR, " per hour"))
        per_type[name] = arrivals * chains[name]
    total = math.fsum(per_type.values())
    if not total <= limits.MAX_EXPECTED_TICKETS:
        biggest = max(per_type, key=per_type.__getitem__)
        raise FieldError(f"ticket_types.{biggest}.arrivals_per_hour",
                         f"a run would have {number(total)} tickets on average over "
                         f"{number(scenario.horizon_hours)} hours, transfers included ({biggest}: "
                         f"{number(per_type[biggest])}), {over(limits.MAX_EXPECTED_TICKETS)}")


def staffing_changes(scenario: Scenario) -> int:
    """An upper bound on the head-count changes sim/schedule.py schedules in one run."""
    days = math.ceil(scenario.horizon_hours / HOURS_PER_DAY) + DRAIN_DAYS
    absences = _count(e.group for e in scenario.events if e.kind == "absence")
    return sum(len(g.boundaries_of_day()) * days + 2 * absences.get(name, 0) + 2
               for name, g in scenario.agent_groups.items())


def _check_staffing_changes(scenario: Scenario) -> None:
    changes = staffing_changes(scenario)
    if changes > limits.MAX_STAFFING_CHANGES:
        raise FieldError("agent_groups", f"shifts change the head count up to {number(changes)} times "
                         f"in a run, {over(limits.MAX_STAFFING_CHANGES)}")


def _count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts
