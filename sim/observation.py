"""The env's observation: a decision view as a normalised float32 vector (one module).

With a `hint` policy (the tuned index rule a learner was taught by), the vector
ends with that policy's choice at this decision, one-hot over the actions: a
network then follows its teacher exactly where it has learnt nothing better,
and learns only where to leave it (residual policy learning; agents/rl/dagger.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

from sim.decision import DecisionView, Policy
from sim.scenario import MINUTES_PER_HOUR, Scenario
from sim.schedule import staffing_plan

MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR
QUEUE_CAP = 1000.0  # tickets: log1p(QUEUE_CAP) maps to 1.0
WAIT_CAP_MINUTES = 1440.0  # a day of waiting maps to 1.0
HEADS_HEADROOM = 2.0  # idle/busy counts may exceed the planned peak at shift changes


def hint_names(scenario: Scenario) -> list[str]:
    """The features of a hint: `hint.<type>-><group>` for every pair, then `hint.hold`."""
    return [f"hint.{t}->{g}" for t in scenario.type_names
            for g in scenario.group_names] + ["hint.hold"]


class ObservationBuilder:
    """Turns the state of a SupportModel into the env's normalised float32 vector.

    Shared by the env and by `agents.rl.model_policy`, so a policy is always fed the
    observation it was trained on. `names` lists the features in order. A `hint`
    must be a stateless rule (an index rule or a heuristic): it is asked at
    every decision and never reset.
    """

    def __init__(self, scenario: Scenario, hint: Policy | None = None) -> None:
        types, groups = scenario.type_names, scenario.group_names
        self.n_types, self.n_groups = len(types), len(groups)
        self.horizon = scenario.horizon_minutes
        self.base_rate = [scenario.ticket_types[t].arrivals_per_hour / MINUTES_PER_HOUR
                          for t in types]
        self.heads_scale = [1.0 / max(1, max(c for _, c in staffing_plan(scenario, g)))
                            for g in groups]
        self.skill_pairs = [(g, t) for g, group in enumerate(groups) for t, name in enumerate(types)
                            if name in scenario.agent_groups[group].skills]
        self._queue_scale = 1.0 / math.log1p(QUEUE_CAP)
        self._wait_scale = 1.0 / math.log1p(WAIT_CAP_MINUTES)
        names = [f"queue.{t}" for t in types] + [f"wait.{t}" for t in types]
        names += [f"rate.{t}" for t in types]
        names += [f"idle.{g}" for g in groups] + [f"staffed.{g}" for g in groups]
        names += [f"busy.{groups[g]}.{types[t]}" for g, t in self.skill_pairs]
        names += ["time.sin", "time.cos", "time_left"]
        low = np.zeros(len(names), np.float32)
        high = np.ones(len(names), np.float32)
        counts = slice(3 * self.n_types, len(names) - 3)
        high[counts] = HEADS_HEADROOM
        low[-3:-1] = -1.0
        self.hint = hint
        self.n_actions = self.n_types * self.n_groups + 1
        if hint is not None:
            names += hint_names(scenario)
            low = np.concatenate([low, np.zeros(self.n_actions, np.float32)])
            high = np.concatenate([high, np.ones(self.n_actions, np.float32)])
        self.names = names
        self.low, self.high = low, high

    def space(self) -> spaces.Box:
        return spaces.Box(self.low, self.high, dtype=np.float32)

    def __call__(self, view: DecisionView, pairs: Sequence[int] | None = None) -> np.ndarray:
        """The vector at a decision among `pairs` (needed with a hint; none: the day is over)."""
        log1p, n_types = math.log1p, self.n_types
        queue_scale, wait_scale = self._queue_scale, self._wait_scale
        values = [log1p(q) * queue_scale for q in view.queue_length]
        values += [log1p(view.head_wait(t)) * wait_scale for t in range(n_types)]
        for t in range(n_types):
            base = self.base_rate[t]
            multiplier = view.arrival_rate(t) / base if base > 0 else 0.0
            values.append(multiplier / (1.0 + multiplier))
        scale = self.heads_scale
        values += [view.idle_agents(g) * scale[g] for g in range(self.n_groups)]
        values += [view.on_shift[g] * scale[g] for g in range(self.n_groups)]
        busy = view.busy
        values += [busy[g][t] * scale[g] for g, t in self.skill_pairs]
        now = view.now
        angle = 2.0 * math.pi * (now % MINUTES_PER_DAY) / MINUTES_PER_DAY
        values += [math.sin(angle), math.cos(angle), max(0.0, self.horizon - now) / self.horizon]
        if self.hint is not None:
            choice = [0.0] * self.n_actions
            if pairs:
                choice[int(self.hint.decide(view, pairs))] = 1.0
            values += choice
        obs = np.array(values, dtype=np.float32)
        return np.clip(obs, self.low, self.high, out=obs)
