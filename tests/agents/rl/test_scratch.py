"""PPO from scratch: the average-cost reward transform, the scratch configuration, the
kept model and standardised observations (no training longer than a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from agents.errors import TrainingConfigError
from agents.rl.config import resolve_config
from agents.rl.discount import TimedMaskableRolloutBuffer, relative_rewards
from sim.scenario import load_scenario

NONE = {"warm_start": {"enabled": False}}


def test_relative_rewards_subtract_the_rate_times_the_minutes():
    rewards = np.array([[-2.0, -1.0], [-4.0, 0.0], [-3.0, -2.0]])
    elapsed = np.array([[1.0, 0.5], [2.0, 1.0], [1.0, 0.5]])
    # 12 reward lost in 6 minutes: -2 per minute, the first batch's own rate.
    relative, rate = relative_rewards(rewards, elapsed, None, 0.3)
    assert rate == pytest.approx(-2.0)
    np.testing.assert_allclose(relative, [[0.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    assert relative.sum() == pytest.approx(0.0)  # the batch's own rate: relative sum 0
    # Later batches move the running rate by `smoothing` towards their own (-1 here).
    _, rate = relative_rewards(rewards / 2, elapsed, -2.0, 0.25)
    assert rate == pytest.approx(-2.0 + 0.25 * (-1.0 - -2.0))
    _, rate = relative_rewards(rewards / 2, elapsed, -2.0, 1.0)
    assert rate == pytest.approx(-1.0)


def _filled_buffer(average_cost: bool, rewards, elapsed, values, starts, half_life=30.0):
    n_steps, n_envs = rewards.shape
    buffer = TimedMaskableRolloutBuffer(
        n_steps, spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(3), gamma=0.99,
        gae_lambda=0.8, n_envs=n_envs, half_life_minutes=half_life, average_cost=average_cost,
        average_cost_smoothing=0.5)
    for k in range(n_steps):
        buffer.elapsed[buffer.pos] = elapsed[k]
        buffer.add(np.zeros((n_envs, 2), np.float32), np.zeros((n_envs, 1)), rewards[k],
                   starts[k], th.as_tensor(values[k]), th.zeros(n_envs))
    return buffer


def test_average_cost_gae_is_plain_gae_on_the_relative_rewards():
    """The buffer with average_cost must equal the plain elapsed-time buffer fed the
    rewards less rate x minutes, with the rate the batch's own on the first rollout."""
    rng = np.random.default_rng(4)
    rewards = -rng.exponential(size=(12, 2))
    elapsed = rng.exponential(2.0, size=(12, 2))
    values = rng.normal(size=(12, 2))
    starts = np.zeros((12, 2))
    starts[0] = 1.0
    starts[7, 1] = 1.0
    last, dones = th.as_tensor([0.2, -0.4]), np.array([False, True])
    rate = rewards.sum() / elapsed.sum()
    relative = _filled_buffer(True, rewards, elapsed, values, starts)
    relative.compute_returns_and_advantage(last, dones)
    plain = _filled_buffer(False, rewards - rate * elapsed, elapsed, values, starts)
    plain.compute_returns_and_advantage(last, dones)
    assert relative.rate == pytest.approx(rate)
    np.testing.assert_allclose(relative.advantages, plain.advantages, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(relative.returns, plain.returns, rtol=1e-5, atol=1e-6)
    untouched = _filled_buffer(False, rewards, elapsed, values, starts)
    untouched.compute_returns_and_advantage(last, dones)
    assert not np.allclose(untouched.advantages, relative.advantages)
    # The buffer's rewards stay as the env gave them (the transform is for GAE only).
    np.testing.assert_allclose(relative.rewards, rewards, rtol=1e-6)


def test_without_a_warm_start_the_scratch_settings_apply():
    scenario = load_scenario("n_model")
    warm = resolve_config(scenario)
    scratch = resolve_config(scenario, overrides=NONE)
    assert warm.warm_start.enabled and not scratch.warm_start.enabled
    assert not warm.discount.average_cost and scratch.discount.average_cost
    assert warm.algo_kwargs["learning_rate"] == pytest.approx(5e-5)
    start, end = scratch.algo_kwargs["learning_rate"]["linear"]  # n_model: falling linearly
    assert start > 5e-5 and end < start
    assert scratch.vec_env == "dummy" and scratch.standardize_observations
    assert not warm.standardize_observations
    # What the scratch block leaves out still comes from the default block.
    assert scratch.algo_kwargs["max_grad_norm"] == warm.algo_kwargs["max_grad_norm"]
    # Overrides still win over the scratch block.
    mine = resolve_config(scenario, overrides={**NONE, "algo_kwargs": {"learning_rate": 0.01}})
    assert mine.algo_kwargs["learning_rate"] == pytest.approx(0.01)


def test_a_scenarios_own_scratch_block_wins_over_the_shared_one(monkeypatch):
    import agents.rl.config as config_module

    data = {"default": {"timesteps": 10, "n_envs": 2},
            "scratch": {"timesteps": 20, "n_envs": 3},
            "mine": {"timesteps": 30, "scratch": {"timesteps": 40}}}
    monkeypatch.setattr(config_module, "load_hyperparameters", lambda algo: data)

    class Named:
        name = "mine"
        horizon_hours = 24.0

    assert resolve_config(Named(), overrides=NONE).timesteps == 40
    assert resolve_config(Named(), overrides=NONE).n_envs == 3
    assert resolve_config(Named()).timesteps == 30  # warm start: no scratch block at all
    assert resolve_config(Named()).n_envs == 2
    data["mine"]["scratch"] = {"no_such_field": 1}
    with pytest.raises(TrainingConfigError, match="no_such_field"):
        resolve_config(Named(), overrides=NONE)


def test_average_cost_needs_elapsed_discounting():
    with pytest.raises(TrainingConfigError, match="average_cost"):
        resolve_config(load_scenario("n_model"), overrides={
            **NONE, "discount": {"mode": "decision", "gamma": 0.99, "average_cost": True}})


def test_standardised_observations_are_saved_with_the_model(tmp_path):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from agents.rl.envs import VecMaskCache, env_factory
    from agents.rl.scratch import STD_FLOOR, standardized
    from agents.rl.training import algorithm_class, build_model

    scenario = load_scenario("n_model")
    config = resolve_config(scenario, overrides={
        **NONE, "n_envs": 1, "discount": {"gamma": 0.99}, "standardize_observations": True})
    venv = VecMaskCache(DummyVecEnv([env_factory(scenario, fallback=None, reward_scale=1.0)]))
    width = venv.observation_space.shape[0]
    seen = np.random.default_rng(1).uniform(0, 1, (50, width))
    seen[:, 0] = 0.3  # a constant feature: divided by the floor, not by zero
    config = standardized(config, seen)
    stats = config.policy_kwargs["features_extractor_kwargs"]
    assert stats["std"][0] == STD_FLOOR and stats["mean"][0] == pytest.approx(0.3)
    model = build_model(config, venv, None)
    obs = th.as_tensor(np.vstack([seen[:3], np.full((1, width), 0.9)]), dtype=th.float32)
    expected = (obs.numpy() - np.array(stats["mean"])) / np.array(stats["std"])
    with th.no_grad():
        got = model.policy.extract_features(obs, model.policy.pi_features_extractor).numpy()
    np.testing.assert_allclose(got, np.clip(expected, -10, 10), rtol=1e-4, atol=1e-4)
    assert got[3, 0] == pytest.approx(10.0)  # (0.9 - 0.3) / 0.05 = 12, clipped
    model.save(tmp_path / "model.zip")
    loaded = algorithm_class("maskable_ppo").load(tmp_path / "model.zip", device="cpu")
    with th.no_grad():
        np.testing.assert_allclose(model.policy.get_distribution(obs).distribution.probs,
                                   loaded.policy.get_distribution(obs).distribution.probs)
        assert not np.allclose(loaded.policy.extract_features(obs).numpy(), obs.numpy())


def test_without_a_warm_start_the_kept_model_is_the_cheapest_checkpoint(tmp_path):
    """With a warm start a later checkpoint must be clearly cheaper (paired test);
    from scratch there is nothing to protect, so any lower mean replaces the kept one."""
    from agents.rl.envs import env_factory, make_vec_env
    from agents.rl.training import _callbacks

    scenario = load_scenario("n_model")
    config = resolve_config(scenario, overrides={**NONE, "discount": {"gamma": 0.99}})
    eval_env = make_vec_env([env_factory(scenario, fallback=None, reward_scale=1.0,
                                         eval_days=[1000])], "dummy")
    kept = np.array([200.0, 190.0, 210.0, 205.0])
    slightly_cheaper = kept + np.array([-3.0, 2.0, -1.0, -0.5])  # mean -0.625, p ~ 0.3
    for teaching, replaces in ((True, False), (False, True)):
        evaluation, _ = _callbacks(config, eval_env, tmp_path, 0, teaching)
        evaluation.best_costs = kept
        assert evaluation._clearly_better(slightly_cheaper) is replaces
        assert not evaluation._clearly_better(kept + 0.5)  # dearer: never


def test_linear_schedules_in_algo_kwargs():
    from agents.rl.scratch import algo_kwargs

    kwargs = algo_kwargs({"learning_rate": {"linear": [3e-4, 3e-5]}, "clip_range": 0.2,
                          "n_steps": 64})
    assert kwargs["clip_range"] == 0.2 and kwargs["n_steps"] == 64
    rate = kwargs["learning_rate"]
    assert rate(1.0) == pytest.approx(3e-4)  # progress remaining 1: the start
    assert rate(0.5) == pytest.approx(1.65e-4)
    assert rate(0.0) == pytest.approx(3e-5)
    for bad in ({"linear": [3e-4]}, {"linear": [3e-4, -1]}, {"cosine": [1, 2]}):
        with pytest.raises(TrainingConfigError, match="algo_kwargs.learning_rate"):
            algo_kwargs({"learning_rate": bad})
