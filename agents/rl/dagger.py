"""Rollout policy improvement, distilled into the network (DAgger).

The warm start gives a network that imitates its teacher. Each round then:

1. the current student drives training days (fresh ones each round); at every
   state it visits with more than one admissible action, the rollout expert
   (`rollout:BASE?z=Z`: every candidate tried in forks of the running day,
   continued by the base policy, common random numbers across candidates)
   labels the state with its choice: the base's own, unless a candidate is
   cheaper by a paired difference more than z standard errors below zero;
2. the labels of all rounds so far are aggregated and the actor is fitted to
   the expert's choices (cross-entropy, early stopping on held-back states);
3. the new student is judged against the incumbent on held-out days, paired;
   it is kept only if it is cheaper with the interval's upper end below zero,
   and the rounds stop at the first round that does not improve.

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
    days = training_days(settings.seed, settings.days * settings.rounds, stream=LABEL_STREAM)
    with Pool(settings.workers, max(len(eval_days), settings.days), backend=settings.backend,
              address=settings.address) as pool:
        return _rounds(model, scenario, teacher, settings, pool, eval_days, days, log, progress,
                       labels_file)


def _rounds(model: Any, scenario: Scenario, teacher: Policy, settings: ImproveSettings,
            pool: Pool, eval_days: list[int], days: list[int], log: Callable[[str], None],
            progress: bool, labels_file: Path | None) -> list[RoundRecord]:
    import time

    policy = model.policy
    incumbent = _judge(pool, scenario, Actor.of(policy), teacher, eval_days, settings, progress)
    kept_state = _copy_state(policy)
    records: list[RoundRecord] = []
    parts: list[Labels] = []
    for r in range(settings.rounds):
        started = time.perf_counter()
        actor = Actor.of(policy)
        base = actor if settings.base == "student" and r > 0 else None
        jobs = [LabelJob(scenario, day, actor, teacher, settings.forks, settings.horizon_minutes,
                         settings.seed + 1000 * r + i, settings.work_conserving, settings.z, base,
                         confirm=settings.confirm)
                for i, day in enumerate(days[r * settings.days:(r + 1) * settings.days])]
        parts += pool.map(label_day, jobs,
                          wrap=_bar(f"rollout labels, round {r + 1}", len(jobs), progress))
        label_seconds = time.perf_counter() - started
        labels = Labels.join(parts)
        if labels_file is not None:
            write_atomic(labels_file, lambda tmp, labels=labels: _save_labels(tmp, labels))
        fit = fit_choices(policy, labels, epochs=settings.epochs, batch_size=settings.batch_size,
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
        kept_state = _copy_state(policy)
    return records


def _judge(pool: Pool, scenario: Scenario, actor: Actor, teacher: Policy, days: list[int],
           settings: ImproveSettings, progress: bool) -> list[float]:
    jobs = [(scenario, day, actor, teacher, settings.work_conserving) for day in days]
    results = pool.map(judge_day, jobs, wrap=_bar("judging the student", len(jobs), progress))
    return [r.cost_per_hour for r in results]


def _copy_state(policy: Any) -> dict[str, th.Tensor]:
    return {k: v.clone() for k, v in policy.state_dict().items()}


def _save_labels(path: Path, labels: Labels) -> None:
    with open(path, "wb") as file:
        np.savez_compressed(file, obs=labels.obs, masks=labels.masks, own=labels.own,
                            expert=labels.expert, advantage=labels.advantage)


def _bar(description: str, total: int, progress: bool) -> Callable[[Any], Any]:
    return lambda results: steps(results, description, total=total, unit="day",
                                 disable=not progress)


def fit_choices(policy: Any, labels: Labels, *, epochs: int, batch_size: int,
                learning_rate: float, seed: int = 0, validation: float = 0.2,
                patience: int = 3) -> dict[str, float]:
    """Fit the actor to the expert's choices (cross-entropy under the action mask).

    A `validation` share of the states is held back, and the weights kept are
    those of the epoch with the least loss on them (stopping after `patience`
    epochs without a better one), the starting weights included.
    """
    obs = th.as_tensor(labels.obs)
    expert = th.as_tensor(labels.expert)
    masks = labels.masks
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    held = max(1, int(validation * len(labels))) if validation > 0 else 0
    check, fit = order[:held], order[held:]
    optimiser = th.optim.Adam(policy.parameters(), lr=learning_rate)

    def loss_of(rows: np.ndarray) -> th.Tensor:
        index = th.as_tensor(rows)
        logits = _logits(policy, obs[index]).masked_fill(~th.as_tensor(masks[rows]), -1e8)
        return th.nn.functional.cross_entropy(logits, expert[index])

    def held_loss() -> float:
        with th.no_grad():
            return float(loss_of(check)) if held else math.nan

    best_loss, best_epoch, epoch = held_loss(), 0, 0
    best_state = _copy_state(policy)
    for epoch in range(1, epochs + 1):
        policy.set_training_mode(True)
        shuffled = rng.permutation(fit)
        for start in range(0, len(shuffled), batch_size):
            loss = loss_of(shuffled[start:start + batch_size])
            optimiser.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimiser.step()
        policy.set_training_mode(False)
        current = held_loss()
        if not held or current < best_loss:
            best_loss, best_epoch = current, epoch
            best_state = _copy_state(policy)
        elif epoch - best_epoch >= patience:
            break
    policy.load_state_dict(best_state)
    with th.no_grad():
        logits = _logits(policy, obs).masked_fill(~th.as_tensor(masks), -1e8)
    fitted = logits.argmax(dim=1).numpy()
    overruled = labels.expert != labels.own
    return {"states": float(len(labels)), "expert_overrules": float(np.mean(overruled)),
            "epochs_run": float(epoch), "kept_epoch": float(best_epoch),
            "held_out_loss": best_loss,
            "agrees_with_expert": float(np.mean(fitted == labels.expert)),
            "agrees_where_overruled": float(np.mean(fitted[overruled] == labels.expert[overruled]))
            if overruled.any() else math.nan}


def _logits(policy: Any, obs: th.Tensor) -> th.Tensor:
    features = policy.extract_features(obs, policy.pi_features_extractor)
    return policy.action_net(policy.mlp_extractor.forward_actor(features))
