"""Rollout policy improvement, distilled into the network (DAgger).

The warm start gives a network that imitates its teacher. Each round then:

1. the current student drives training days (fresh ones each round); at every
   state it visits with more than one admissible action, the rollout expert
   (`rollout:BASE?z=Z`: every candidate tried in forks of the running day,
   continued by the base policy, common random numbers across candidates)
   labels the state with its choice: the base's own, unless a candidate is
   cheaper by a paired difference more than z standard errors below zero;
2. the labels of all rounds so far are aggregated and the actor is fitted
   (agents/rl/fits.py): with fit `choice`, to the expert's choices
   (cross-entropy); with fit `advantage`, its logits regress the rollout's
   advantages over the base's choice, which keeps a margin, once per margin;
   with fit `both` (the default), all of those; of several candidate fits the
   one cheapest on separate selection days is kept. On fintech_day the
   choices won, on retail_bank_day the advantages (docs/learning.md);
3. the new student is judged against the incumbent on held-out days, paired;
   it is kept only if it is cheaper with the interval's upper end below zero,
   and the rounds stop at the first round that does not improve.

With `hint` the network also sees the teacher's choice (sim/observation.py):
the warm start then clones the teacher exactly (agreement 1.000 on
retail_bank_day, against 0.976 without: the rule breaks ties between groups
by the agent idle longest, which no feature shows), and the fit learns only
where to leave it.

The base is the teacher (fast: an index rule), or with `base: student` the
incumbent student itself from the second round on (policy iteration proper;
slower, since every continuation then runs the network).

Why the conservative expert: one decision moves a window's cost by a few
units while the window itself varies by tens across forks, so the plain
argmin over several noisy means is biased towards noise (the winner's curse)
and follows it: on fintech_day (24-hour day, seed 0) rollout of the tuned
index rule with the plain argmin cost 280.7/h against the rule's own 176.0,
with z=2 it cost 171.7. And why the second look (`confirm`): 8 forks often miss
the rare costly event a reservation insures against, and then the t test is
far too sure; on retail_bank_day (seeds 0..5) the z=2 expert cost +4.33/h
against its base, with confirm=24 -1.74 (docs/learning.md).

Days are labelled and judged in worker processes (agents/parallel.py), with
the student as numpy weights (agents/rl/student.py). Objective cost only: the
rollout's windows count waiting and abandonment cost, not priced misses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from agents.parallel import Pool
from agents.progress import steps
from agents.rl.fits import copy_state, fit_advantages, fit_choices
from agents.rl.student import Actor, LabelJob, Labels, judge_day, label_day
from sim.atomic import write_atomic
from sim.decision import Policy
from sim.intervals import paired_interval
from sim.scenario import Scenario
from sim.seeds import held_out_days, training_days

LABEL_STREAM = 11  # training_days stream of the labelled days (demonstrations use 7)


@dataclass(frozen=True)
class ImproveSettings:
    rounds: int
    days: int
    forks: int
    horizon_minutes: float
    z: float
    base: str
    """`teacher` or `student` (the incumbent, from the second round on)."""
    eval_days: int
    epochs: int
    batch_size: int
    learning_rate: float
    workers: int
    seed: int
    work_conserving: bool
    backend: str = "local"
    """Where days are labelled and judged: `local` processes or `ray` (agents/parallel.py)."""
    address: str | None = None
    confirm: int = 0
    """More forks on which an overrule must pass the test again (agents/rollout.py)."""
    fit: str = "choice"
    """`choice` (cross-entropy on the expert's choices), `advantage` (`fit_advantages`,
    one fit per margin) or `both`; with several candidate fits, the one cheapest on
    the selection days is judged."""
    margins: tuple[float, ...] = (0.2,)
    """fit `advantage`: the margins tried, in standard deviations of the advantages."""
    select_days: int = 30
    """fit `advantage`: held-out days, apart from the judging days, that choose a margin."""
    hint: bool = False
    """The student sees the teacher's choice (sim/observation.py)."""


@dataclass
class RoundRecord:
    round: int
    labels: int
    cost_per_hour: float
    incumbent_cost_per_hour: float
    diff: float
    diff_low: float
    diff_high: float
    kept: bool
    label_seconds: float
    fit: dict[str, float] = field(default_factory=dict)


def improve(model: Any, scenario: Scenario, teacher: Policy, settings: ImproveSettings, *,
            log: Callable[[str], None] = print, progress: bool = False,
            labels_file: Path | None = None) -> list[RoundRecord]:
    """Rounds of rollout labelling and fitting on `model`'s actor; leaves the best kept.

    `labels_file` (an .npz) receives every round's labels as they grow, for
    refitting offline: obs, masks, own, expert, advantage.
    """
    eval_days = held_out_days(settings.eval_days)
    select_days = held_out_days(settings.eval_days + settings.select_days)[settings.eval_days:]
    days = training_days(settings.seed, settings.days * settings.rounds, stream=LABEL_STREAM)
    with Pool(settings.workers, max(len(eval_days), settings.days), backend=settings.backend,
              address=settings.address) as pool:
        return _rounds(model, scenario, teacher, settings, pool, (eval_days, select_days), days,
                       log, progress, labels_file)


def _rounds(model: Any, scenario: Scenario, teacher: Policy, settings: ImproveSettings,
            pool: Pool, held_out: tuple[list[int], list[int]], days: list[int],
            log: Callable[[str], None], progress: bool,
            labels_file: Path | None) -> list[RoundRecord]:
    import time

    policy = model.policy
    eval_days, select_days = held_out
    incumbent = _judge(pool, scenario, Actor.of(policy), teacher, eval_days, settings, progress)
    kept_state = copy_state(policy)
    selected: float | None = None  # the incumbent's cost on the selection days, once known
    records: list[RoundRecord] = []
    parts: list[Labels] = []
    for r in range(settings.rounds):
        started = time.perf_counter()
        actor = Actor.of(policy)
        base = actor if settings.base == "student" and r > 0 else None
        jobs = [LabelJob(scenario, day, actor, teacher, settings.forks, settings.horizon_minutes,
                         settings.seed + 1000 * r + i, settings.work_conserving, settings.z, base,
                         confirm=settings.confirm, hint=settings.hint)
                for i, day in enumerate(days[r * settings.days:(r + 1) * settings.days])]
        parts += pool.map(label_day, jobs,
                          wrap=_bar(f"rollout labels, round {r + 1}", len(jobs), progress))
        label_seconds = time.perf_counter() - started
        labels = Labels.join(parts)
        if labels_file is not None:
            write_atomic(labels_file, lambda tmp, labels=labels: _save_labels(tmp, labels))
        if settings.fit in ("advantage", "both"):
            fit = _fit_best(policy, labels, settings, r, pool, scenario, teacher,
                            select_days, log, progress, selected)
        else:
            fit = fit_choices(policy, labels, epochs=settings.epochs,
                              batch_size=settings.batch_size,
                              learning_rate=settings.learning_rate, seed=settings.seed + r)
        costs = _judge(pool, scenario, Actor.of(policy), teacher, eval_days, settings, progress)
        interval, _ = paired_interval(costs, incumbent)
        kept = interval.high < 0
        records.append(RoundRecord(r + 1, len(labels), float(np.mean(costs)),
                                   float(np.mean(incumbent)), float(interval.mean),
                                   float(interval.low), float(interval.high), bool(kept),
                                   round(label_seconds, 1), fit))
        log(f"rollout improvement, round {r + 1}: {len(labels)} labelled states, "
            f"held-out cost {np.mean(costs):.2f}/h against {np.mean(incumbent):.2f}/h, "
            f"paired {interval.mean:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"
            f" -> {'kept' if kept else 'not kept'}")
        if not kept:
            policy.load_state_dict(kept_state)
            break
        incumbent = costs
        kept_state = copy_state(policy)
        selected = fit.get("select_cost_per_hour")
    return records


def _fit_best(policy: Any, labels: Labels, settings: ImproveSettings, r: int, pool: Pool,
              scenario: Scenario, teacher: Policy, select_days: list[int],
              log: Callable[[str], None], progress: bool,
              incumbent: float | None = None) -> dict[str, float]:
    """Every candidate fit from the same start; the actor keeps the one cheapest on the
    selection days. The candidates: `fit_advantages` with each margin, and with fit
    `both` also `fit_choices` (from the incumbent's weights). The record gains
    `method`, `margin` (NaN for choices) and the selection days' costs. `incumbent`,
    the current actor's cost on the selection days, is measured if not given."""
    start = copy_state(policy)
    if incumbent is None:
        incumbent = float(np.mean(_judge(pool, scenario, Actor.of(policy), teacher,
                                         select_days, settings, progress)))
    log(f"  the incumbent: {incumbent:.2f}/h on {len(select_days)} selection days")
    candidates = [math.nan] * (settings.fit == "both") + list(settings.margins)
    best: tuple[float, dict[str, float], dict[str, th.Tensor]] | None = None
    for margin in candidates:
        policy.load_state_dict(start)
        common = dict(epochs=settings.epochs, batch_size=settings.batch_size,
                      learning_rate=settings.learning_rate, seed=settings.seed + r)
        if math.isnan(margin):
            fit = {**fit_choices(policy, labels, **common), "method": "choice"}
            what = (f"  the expert's choices: the fit follows {fit['agrees_where_overruled']:.0%} "
                    f"of its {fit['expert_overrules']:.2%} overrules")
        else:
            fit = {**fit_advantages(policy, labels, margin=margin, **common),
                   "method": "advantage"}
            what = (f"  margin {margin:g} sd: leaves the base's choice on "
                    f"{fit['leaves_base']:.2%} of the labelled states")
        cost = float(np.mean(_judge(pool, scenario, Actor.of(policy), teacher, select_days,
                                    settings, progress)))
        log(f"{what}, {cost:.2f}/h on {len(select_days)} selection days")
        if best is None or cost < best[0]:
            best = (cost, {**fit, "margin": float(margin), "select_cost_per_hour": cost,
                           "select_incumbent_cost_per_hour": incumbent}, copy_state(policy))
    assert best is not None  # margins is never empty (agents/rl/config.py)
    policy.load_state_dict(best[2])
    return best[1]


def _judge(pool: Pool, scenario: Scenario, actor: Actor, teacher: Policy, days: list[int],
           settings: ImproveSettings, progress: bool) -> list[float]:
    jobs = [(scenario, day, actor, teacher, settings.work_conserving, settings.hint)
            for day in days]
    results = pool.map(judge_day, jobs, wrap=_bar("judging the student", len(jobs), progress))
    return [r.cost_per_hour for r in results]


def _save_labels(path: Path, labels: Labels) -> None:
    with open(path, "wb") as file:
        np.savez_compressed(file, obs=labels.obs, masks=labels.masks, own=labels.own,
                            expert=labels.expert, advantage=labels.advantage)


def _bar(description: str, total: int, progress: bool) -> Callable[[Any], Any]:
    return lambda results: steps(results, description, total=total, unit="day",
                                 disable=not progress)
