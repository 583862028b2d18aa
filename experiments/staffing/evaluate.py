"""A roster on simulated days: one runner job per (roster, seed), and its service levels.

A job simulates the scenario with the roster under the policy and keeps, per
ticket type and hour of the day, the counted arrivals, those answered within
sla_minutes and those abandoned (a ticket belongs to the hour it arrived in).
Seeds are common random numbers: every roster sees the same arrivals, work
and patience on a given seed, so rosters are compared day by day.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import click
import numpy as np

from agents.registry import make_policy
from experiments.runner import Job, Runner, load_record
from experiments.staffing.problem import StaffingProblem, with_roster
from sim.decision import Policy
from sim.model import ABANDONED, SERVED, SupportModel
from sim.scenario import HOURS_PER_DAY, MINUTES_PER_HOUR, Scenario
from sim.seeds import SEARCH_BASE

JOB_FORMAT = "staff-1"  # change when what a job stores changes: stored results go stale
SEARCH_SEED0 = SEARCH_BASE  # search days (sim/seeds.py); verification: seeds 0..V-1
_POLICIES: dict[tuple[str, str], Policy] = {}


@dataclass(frozen=True)
class Measure:
    """The payload of one job; the validated scenario travels with it."""

    scenario: Scenario
    policy_spec: str
    roster: tuple[tuple[int, ...], ...] | None  # None: the scenario's own shifts
    seed: int


def measure(job: Measure) -> dict[str, Any]:
    """Simulate one day of the roster; counts per type and hour of the day (JSON-ready)."""
    scenario = job.scenario if job.roster is None else with_roster(job.scenario,
                                                                    np.array(job.roster))
    model = SupportModel(scenario, job.seed).run(_policy(job.policy_spec, job.scenario))
    return day_counts(model)


def _policy(spec: str, scenario: Scenario) -> Policy:
    # The policy is built for the scenario as given (a table's hash check holds)
    # and then routes on every roster: staffing changes, the policy does not.
    key = (spec, scenario.sha256())
    if key not in _POLICIES:
        _POLICIES[key] = make_policy(spec, scenario)
    return _POLICIES[key]


def day_counts(model: SupportModel) -> dict[str, Any]:
    tickets = [t for t in model.tickets if t.counted]
    n_types = model.n_types
    kind = np.fromiter((t.type for t in tickets), np.int64, len(tickets))
    arrival = np.fromiter((t.arrival for t in tickets), float, len(tickets))
    start = np.fromiter((t.start for t in tickets), float, len(tickets))
    state = np.fromiter((t.state for t in tickets), np.int8, len(tickets))
    hour = (arrival // MINUTES_PER_HOUR).astype(np.int64) % HOURS_PER_DAY
    cell = kind * HOURS_PER_DAY + hour
    met = (state == SERVED) & (start - arrival <= np.asarray(model.sla_minutes)[kind])
    size = n_types * HOURS_PER_DAY

    def count(mask: np.ndarray | None) -> list[list[int]]:
        counts = np.bincount(cell, weights=mask, minlength=size) if mask is not None else \
            np.bincount(cell, minlength=size)
        return counts.astype(int).reshape(n_types, HOURS_PER_DAY).tolist()

    return {"arrived": count(None), "met": count(met.astype(float)),
            "abandoned": count((state == ABANDONED).astype(float))}


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """One roster over seeds: arrays (seeds, types, 24)."""

    seeds: tuple[int, ...]
    arrived: np.ndarray
    met: np.ndarray
    abandoned: np.ndarray

    def hourly(self) -> np.ndarray:
        """Share of each hour's arrivals answered in time, pooled over seeds (types x 24)."""
        arrived = self.arrived.sum(axis=0)
        return np.divide(self.met.sum(axis=0), arrived, out=np.full(arrived.shape, np.nan),
                         where=arrived > 0)

    def daily(self) -> np.ndarray:
        """Service level of each type on each day (seeds x types), as `simulate` reports it."""
        arrived = self.arrived.sum(axis=2)
        return np.divide(self.met.sum(axis=2), arrived, out=np.full(arrived.shape, np.nan),
                         where=arrived > 0)

    def within(self, hours: np.ndarray) -> np.ndarray:
        """Service level over the arrivals of some hours, per seed and type."""
        arrived = self.arrived[:, :, hours].sum(axis=2)
        return np.divide(self.met[:, :, hours].sum(axis=2), arrived,
                         out=np.full(arrived.shape, np.nan), where=arrived > 0)


def ratio_interval(met: np.ndarray, arrived: np.ndarray,
                   confidence: float = 0.95) -> tuple[float, float, float]:
    """Pooled share sum(met) / sum(arrived) over seeds and its t interval (delta method).

    Days are the independent units: the residuals met_s - R arrived_s give the
    variance of the ratio estimator R.
    """
    from scipy import stats

    met, arrived = np.asarray(met, float), np.asarray(arrived, float)
    n, total = len(met), arrived.sum()
    if total == 0:
        return math.nan, math.nan, math.nan
    share = met.sum() / total
    if n < 2:
        return share, math.nan, math.nan
    residual = met - share * arrived
    sem = math.sqrt(float((residual ** 2).sum()) / (n * (n - 1))) / (total / n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return share, max(0.0, share - half), min(1.0, share + half)


def roster_key(roster: np.ndarray | None) -> str:
    if roster is None:
        return "original"
    data = np.ascontiguousarray(roster, dtype=np.int64)
    return hashlib.sha256(data.tobytes() + str(data.shape).encode()).hexdigest()[:16]


class Evaluator:
    """Evaluates rosters as runner jobs (resumable: a finished job's file is reused)."""

    def __init__(self, problem: StaffingProblem, policy_spec: str, runner: Runner) -> None:
        from experiments.benchmark import policy_fingerprint

        self.problem, self.policy_spec, self.runner = problem, policy_spec, runner
        self.fingerprint = (f"{JOB_FORMAT}/{problem.scenario.sha256()[:16]}/"
                            f"{policy_fingerprint(policy_spec)}")
        self.simulated = 0  # jobs run in this process's lifetime (not found on disk)
        self.reused = 0

    def evaluate(self, rosters: list[np.ndarray | None], seeds: list[int]) -> list[Counts]:
        """Counts of each roster (None: the scenario's own) on each seed; each job runs once."""
        jobs: dict[str, Job] = {}
        for roster in rosters:
            frozen = (None if roster is None else
                      tuple(tuple(int(v) for v in row) for row in np.asarray(roster)))
            for seed in seeds:
                key = f"{roster_key(roster)}/seed-{seed:05d}"
                jobs.setdefault(key, Job(key, Measure(self.problem.scenario, self.policy_spec,
                                                      frozen, seed), self.fingerprint))
        outcome = self.runner.run(list(jobs.values()), measure)
        self.simulated += len(outcome.ran)
        self.reused += len(outcome.skipped)
        if outcome.failed:
            first = outcome.failed[0]
            raise click.ClickException(f"{len(outcome.failed)} simulation job(s) failed; first: "
                                       f"{first.key}: {first.error}")
        return [self._counts(roster, seeds, jobs) for roster in rosters]

    def _counts(self, roster: np.ndarray | None, seeds: list[int], jobs: dict[str, Job]) -> Counts:
        parts: dict[str, list[Any]] = {"arrived": [], "met": [], "abandoned": []}
        for seed in seeds:
            job = jobs[f"{roster_key(roster)}/seed-{seed:05d}"]
            record = load_record(self.runner.jobs_dir, job)
            if record is None:
                raise click.ClickException(f"job file of {job.key} vanished from "
                                           f"{self.runner.jobs_dir}")
            for name in parts:
                parts[name].append(record["result"][name])
        return Counts(tuple(seeds), *(np.array(parts[n], dtype=float)
                                      for n in ("arrived", "met", "abandoned")))
