"""The student without torch: an SB3 actor as numpy, and the days it drives.

Rollout improvement (agents/rl/dagger.py) labels the days the student itself
drives and judges each new student on held-out days; both run in worker
processes, many thousands of decisions each, so the student crosses over as
its weights (`Actor`) and decides with a few numpy products, with no torch in
the workers. `StudentPolicy` decides as `ModelPolicy` does: the allowed
action with the highest logit, under the same action mask and observation
(with the teacher's choice as its last features when the student was taught
with that hint, sim/observation.py).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.rl.config import LONG_DAY_HOURS
from agents.rollout import RolloutPolicy
from agents.sla import DayResult, day_result
from sim.decision import DecisionView, Policy
from sim.env import decision_mask
from sim.model import SupportModel
from sim.observation import ObservationBuilder
from sim.scenario import MINUTES_PER_HOUR, Scenario


@dataclass(frozen=True)
class Actor:
    """The actor of an MlpPolicy: tanh hidden layers, then the action logits."""

    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]
    head: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, policy: Any) -> Actor:
        """The actor of an SB3 ActorCriticPolicy (policy_net of Linear/Tanh, action_net)."""
        import torch as th

        layers = list(policy.mlp_extractor.policy_net)
        if policy.features_extractor.__class__.__name__ != "FlattenExtractor" or any(
                not isinstance(layer, th.nn.Linear | th.nn.Tanh) for layer in layers):
            raise ValueError("the student must be an MlpPolicy with tanh layers")

        def weights(layer: Any) -> tuple[np.ndarray, np.ndarray]:
            return (layer.weight.detach().cpu().numpy().copy(),
                    layer.bias.detach().cpu().numpy().copy())

        hidden = tuple(weights(layer) for layer in layers if isinstance(layer, th.nn.Linear))
        return cls(hidden, weights(policy.action_net))

    def logits(self, obs: np.ndarray) -> np.ndarray:
        h = obs
        for w, b in self.hidden:
            h = np.tanh(w @ h + b)
        w, b = self.head
        return w @ h + b


class StudentPolicy:
    """Routes with an `Actor`: the allowed action of highest logit."""

    name = "student"
    non_idling = False

    def __init__(self, actor: Actor, scenario: Scenario, *, work_conserving: bool = False,
                 hint: Policy | None = None) -> None:
        self.actor, self.observe = actor, ObservationBuilder(scenario, hint)
        self.work_conserving = work_conserving

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        pass

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        if self.work_conserving and len(pairs) == 1:
            return pairs[0]
        mask = decision_mask(view, pairs, work_conserving=self.work_conserving)  # type: ignore[arg-type]
        logits = self.actor.logits(self.observe(view, pairs))
        return int(np.argmax(np.where(mask, logits, -np.inf)))


def driver(scenario: Scenario, actor: Actor | None, teacher: Policy,
           work_conserving: bool, hint: bool = False) -> Policy:
    """The policy that drives a day: the student (seeing the teacher's choice if
    `hint`), or a fresh copy of the teacher."""
    if actor is None:
        return copy.deepcopy(teacher)
    return StudentPolicy(actor, scenario, work_conserving=work_conserving,
                         hint=copy.deepcopy(teacher) if hint else None)


@dataclass
class Labels:
    """States the student visited, each with the rollout expert's view of its actions."""

    obs: np.ndarray  # (N, features) float32
    masks: np.ndarray  # (N, actions) bool
    own: np.ndarray  # (N,) the base policy's choice
    expert: np.ndarray  # (N,) the rollout expert's choice
    advantage: np.ndarray
    """(N, actions): mean window cost of each candidate minus the base's choice's; NaN
    where an action was not a candidate."""

    @classmethod
    def join(cls, parts: Sequence[Labels]) -> Labels:
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("obs", "masks", "own", "expert", "advantage")))

    def __len__(self) -> int:
        return len(self.own)


@dataclass(frozen=True)
class LabelJob:
    scenario: Scenario
    day: int
    actor: Actor | None
    """The student that drives the day (None: the teacher drives)."""
    teacher: Policy
    """The rollout's base policy, copied for each use (unless `base` is given)."""
    forks: int
    horizon_minutes: float
    seed: int
    work_conserving: bool
    z: float = 2.0
    """The expert leaves the base's choice only on a paired difference this many
    standard errors below zero (agents/rollout.py)."""
    base: Actor | None = None
    """A student as the rollout's base instead of the teacher (later rounds)."""
    confirm: int = 0
    """More forks on which the expert tests an overrule again (agents/rollout.py)."""
    hours: float = LONG_DAY_HOURS
    """Only the decisions of the day's first `hours` simulated hours are labelled
    (the whole day on every shipped scenario; agents/rl/config.py)."""
    hint: bool = False
    """The student sees the teacher's choice (sim/observation.py)."""


def label_day(job: LabelJob) -> Labels:
    """Drive one day (its first `job.hours`) with the student; at each of its choices
    ask the rollout expert."""
    model = SupportModel(job.scenario, job.day)
    policy = driver(job.scenario, job.actor, job.teacher, job.work_conserving, job.hint)
    policy.reset(model, model.policy_rng)
    expert = RolloutPolicy(lambda: driver(job.scenario, job.base, job.teacher,
                                          job.work_conserving, job.hint), forks=job.forks,
                           horizon_minutes=job.horizon_minutes, hold=not job.work_conserving,
                           seed=job.seed, z=job.z, confirm=job.confirm)
    expert.reset(model, np.random.default_rng([job.seed, job.day]))
    observe = ObservationBuilder(job.scenario, copy.deepcopy(job.teacher) if job.hint else None)
    obs, masks, own, chosen, advantage = [], [], [], [], []
    last_minute = job.hours * MINUTES_PER_HOUR
    while (pairs := model.next_decision()) is not None and model.now <= last_minute:
        action = policy.decide(model, pairs)
        judged = expert.judged
        expert.decide(model, pairs)
        judgement = expert.last
        if expert.judged > judged and judgement is not None:
            mask = decision_mask(model, pairs, work_conserving=job.work_conserving)
            row = np.full(len(mask), math.nan)
            for candidate, mean in zip(judgement.candidates, judgement.mean_costs, strict=True):
                if mask[candidate]:
                    row[candidate] = mean
            if (not math.isnan(row[judgement.base_choice]) and mask[judgement.choice]
                    and np.sum(~np.isnan(row)) > 1):
                obs.append(observe(model, pairs))
                masks.append(mask)
                own.append(judgement.base_choice)
                chosen.append(judgement.choice)
                advantage.append(row - row[judgement.base_choice])
        model.apply(action)
    n_features, n_actions = len(observe.names), model.hold + 1
    return Labels(np.asarray(obs, np.float32).reshape(len(own), n_features),
                  np.asarray(masks, bool).reshape(len(own), n_actions),
                  np.asarray(own, np.int64), np.asarray(chosen, np.int64),
                  np.asarray(advantage).reshape(len(own), n_actions))


def judge_day(job: tuple[Scenario, int, Actor | None, Policy, bool, bool]) -> DayResult:
    """One held-out day driven by the student (or the teacher, if no actor)."""
    scenario, day, actor, teacher, work_conserving, hint = job
    return day_result(SupportModel(scenario, day).run(
        driver(scenario, actor, teacher, work_conserving, hint)))
