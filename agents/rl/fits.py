"""Fitting the actor to rollout labels: the expert's choices, or its advantages.

Both fits early-stop on a held-back share of the states and keep the weights
of the best epoch; agents/rl/dagger.py runs them each round.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th

from agents.rl.student import Labels


def copy_state(policy: Any) -> dict[str, th.Tensor]:
    return {k: v.clone() for k, v in policy.state_dict().items()}


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

    def loss_of(rows: np.ndarray) -> th.Tensor:
        index = th.as_tensor(rows)
        logits = _logits(policy, obs[index]).masked_fill(~th.as_tensor(masks[rows]), -1e8)
        return th.nn.functional.cross_entropy(logits, expert[index])

    _, best_loss, best_epoch, epoch = _descend(
        policy, loss_of, len(labels), epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, validation=validation, patience=patience)
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


def fit_advantages(policy: Any, labels: Labels, *, margin: float, epochs: int,
                   batch_size: int, learning_rate: float, seed: int = 0,
                   validation: float = 0.2, patience: int = 5) -> dict[str, float]:
    """Fit the actor's logits to the rollout's advantages; the base's choice keeps a margin.

    A label gives, for each candidate a of a state, the mean window cost of a
    less the base's choice's over the same forks: a noisy advantage. Rather
    than a choice tested one state at a time, the logits regress them all
    (classification-based policy iteration with costs, Lagoudakis and Parr
    2003): logit[a] = -advantage[a] / s for every other candidate and
    logit[base's choice] = margin, where s is the spread of the advantages.
    The network pools the forks of many similar states, so a small systematic
    gain shows where eight forks of one state cannot; the greedy action leaves
    the base's choice only where a candidate is predicted cheaper by more
    than `margin` spreads (the network's errors would otherwise swap choices on
    noise). Squared error over the labelled candidates; `validation` and
    `patience` as in `fit_choices`.

    The actor starts afresh (`_fresh_actor`), not from the clone: from the
    clone's weights, fitted for cross-entropy, the first round of
    retail_bank_day gained -2.25/h against the incumbent, from fresh weights
    -4.80/h on the same labels (docs/learning.md).
    """
    _fresh_actor(policy, seed)
    advantage = labels.advantage
    known = ~np.isnan(advantage)
    rows = np.arange(len(labels))
    others = known.copy()
    others[rows, labels.own] = False
    spread = float(np.std(advantage[others])) if others.any() else 1.0
    spread = spread if spread > 0 else 1.0
    target = np.where(known, -np.nan_to_num(advantage) / spread, 0.0).astype(np.float32)
    target[rows, labels.own] = margin
    obs, target_t = th.as_tensor(labels.obs), th.as_tensor(target)
    known_t = th.as_tensor(known.astype(np.float32))

    def loss_of(index: np.ndarray) -> th.Tensor:
        i = th.as_tensor(index)
        error = (_logits(policy, obs[i]) - target_t[i]) ** 2 * known_t[i]
        return error.sum() / known_t[i].sum().clamp(min=1.0)

    check, best_loss, best_epoch, epoch = _descend(
        policy, loss_of, len(labels), epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, validation=validation, patience=patience)
    with th.no_grad():
        logits = _logits(policy, obs).masked_fill(~th.as_tensor(labels.masks), -1e8)
    fitted = logits.argmax(dim=1).numpy()
    zero = float((target_t[check] ** 2 * known_t[check]).sum()
                 / known_t[check].sum().clamp(min=1.0)) if len(check) else math.nan
    return {"states": float(len(labels)), "advantage_spread": spread,
            "epochs_run": float(epoch), "kept_epoch": float(best_epoch),
            "held_out_loss": best_loss, "held_out_loss_of_zero": zero,
            "leaves_base": float(np.mean(fitted != labels.own)),
            "expert_overrules": float(np.mean(labels.expert != labels.own))}


def _descend(policy: Any, loss_of: Callable[[np.ndarray], th.Tensor], n: int, *, epochs: int,
             batch_size: int, learning_rate: float, seed: int, validation: float,
             patience: int) -> tuple[np.ndarray, float, int, int]:
    """Adam on `loss_of` over minibatches of rows 0..n-1, a `validation` share held back;
    the policy keeps the weights of the epoch least lossy on those (the start included),
    stopping after `patience` epochs without a better one. Returns the held-back rows,
    their least loss, that epoch and the epochs run."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    held = max(1, int(validation * n)) if validation > 0 else 0
    check, fit = order[:held], order[held:]
    optimiser = th.optim.Adam(policy.parameters(), lr=learning_rate)

    def held_loss() -> float:
        with th.no_grad():
            return float(loss_of(check)) if held else math.nan

    best_loss, best_epoch, epoch = held_loss(), 0, 0
    best_state = copy_state(policy)
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
            best_state = copy_state(policy)
        elif epoch - best_epoch >= patience:
            break
    policy.load_state_dict(best_state)
    return check, best_loss, best_epoch, epoch


def _fresh_actor(policy: Any, seed: int) -> None:
    """Draw the actor's weights afresh as SB3 does (orthogonal, gain sqrt(2) for the hidden
    layers and 0.01 for the logits, zero biases); the critic is left as it is."""
    generator = th.Generator().manual_seed(seed)
    layers = [(layer, math.sqrt(2)) for layer in policy.mlp_extractor.policy_net
              if isinstance(layer, th.nn.Linear)] + [(policy.action_net, 0.01)]
    with th.no_grad():
        for layer, gain in layers:
            th.nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
            layer.bias.zero_()


def _logits(policy: Any, obs: th.Tensor) -> th.Tensor:
    features = policy.extract_features(obs, policy.pi_features_extractor)
    return policy.action_net(policy.mlp_extractor.forward_actor(features))
