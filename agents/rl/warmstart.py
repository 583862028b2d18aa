"""Warm start: pick the best heuristic, record it driving the env, clone it.

QGym (2024) found plain PPO far behind c-mu on queueing networks and PPO
warm-started from a heuristic competitive; so the actor is first trained to
imitate the best heuristic and the critic to predict that heuristic's
discounted cost-to-go, and PPO starts from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.heuristics import HEURISTICS
from agents.index.rule import IndexRule
from agents.parallel import Pool
from agents.progress import steps
from agents.rl.discount import step_discount
from sim.decision import Policy
from sim.env import SupportQueueEnv
from sim.scenario import Scenario


@dataclass
class Demonstrations:
    """Decisions of one policy on some days, as the env saw them."""

    obs: np.ndarray  # (N, features) float32
    masks: np.ndarray  # (N, actions) bool
    actions: np.ndarray  # (N,) int64
    rewards: np.ndarray  # (N,) float64, reward_scale 1
    elapsed: np.ndarray  # (N,) simulated minutes of each step
    last: np.ndarray  # (N,) True on the last step of a day

    def returns(self, reward_scale: float, *, half_life_minutes: float | None = None,
                gamma: float | None = None) -> np.ndarray:
        """Discounted cost-to-go of every step (elapsed-time or per-decision discount)."""
        if half_life_minutes is not None:
            gammas = step_discount(self.elapsed, half_life_minutes)
        else:
            gammas = np.full(len(self.rewards), gamma if gamma is not None else 0.99)
        returns = np.zeros(len(self.rewards))
        following = 0.0
        for k in range(len(self.rewards) - 1, -1, -1):
            if self.last[k]:
                following = 0.0
            following = self.rewards[k] * reward_scale + gammas[k] * following
            returns[k] = following
        return returns.astype(np.float32)


def make_teacher(heuristic: str, weights: Sequence[float] | None = None,
                 reserve: Sequence[int] | None = None,
                 keep_free: Sequence[int] | None = None) -> Policy:
    """The policy to imitate: the heuristic, or the tuned index rule if `weights`."""
    if weights is not None:
        return IndexRule(weights, reserve, keep_free)
    return HEURISTICS[heuristic]()


def demonstrate(scenario: Scenario, heuristic: str, days: Sequence[int], *,
                explore: float = 0.0, work_conserving: bool = False, seed: int = 0,
                weights: Sequence[float] | None = None, reserve: Sequence[int] | None = None,
                keep_free: Sequence[int] | None = None, workers: int = 1,
                progress: bool = False,
                multipliers: Sequence[float] | None = None, hint: bool = False) -> Demonstrations:
    """Let the teacher (the heuristic, or the index rule with `weights`) drive the env.

    `actions` are always the teacher's choices (the labels to clone); with
    `explore` > 0 the env is driven, that often, by another allowed action
    drawn uniformly, as the smoothed clone will act in PPO's rollouts, so the
    returns are that policy's and the states cover its mistakes too. Rewards
    are at reward_scale 1, misses charged at `multipliers` if given (objective sla).
    Days are shared out over `workers` processes. With `hint` the observations
    end with the teacher's choice (sim/observation.py).
    """
    jobs = [(scenario, heuristic, int(day), explore, work_conserving, seed + i, weights, reserve,
             keep_free, multipliers, hint) for i, day in enumerate(days)]
    with Pool(workers, len(jobs)) as pool:
        parts = pool.map(_demonstrate_day, jobs, wrap=lambda results: steps(
            results, "teacher's demonstrations", total=len(jobs), unit="day",
            disable=not progress))
    return Demonstrations(*(np.concatenate([getattr(p, f) for p in parts])
                            for f in ("obs", "masks", "actions", "rewards", "elapsed", "last")))


def _demonstrate_day(job: tuple) -> Demonstrations:
    (scenario, heuristic, day, explore, work_conserving, seed, weights, reserve, keep_free,
     multipliers, hint) = job
    env = SupportQueueEnv(scenario, work_conserving=work_conserving,
                          hint=make_teacher(heuristic, weights, reserve, keep_free) if hint else None)
    if multipliers is not None:
        from agents.rl.envs import SlaPenalty

        env = SlaPenalty(env, multipliers, reward_scale=1.0)
    rng = np.random.default_rng(seed)
    policy = make_teacher(heuristic, weights, reserve, keep_free)
    obs_rows, masks, actions, rewards, elapsed, last = [], [], [], [], [], []
    obs, info = env.reset(options={"model_seed": day})
    base = env.unwrapped  # the model and pending pairs, through any wrapper
    policy.reset(base.model, base.model.policy_rng)
    while base.pairs is not None:
        action = int(policy.decide(base.model, base.pairs))
        if not info["action_mask"][action]:  # a HOLD the env does not offer here
            action = int(HEURISTICS[heuristic]().decide(base.model, base.pairs))
        obs_rows.append(obs)
        masks.append(info["action_mask"])
        actions.append(action)
        others = np.flatnonzero(info["action_mask"])
        others = others[others != action]
        if explore > 0 and len(others) and rng.random() < explore:
            action = int(rng.choice(others))
        obs, reward, _, truncated, info = env.step(action)
        rewards.append(reward)
        elapsed.append(info["elapsed_minutes"])
        last.append(truncated)
    return Demonstrations(np.asarray(obs_rows, np.float32).reshape(len(actions), -1),
                          np.asarray(masks, bool).reshape(len(actions), -1),
                          np.asarray(actions, np.int64), np.asarray(rewards),
                          np.asarray(elapsed), np.asarray(last, bool))


def clone(model: BaseAlgorithm, demos: Demonstrations, returns: np.ndarray, *, masked: bool,
          epochs: int, batch_size: int, learning_rate: float, smoothing: float = 0.0,
          vf_coef: float = 0.5, seed: int = 0, progress: bool = False) -> dict[str, float]:
    """Fit the actor to the demonstrated actions and the critic to their returns.

    With `smoothing` > 0 the target puts that much probability evenly on the
    other allowed actions (label smoothing), so the cloned policy still tries
    alternatives, HOLD among them, and PPO has something to learn from.
    """
    policy = model.policy
    policy.set_training_mode(True)
    optimiser = th.optim.Adam(policy.parameters(), lr=learning_rate)
    obs = th.as_tensor(demos.obs)
    actions = th.as_tensor(demos.actions)
    targets = th.as_tensor(returns)
    allowed = th.as_tensor(demos.masks if masked else np.ones_like(demos.masks))
    others = allowed.float().scatter(1, actions[:, None], 0.0)
    others = others / others.sum(1, keepdim=True).clamp_min(1.0)
    rng = np.random.default_rng(seed)
    n = len(actions)
    for _ in steps(range(epochs), "warm start (cloning)", unit="epoch", disable=not progress):
        order = th.as_tensor(rng.permutation(n))
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            if masked:
                dist = policy.get_distribution(obs[batch], action_masks=demos.masks[batch.numpy()])
            else:
                dist = policy.get_distribution(obs[batch])
            log_probs = dist.distribution.logits  # normalised; masked actions ~ -1e8
            chosen = log_probs.gather(1, actions[batch, None]).squeeze(1)
            spread = (others[batch] * log_probs.clamp_min(-1e4)).sum(1)
            has_others = others[batch].sum(1) > 0
            imitation = -((1 - smoothing * has_others) * chosen + smoothing * spread).mean()
            values = policy.predict_values(obs[batch]).flatten()
            loss = imitation + vf_coef * th.nn.functional.mse_loss(values, targets[batch])
            optimiser.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimiser.step()
    policy.set_training_mode(False)
    return _fit_report(policy, obs, actions, targets, demos.masks if masked else None)


def _fit_report(policy, obs: th.Tensor, actions: th.Tensor, targets: th.Tensor,
                masks: np.ndarray | None) -> dict[str, float]:
    with th.no_grad():
        if masks is not None:
            values, log_prob, entropy = policy.evaluate_actions(obs, actions, action_masks=masks)
            dist = policy.get_distribution(obs, action_masks=masks)
            chosen = dist.get_actions(deterministic=True)
        else:
            values, log_prob, entropy = policy.evaluate_actions(obs, actions)
            chosen = policy.get_distribution(obs).get_actions(deterministic=True)
    residual = (targets - values.flatten()).var() / targets.var().clamp_min(1e-12)
    return {"agreement": float((chosen == actions).float().mean()),
            "log_likelihood": float(log_prob.mean()),
            "entropy": float(entropy.mean()),
            "value_explained_variance": float(1.0 - residual)}
