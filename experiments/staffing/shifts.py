"""From an hourly requirement to shifts of H hours: the covering integer programme.

For each group: y_s agents start a shift at hour s (0..23) and stay H hours,
wrapping midnight as the scenario's shifts may; minimise cost x H x sum(y)
subject to every hour having at least its required agents. Groups are
independent, so each is one small programme (scipy.optimize.milp, HiGHS).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from experiments.errors import UserError
from sim.scenario import HOURS_PER_DAY, Shift


def cover_matrix(shift_hours: int) -> np.ndarray:
    """A[h, s] = 1 when a shift starting at hour s covers hour h (wrapping midnight)."""
    cover = np.zeros((HOURS_PER_DAY, HOURS_PER_DAY), int)
    for start in range(HOURS_PER_DAY):
        for offset in range(shift_hours):
            cover[(start + offset) % HOURS_PER_DAY, start] = 1
    return cover


def shift_starts(requirement: np.ndarray, shift_hours: int) -> np.ndarray:
    """Agents starting at each hour (24 ints): the fewest shifts covering the requirement."""
    if not 1 <= shift_hours <= HOURS_PER_DAY:
        raise UserError(f"--shift-hours: must be between 1 and {HOURS_PER_DAY}, got {shift_hours}")
    need = np.asarray(requirement, int)
    if not need.any():
        return np.zeros(HOURS_PER_DAY, int)
    if shift_hours == HOURS_PER_DAY:
        starts = np.zeros(HOURS_PER_DAY, int)
        starts[0] = need.max()
        return starts
    cover = cover_matrix(shift_hours)
    result = milp(c=np.ones(HOURS_PER_DAY), integrality=np.ones(HOURS_PER_DAY),
                  constraints=LinearConstraint(cover, lb=need, ub=np.inf),
                  bounds=Bounds(0, need.max()))
    if not result.success:  # cannot happen for a feasible covering problem; say so if it does
        raise RuntimeError(f"shift programme failed: {result.message}")
    return np.round(result.x).astype(int)


def shifts_of(starts: np.ndarray, shift_hours: int) -> list[Shift]:
    """Shift records for a scenario file; a shift past midnight ends the next morning."""
    if shift_hours == HOURS_PER_DAY:
        total = int(starts.sum())
        return [Shift(start_hour=0, end_hour=HOURS_PER_DAY, agents=total)] if total else []
    shifts = []
    for start in np.flatnonzero(starts):
        end = start + shift_hours
        shifts.append(Shift(start_hour=int(start), agents=int(starts[start]),
                            end_hour=int(end if end <= HOURS_PER_DAY else end - HOURS_PER_DAY)))
    return shifts
