"""Marginal analysis by simulation: add the agent-hours that help most per unit cost, then
remove those not needed, every roster judged on the same search days.

One probe per agent group measures an agent-hour in many hours at once: the
group gets one agent more (or fewer) in every hour in question, and the change
in each cell is split by the hour its tickets arrived in (cells.py). With
common random numbers the probe and the roster it changes differ only by that
staffing, so a handful of days resolves small effects. The moves chosen from
the probes are applied together and the new roster is simulated again: an add
step repeats while some target is missed; a removal step keeps only what the
new roster confirms (moves near a missed cell are taken back, halving, and a
move that fails alone is not tried again). When removals stall because a few
tight targets block them (a routing policy couples the queues: fewer chat
agents can mean slower fraud answers), an exchange adds the agent-hours that
raise those targets most per unit cost, and removal resumes; the cheapest
roster that met every target is the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from experiments.staffing.cells import Cells
from experiments.staffing.evaluate import Counts

Move = tuple[int, int]  # (group, hour the agent's shift starts)
EvaluateFn = Callable[[list[np.ndarray]], list[Counts]]
MAX_ADD_STEP = 1  # agents added to one group and hour in one step (more overshoots)
PATIENCE = 2  # removal rounds in a row that keep nothing: removals have stalled
MAX_EXCHANGES = 4
EXCHANGE_BUMP = 0.02  # an exchange buys this much slack on the tightest targets


@dataclass
class Step:
    iteration: int
    action: str  # start, add, remove, take back, exchange
    agent_hours: float
    cost: float
    cells_short: int
    worst: str  # the cell furthest below its target, or ""


@dataclass
class SearchResult:
    roster: np.ndarray
    counts: Counts
    feasible: bool
    history: list[Step] = field(default_factory=list)
    starts: np.ndarray | None = None  # shift starts per group and hour (the roster if hourly)


class MarginalSearch:
    """See the module docstring. `evaluate` simulates rosters on the search seeds."""

    def __init__(self, cells: Cells, evaluate: EvaluateFn, upper: np.ndarray,
                 max_iterations: int = 60,
                 progress: Callable[[Step], None] | None = None, shift_hours: int = 1) -> None:
        self.cells, self.evaluate, self.upper = cells, evaluate, upper
        self.problem = cells.problem
        self.length = shift_hours  # a move is one agent on shift for this many hours
        self.max_iterations = max_iterations
        self.progress = progress or (lambda step: None)
        self.tabu: set[Move] = set()
        self.history: list[Step] = []

    def run(self, start: np.ndarray) -> SearchResult:
        """From `start`: agents per group and hour, or with shift_hours > 1 shift starts."""
        starts = np.asarray(start, int).copy()
        if self.length == 1:
            starts = np.minimum(starts, self.upper)
            starts[:, ~self.problem.roster_hours] = 0
        roster = self._cover(starts)
        counts = self.evaluate([roster])[0]
        self._note(0, "start", roster, counts)
        best: tuple[float, np.ndarray, Counts, np.ndarray] | None = None
        fruitless, exchanges = 0, 0
        for iteration in range(1, self.max_iterations + 1):
            if self._short(counts).any():
                moves = self._adds(roster, counts)
                if not moves:
                    break  # nothing left to add: every helpful hour is at its cap
                starts = _apply(starts, moves, +1)
                roster = self._cover(starts)
                counts = self.evaluate([roster])[0]
                self._note(iteration, "add", roster, counts)
                continue
            if best is None or self.problem.cost_of(roster) < best[0]:
                best = (self.problem.cost_of(roster), roster, counts, starts)
            moves = self._removals(roster, counts, starts)
            if moves:
                before = starts
                starts, counts = self._confirm_removals(starts, counts, moves, iteration)
                roster = self._cover(starts)
                fruitless = fruitless + 1 if starts is before else 0
            if moves and fruitless < PATIENCE:
                continue
            # Removals have stalled: the tightest targets block them. An exchange buys
            # slack there with the agent-hours that help them most per unit cost, so
            # that dearer agents elsewhere can go; the best roster seen is kept.
            if exchanges == MAX_EXCHANGES or len(self.problem.groups) == 1:
                break  # (with one group there is nothing to exchange)
            moves = self._adds(roster, counts, bump=EXCHANGE_BUMP)
            if not moves:
                break
            exchanges, fruitless = exchanges + 1, 0
            self.tabu.clear()
            starts = _apply(starts, moves, +1)
            roster = self._cover(starts)
            counts = self.evaluate([roster])[0]
            self._note(iteration, "exchange", roster, counts)
        if not self._short(counts).any() and (best is None
                                              or self.problem.cost_of(roster) < best[0]):
            best = (self.problem.cost_of(roster), roster, counts, starts)
        if best is None:
            return SearchResult(roster, counts, False, self.history, starts)
        return SearchResult(best[1], best[2], True, self.history, best[3])

    def _hours(self, move: Move) -> list[int]:
        return [(move[1] + i) % len(self.problem.roster_hours) for i in range(self.length)]

    def _cover(self, starts: np.ndarray) -> np.ndarray:
        """Agents on shift per group and hour when `starts` agents begin each hour."""
        if self.length == 1:
            return starts.copy()
        roster = np.zeros_like(starts)
        for offset in range(self.length):
            roster += np.roll(starts, offset, axis=1)
        return roster

    def _shift_effects(self, effects: dict[Move, np.ndarray], candidates: list[Move]
                       ) -> dict[Move, np.ndarray]:
        """A shift's effect: the sum of its hours' effects (hours not probed count 0)."""
        if self.length == 1:
            return {m: effects[m] for m in candidates if m in effects}
        out = {}
        for move in candidates:
            parts = [effects[(move[0], h)] for h in self._hours(move) if (move[0], h) in effects]
            if parts:
                out[move] = np.sum(parts, axis=0)
        return out

    def _touched(self, move: Move) -> np.ndarray:
        return np.logical_or.reduce([self.cells.touched(move[0], h) for h in self._hours(move)])

    def _overlaps(self, move: Move, chosen: list[Move]) -> bool:
        hours = set(self._hours(move))
        return any(hours & set(self._hours(m)) for m in chosen)

    # -- adding --------------------------------------------------------------------------

    def _adds(self, roster: np.ndarray, counts: Counts, bump: float = 0.0) -> list[Move]:
        """Moves closing every shortfall (below target + bump), best per unit cost first."""
        cells, problem = self.cells, self.problem
        remaining = np.nan_to_num(np.maximum(0.0, cells.target + bump - cells.judged(counts)))
        short = remaining > 0
        probes = {}
        for g in range(len(problem.groups)):
            hours = np.zeros_like(problem.roster_hours)
            for cell in np.flatnonzero(short):
                if problem.speed[g, cells.kind[cell]] > 0:
                    hours |= cells.serving_hours(cell)
            hours &= roster[g] < self.upper[g]
            if hours.any():
                probes[g] = hours
        candidates = [(g, s) for g in probes for s in range(len(problem.roster_hours))
                      if any(probes[g][h] for h in self._hours((g, s)))
                      and all(roster[g, h] < self.upper[g, h] for h in self._hours((g, s)))]
        gains = self._shift_effects(self._probe(roster, counts, probes, +1), candidates)
        chosen: list[Move] = []
        for move, gain in _ranked(gains, problem.cost, remaining):
            gain = np.maximum(gain, 0.0)
            helped = (gain > 0) & (remaining > 0)
            if not helped.any():
                continue
            # Far from a target one agent closes only part of the gap: add up to
            # MAX_ADD_STEP at once (gains shrink with each agent, so this rarely overshoots).
            times = int(min(MAX_ADD_STEP, np.ceil(np.max(remaining[helped] / gain[helped]))))
            chosen += [move] * times
            remaining = np.maximum(0.0, remaining - times * gain)
            if not (remaining > 0).any():
                break
        if bump:
            return chosen  # an exchange buys only what the probes show to help
        return chosen + self._fallback_adds(roster, remaining, chosen)

    def _fallback_adds(self, roster: np.ndarray, remaining: np.ndarray,
                       chosen: list[Move]) -> list[Move]:
        """A cell no probe helps still gets an agent: its type's team, at its busiest hour."""
        cells, problem = self.cells, self.problem
        extra: list[Move] = []
        for cell in np.flatnonzero(remaining > 0):
            k = cells.kind[cell]
            hours = cells.serving_hours(cell)
            if cells.hour[cell] >= 0:
                hour = int(cells.hour[cell])
            else:
                load = np.where(hours, problem.arrival_rate[k], -1.0)
                hour = int(np.argmax(load))
            able = [g for g in np.argsort(problem.cost / np.maximum(problem.speed[:, k], 1e-12))
                    if problem.speed[g, k] > 0 and roster[g, hour] < self.upper[g, hour]]
            if able and not self._overlaps((int(able[0]), hour), chosen + extra):
                extra.append((int(able[0]), hour))
        return extra

    # -- removing ------------------------------------------------------------------------

    def _removals(self, roster: np.ndarray, counts: Counts, starts: np.ndarray) -> list[Move]:
        problem, cells = self.problem, self.cells
        candidates = [(int(g), int(s)) for g, s in zip(*np.nonzero(starts), strict=True)
                      if (int(g), int(s)) not in self.tabu]
        probes = {}
        for g, s in candidates:
            probes.setdefault(g, np.zeros_like(problem.roster_hours))[self._hours((g, s))] = True
        probes = {g: hours & (roster[g] > 0) for g, hours in probes.items()}
        effects = self._shift_effects(self._probe(roster, counts, probes, -1), candidates)
        losses = {m: -e for m, e in effects.items()}
        # Every target stays met; the targets a removal can reach keep the removal guard.
        slack = cells.slack(cells.judged(counts))
        guarded = cells.slack(cells.judged(counts, removing=True))
        scale = np.maximum(guarded, 0.01)
        # A cell a move touches keeps at least one ticket's worth of slack: a loss
        # the probe did not see (a zero on these days) must not land on a cell at its limit.
        grain = cells.granularity(counts)

        def score(move: Move) -> float:
            used = float(np.max(np.maximum(losses[move], 0.0) / scale, initial=0.0))
            return problem.cost[move[0]] / (used + 0.05)

        # One removal per hour: losses of agents taken together grow faster than their
        # sum (queues are convex). Each loss was measured with the group one agent short
        # in every hour, so the backlog a removal next door leaves is in it already.
        chosen: list[Move] = []
        for move in sorted(losses, key=score, reverse=True):
            loss = np.maximum(losses[move], 0.0)
            touched = self._touched(move)
            reached = touched | (loss > 0)
            after, after_guarded = slack - loss, guarded - loss
            if ((after >= 0).all() and (after_guarded[reached] >= 0).all()
                    and (after_guarded[touched] >= grain[touched]).all()
                    and not self._overlaps(move, chosen)):
                chosen.append(move)
                slack, guarded = after, after_guarded
        return chosen

    def _confirm_removals(self, starts: np.ndarray, counts: Counts, moves: list[Move],
                          iteration: int) -> tuple[np.ndarray, Counts]:
        """Apply the removals; take back those blamed for a missed cell until none is missed."""
        while moves:
            trial_starts = _apply(starts, moves, -1)
            trial = self._cover(trial_starts)
            trial_counts = self.evaluate([trial])[0]
            touched = np.logical_or.reduce([self._touched(m) for m in moves])
            short = self._short(trial_counts) | (self._short(trial_counts, removing=True)
                                                 & touched)
            if not short.any():
                self._note(iteration, "remove", trial, trial_counts)
                return trial_starts, trial_counts
            blamed = [m for m in moves if any(self._near(m, c) for c in np.flatnonzero(short))]
            blamed = blamed or moves
            if len(blamed) == 1:
                self.tabu.add(blamed[0])  # it fails on its own: never again
            dropped = set(blamed[len(blamed) // 2:])
            moves = [m for m in moves if m not in dropped]
        self._note(iteration, "take back", self._cover(starts), counts)
        return starts, counts

    def _near(self, move: Move, cell: int) -> bool:
        if self.problem.speed[move[0], self.cells.kind[cell]] == 0:
            return False
        serving = self.cells.serving_hours(cell)
        return any(serving[h] or (h + 1 < len(serving) and serving[h + 1])
                   for h in self._hours(move))

    # -- shared --------------------------------------------------------------------------

    def _probe(self, roster: np.ndarray, counts: Counts, probes: dict[int, np.ndarray],
               sign: int) -> dict[Move, np.ndarray]:
        """Per move (group, hour): its credited change in every cell (cells,)."""
        groups = list(probes)
        trials = [roster + sign * probes[g][None, :] * (np.arange(len(roster)) == g)[:, None]
                  for g in groups]
        results = self.evaluate(trials) if trials else []
        effects: dict[Move, np.ndarray] = {}
        for g, changed in zip(groups, results, strict=True):
            credited = self.cells.credit(self.cells.arrival_effects(counts, changed), probes[g])
            for h in np.flatnonzero(probes[g]):
                effects[(g, int(h))] = credited[:, h]
        return effects

    def _short(self, counts: Counts, removing: bool = False) -> np.ndarray:
        return self.cells.shortfall(self.cells.judged(counts, removing)) > 0

    def _note(self, iteration: int, action: str, roster: np.ndarray, counts: Counts) -> None:
        shortfall = self.cells.shortfall(self.cells.judged(counts))
        worst = self.cells.describe(int(np.argmax(shortfall))) if shortfall.any() else ""
        step = Step(iteration, action, float(self.problem.agent_hours(roster).sum()),
                    self.problem.cost_of(roster), int((shortfall > 0).sum()), worst)
        self.history.append(step)
        self.progress(step)


def _apply(roster: np.ndarray, moves: list[Move], sign: int) -> np.ndarray:
    changed = roster.copy()
    for g, h in moves:
        changed[g, h] += sign
    return changed


def _ranked(gains: dict[Move, np.ndarray], cost: np.ndarray,
            remaining: np.ndarray) -> list[tuple[Move, np.ndarray]]:
    """Moves by the shortfall they close per unit cost, best first (ties: group, hour)."""
    def value(item: tuple[Move, np.ndarray]) -> float:
        (g, _), gain = item
        return float(np.minimum(np.maximum(gain, 0.0), remaining).sum()) / cost[g]

    return sorted(gains.items(), key=lambda item: (-value(item), item[0]))
