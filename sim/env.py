"""The Gymnasium environment: one step is one routing decision of the SupportModel.

The observation (sim/observation.py) is computed from the decision view, so
a trained policy sees exactly what the env showed it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sim.decision import DecisionView, Policy
from sim.model import SupportModel
from sim.observation import ObservationBuilder
from sim.scenario import MINUTES_PER_HOUR, Scenario, load_scenario
from sim.seeds import training_day

# left for evaluation (`routelab simulate` and benchmarks use seeds 0..N-1).


def action_names(scenario: Scenario) -> list[str]:
    """`type->group` for every pair index, then `hold`."""
    return [f"{t}->{g}" for t in scenario.type_names for g in scenario.group_names] + ["hold"]


def action_mask(n_actions: int, pairs: Sequence[int] | None, *,
                can_hold: bool = True) -> np.ndarray:
    """Feasible pairs and, if `can_hold`, HOLD (the last action) are True."""
    mask = np.zeros(n_actions, dtype=bool)
    if pairs:
        mask[list(pairs)] = True
    mask[-1] = can_hold or not pairs
    return mask


def can_hold(model: SupportModel) -> bool:
    """HOLD waits for the next event; with none left it would end the day with work
    undone and uncharged (an exploit, not a decision): allowed only while one is pending."""
    return model.env.peek() != math.inf


def decision_mask(model: SupportModel, pairs: Sequence[int] | None, *,
                  work_conserving: bool = False) -> np.ndarray:
    """The action mask of a decision of a running model (shared with agents.rl.model_policy)."""
    allowed = pairs is None or (not work_conserving and can_hold(model))
    return action_mask(model.hold + 1, pairs, can_hold=allowed)


def oldest_first(view: DecisionView, pairs: Sequence[int]) -> int:
    """The built-in fallback: the oldest waiting ticket to the group idle longest."""
    pair_type, pair_group = view.pair_type, view.pair_group
    return max(pairs, key=lambda p: (view.head_wait(pair_type[p]),
                                     view.longest_idle_minutes(pair_group[p]), -p))


def feasible_or_fallback(view: DecisionView, action: int, mask: np.ndarray,
                         pairs: Sequence[int], fallback: Policy | None) -> int:
    """The action itself if allowed, else the fallback's choice (the env's rule, shared
    with agents.rl.model_policy so a model without masks routes as it did in training)."""
    if 0 <= action < len(mask) and mask[action]:
        return action
    if fallback is None:
        return oldest_first(view, pairs)
    return int(fallback.decide(view, pairs))


def cost_unit(scenario: Scenario) -> float:
    """Cost of one average ticket waiting one mean inter-arrival time (the reward unit)."""
    horizon = scenario.horizon_minutes
    rates = []
    for spec in scenario.ticket_types.values():
        per_hour = (sum(spec.rate_at_hour(h) for h in range(24)) / 24
                    if spec.hourly_profile is not None else spec.arrivals_per_hour)
        rates.append(per_hour / MINUTES_PER_HOUR)
    total = sum(rates)
    if total <= 0 or horizon <= 0:
        return 1.0
    specs = scenario.ticket_types.values()
    mean_wait_cost = sum(r * s.wait_cost_per_minute
                         for r, s in zip(rates, specs, strict=True)) / total
    return mean_wait_cost / total if mean_wait_cost > 0 else 1.0


class SupportQueueEnv(gym.Env[np.ndarray, np.int64]):
    """Route support tickets: each step assigns one (ticket type, agent group) pair or holds.

    ## Action space
    `Discrete(T*G + 1)` for T ticket types and G agent groups: action `t*G + g`
    gives the oldest waiting ticket of type t to the longest-idle agent of
    group g; action `T*G` is HOLD (wait for the next event). `action_masks()`
    (sb3-contrib convention) and `info["action_mask"]` mark the feasible pairs
    and HOLD. HOLD is allowed except (a) with `work_conserving=True`, and (b)
    when no event is left to wait for (after the horizon, only non-abandoning
    tickets waiting): there HOLD would end the day with those tickets
    unanswered and their waiting uncharged, an exploit rather than a decision.
    An infeasible action (a pair with no waiting ticket or no idle agent, or
    a masked HOLD) is replaced by the **fallback policy's choice**, never by
    HOLD: the built-in fallback gives the oldest waiting ticket to the group
    idle longest (`fallback=` takes any `sim.decision.Policy`). The action that
    was carried out is `info["applied_action"]`.

    ## Observation space
    `Box(float32)`, every feature normalised, in this order:

    | feature                 | value                                         | range   |
    |-------------------------|-----------------------------------------------|---------|
    | `queue.<type>`          | log1p(waiting tickets) / log1p(1000)          | [0, 1]  |
    | `wait.<type>`           | log1p(head-of-line wait, min) / log1p(1440)   | [0, 1]  |
    | `rate.<type>`           | m / (1 + m), m = arrival rate now / base rate  | [0, 1)  |
    | `idle.<group>`          | idle agents / the group's peak planned heads  | [0, 2]  |
    | `staffed.<group>`       | planned heads on shift now / peak heads       | [0, 2]  |
    | `busy.<group>.<type>`   | agents of the group serving the type / peak   | [0, 2]  |
    | `time.sin`, `time.cos`  | time of day on the unit circle                | [-1, 1] |
    | `time_left`             | (horizon - now) / horizon, 0 while draining   | [0, 1]  |

    `busy` features exist only for the skills a group has. The builder is
    `ObservationBuilder`; `env.feature_names` lists the features.

    ## Reward
    Minus the cost accrued since the previous decision (`model.accrued_cost()`
    differences: waiting cost per ticket-minute plus abandonment costs), divided
    by `cost_unit` = the cost of one average ticket waiting one mean
    inter-arrival time. So a reward near -n means about n tickets waited
    through the step. The sum of rewards over an episode is minus the day's
    whole cost (warm-up included) over `cost_unit`, less the cost accrued
    before the first decision, which no action can change.

    ## Episode end
    One run of the scenario: after the horizon no tickets arrive and the day
    drains as in `routelab simulate`. When the model has nothing left to
    decide (`next_decision()` is None) the step returns `truncated=True`,
    `terminated=False`; the final info carries `cost_per_hour` (counted
    tickets, as in summary.csv) and `episode_cost`. Nothing costs anything
    after that point, so a trainer may treat the end as terminal.
    `info["elapsed_minutes"]` is the simulated time the step took (for
    elapsed-time discounting).

    ## Arguments
    - `scenario`: a scenario name in scenarios/, a path, or a `Scenario`.
    - `fallback`: the `Policy` that replaces an infeasible action (default:
      oldest ticket first, as above).
    - `reward_scale`: multiplies `-cost / cost_unit` (default 1.0).
    - `work_conserving`: if True, HOLD is never allowed while a pair is
      feasible, and a decision with a single feasible pair, having no
      alternative, is carried out inside the step (its cost and minutes are
      in that step's reward and `elapsed_minutes`); a step is then one real
      choice. Default False: every decision is a step and HOLD is allowed.
      (With one group serving each type there is never a real choice: the
      whole day then runs inside `reset` and the first step ends it.)
    - `hint`: a stateless rule whose choice at each decision ends the
      observation, one-hot over the actions (`hint.<type>-><group>`,
      `hint.hold`); default None, no such features.

    `reset(seed=...)` seeds `self.np_random`; the model seed is drawn from it,
    at or above 2**20 so that training days never coincide with evaluation
    seeds 0..2**20-1. `reset(options={"model_seed": k})` runs exactly the day
    `routelab simulate --seeds` runs with seed k (common random numbers).

    ## Version history
    - v0: first version (Discrete pair-or-hold actions with masks, the table
      above, elapsed minutes in the info, optional work-conserving mode);
      the optional `hint` features came later and are off by default.
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: str | Path | Scenario = "fintech_day", *,
                 fallback: Policy | None = None, reward_scale: float = 1.0,
                 work_conserving: bool = False, hint: Policy | None = None) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        n_types, n_groups = len(self.scenario.ticket_types), len(self.scenario.agent_groups)
        self.hold = n_types * n_groups
        self.action_space = spaces.Discrete(self.hold + 1)
        self.observe = ObservationBuilder(self.scenario, hint)
        self.observation_space = self.observe.space()
        self.feature_names = self.observe.names
        self.fallback = fallback
        self.work_conserving = work_conserving
        self.cost_unit = cost_unit(self.scenario)
        self._reward_factor = reward_scale / self.cost_unit
        self.model: SupportModel | None = None
        self._pairs: list[int] | None = None
        self._mask = action_mask(self.hold + 1, None)
        self._cost = 0.0
        self._start_cost = 0.0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        model_seed = (options or {}).get("model_seed")
        if model_seed is None:
            model_seed = training_day(self.np_random)
        self.model = SupportModel(self.scenario, int(model_seed), track_cost=True)
        if self.fallback is not None:
            self.fallback.reset(self.model, self.model.policy_rng)
        self._pairs = self._next_choice()
        self._cost = self._start_cost = self.model.accrued_cost()
        self._mask = decision_mask(self.model, self._pairs, work_conserving=self.work_conserving)
        return self.observe(self.model, self._pairs), self._info(model_seed=int(model_seed))

    def step(self, action: int | np.integer
             ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        model = self.model
        if model is None:
            raise RuntimeError("call reset() before step()")
        if self._pairs is None:  # a day with nothing to decide, or stepped past its end
            return self.observe(model, None), 0.0, False, True, self._info(elapsed_minutes=0.0)
        applied = feasible_or_fallback(model, int(action), self._mask, self._pairs, self.fallback)
        before = model.now
        model.apply(applied)
        self._pairs = self._next_choice()
        cost = model.accrued_cost()
        reward = -(cost - self._cost) * self._reward_factor
        self._cost = cost
        self._mask = decision_mask(model, self._pairs, work_conserving=self.work_conserving)
        info = self._info(applied_action=applied, elapsed_minutes=model.now - before)
        truncated = self._pairs is None
        if truncated:
            info.update(self._day_totals())
        return self.observe(model, self._pairs), float(reward), False, truncated, info

    def _next_choice(self) -> list[int] | None:
        """The next decision; a work-conserving env carries out forced ones itself."""
        pairs = self.model.next_decision()
        while self.work_conserving and pairs is not None and len(pairs) == 1:
            self.model.apply(pairs[0])
            pairs = self.model.next_decision()
        return pairs

    @property
    def pairs(self) -> list[int] | None:
        """The feasible pairs of the pending decision (None once the day is over)."""
        return self._pairs

    def action_masks(self) -> np.ndarray:
        """Feasible actions now (sb3-contrib's MaskablePPO reads this)."""
        return self._mask.copy()

    def _info(self, **extra: Any) -> dict[str, Any]:
        return {"action_mask": self._mask.copy(), "now_minutes": self.model.now, **extra}

    def _day_totals(self) -> dict[str, float]:
        from sim.metrics import cost_per_hour

        model = self.model
        return {"cost_per_hour": cost_per_hour(model),
                "episode_cost": model.accrued_cost() - self._start_cost}
