"""The Gymnasium env: both checkers on every scenario, determinism, masks, reward, episode end."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sim
from sim.env import (
    ObservationBuilder,
    SupportQueueEnv,
    cost_unit,
    oldest_first,
)
from sim.metrics import summary_rows, ticket_table
from sim.model import ABANDONED, SERVED, SupportModel
from sim.scenario import list_scenarios, load_scenario, parse_scenario
from sim.seeds import TRAIN_SEED_FLOOR

SCENARIO_FILES = list_scenarios()
ROLLOUT_STEPS = 400


def two_by_two(**overrides) -> object:
    """Two ticket types, two groups, one cross-skilled: masks and fallbacks have choices."""
    data = {
        "name": "two_by_two", "horizon_hours": 3,
        "ticket_types": {
            "chat": {"arrivals_per_hour": 50, "handle_minutes": {"dist": "exponential", "mean": 4},
                     "patience_minutes": {"dist": "exponential", "mean": 6},
                     "wait_cost_per_minute": 1.0, "abandon_cost": 4.0},
            "mail": {"arrivals_per_hour": 20, "handle_minutes": {"dist": "exponential", "mean": 6},
                     "wait_cost_per_minute": 0.2},
        },
        "agent_groups": {
            "chat_team": {"agents": 2, "skills": {"chat": 1.0}},
            "all_round": {"agents": 2, "skills": {"chat": 0.8, "mail": 1.0}},
        },
    }
    data.update(overrides)
    return parse_scenario(data, "<test>")


def masked_random_rollout(env: SupportQueueEnv, seed: int, steps: int) -> list[tuple]:
    """Observations, rewards and flags of a rollout with seeded random allowed actions."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    trace = [(obs.copy(), 0.0, False, False, info["now_minutes"])]
    for _ in range(steps):
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs.copy(), reward, terminated, truncated, info["now_minutes"]))
        if truncated:
            break
    return trace


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_checkers_pass_and_same_seed_gives_same_rollout(path):
    env = SupportQueueEnv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure too
        gymnasium_check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=True)
    first = masked_random_rollout(SupportQueueEnv(path), seed=11, steps=ROLLOUT_STEPS)
    again = masked_random_rollout(SupportQueueEnv(path), seed=11, steps=ROLLOUT_STEPS)
    other = masked_random_rollout(SupportQueueEnv(path), seed=12, steps=ROLLOUT_STEPS)
    assert len(first) == len(again) > 10
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other, strict=False))


def test_registered_id_makes_the_env_in_both_forms():
    env = gymnasium.make(sim.ENV_ID, scenario="n_model")
    assert isinstance(env.unwrapped, SupportQueueEnv)
    assert env.unwrapped.scenario.name == "n_model"
    assert env.action_space.n == 2 * 2 + 1
    env = gymnasium.make("sim:routelab/SupportQueue-v0", scenario="n_model")
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape
    assert info["action_mask"][-1]


def test_sim_imports_neither_torch_nor_agents():
    code = ("import sys, gymnasium, sim, sim.env; "
            "gymnasium.make('routelab/SupportQueue-v0', scenario='n_model').reset(seed=0); "
            "bad = [m for m in sys.modules if m == 'torch' or m.split('.')[0] == 'agents']; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_masks_are_exactly_the_feasible_pairs_and_hold_is_always_allowed():
    env = SupportQueueEnv(two_by_two())
    model_of = lambda: env.model  # noqa: E731 - the model is replaced on reset
    rng = np.random.default_rng(3)
    obs, info = env.reset(seed=5)
    steps = holds_checked = 0
    while True:
        mask = env.action_masks()
        np.testing.assert_array_equal(mask, info["action_mask"])
        model = model_of()
        for pair in range(env.hold):
            t, g = model.pair_type[pair], model.pair_group[pair]
            feasible = (model.queue_length[t] > 0 and model.idle_agents(g) > 0
                        and model.speed[g][t] > 0)
            assert mask[pair] == feasible, (pair, model.now)
        assert mask[env.hold] == (model.env.peek() != math.inf)
        holds_checked += model.env.peek() != math.inf
        assert sorted(np.flatnonzero(mask[:-1])) == env.pairs
        obs, _, _, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        steps += 1
        if truncated:
            break
    assert steps > 100 and holds_checked > 100
    assert info["action_mask"][env.hold] and not info["action_mask"][:-1].any()


def test_hold_cannot_end_the_day_with_work_left_undone():
    # After the horizon only mail waits (it never abandons) and nothing else is
    # scheduled: holding would stop the clock with the mail unanswered and free.
    env = SupportQueueEnv(two_by_two())
    env.reset(seed=5)
    while not (env.model.now >= env.model.horizon and env.model.env.peek() == math.inf):
        mask = env.action_masks()
        env.step(env.hold if mask[env.hold] and env.model.queue_length[1] else env.pairs[0])
        assert env.pairs is not None, "the drain ended before the state under test"
    assert not env.action_masks()[env.hold] and env.pairs
    waiting, expected = env.model.queue_length[1], oldest_first(env.model, env.pairs)
    _, _, _, _, info = env.step(env.hold)
    assert info["applied_action"] == expected and env.model.pair_type[expected] == 1
    assert env.model.queue_length[1] == waiting - 1


def _state_with_an_infeasible_pair(env: SupportQueueEnv) -> int:
    """Step (always choosing the first pair) until some pair is masked out; return it."""
    env.reset(seed=2)
    while True:
        mask = env.action_masks()
        masked_out = np.flatnonzero(~mask[:-1])
        if len(env.pairs) >= 1 and len(masked_out):
            return int(masked_out[0])
        env.step(env.pairs[0])


def test_an_infeasible_action_is_the_fallback_choice_never_hold():
    env = SupportQueueEnv(two_by_two())
    infeasible = _state_with_an_infeasible_pair(env)
    expected = oldest_first(env.model, env.pairs)
    decisions = env.model.decisions
    _, _, _, _, info = env.step(infeasible)
    assert info["applied_action"] == expected != env.hold
    assert env.model.decisions == decisions + 1
    # An action outside the space is treated the same way.
    env.reset(seed=4)
    expected = oldest_first(env.model, env.pairs)
    assert env.step(99)[4]["applied_action"] == expected


def test_a_given_fallback_policy_replaces_infeasible_actions():
    class LastPair:
        name, non_idling = "last", True

        def reset(self, view, rng) -> None:
            self.calls = 0

        def decide(self, view, pairs):
            self.calls += 1
            return pairs[-1]

    fallback = LastPair()
    env = SupportQueueEnv(two_by_two(), fallback=fallback)
    infeasible = _state_with_an_infeasible_pair(env)
    pairs = list(env.pairs)
    assert env.step(infeasible)[4]["applied_action"] == pairs[-1]
    assert fallback.calls == 1


def test_reward_is_minus_the_accrued_cost_over_the_unit_and_adds_up_to_the_ticket_costs():
    scenario = two_by_two()
    env = SupportQueueEnv(scenario, reward_scale=2.0)
    rng = np.random.default_rng(9)
    env.reset(seed=1)
    # Agents start idle, so nothing is waiting, and nothing costs, before the first decision.
    assert env.model.accrued_cost() == 0.0
    total = 0.0
    while True:
        before = env.model.accrued_cost()
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        _, reward, _, truncated, info = env.step(action)
        assert reward == pytest.approx(-2.0 * (env.model.accrued_cost() - before) / env.cost_unit,
                                       rel=1e-12, abs=1e-12)
        total += reward
        if truncated:
            break
    # Independently: every ticket's wait times its cost rate, plus abandonment costs.
    tickets = ticket_table(env.model)
    codes = tickets["ticket_type"].cat.codes.to_numpy()
    wait_cost = np.asarray(env.model.wait_cost)[codes] * tickets["wait_min"].to_numpy()
    abandoned = tickets["outcome"].to_numpy() == "abandoned"
    abandon_cost = np.asarray(env.model.abandon_cost)[codes][abandoned].sum()
    assert abandoned.sum() > 0
    assert -total * env.cost_unit / 2.0 == pytest.approx(wait_cost.sum() + abandon_cost, rel=1e-9)
    assert info["episode_cost"] == pytest.approx(wait_cost.sum() + abandon_cost, rel=1e-9)


def test_cost_unit_is_a_mean_ticket_waiting_one_mean_gap():
    # 50/h at 1.0 and 20/h at 0.2: mean wait cost (50 + 4) / 70 per minute; gap 60 / 70 min.
    assert cost_unit(two_by_two()) == pytest.approx((54 / 70) / (70 / 60))


def test_the_day_ends_truncated_once_nothing_is_left_to_decide():
    scenario = two_by_two()
    env = SupportQueueEnv(scenario)
    env.reset(seed=0)
    flags = []
    while True:
        _, _, terminated, truncated, info = env.step(env.pairs[0])
        flags.append((terminated, truncated))
        if truncated:
            break
    assert all(f == (False, False) for f in flags[:-1]) and flags[-1] == (False, True)
    assert env.model.done and env.pairs is None
    assert env.model.now >= scenario.horizon_minutes
    assert math.isfinite(info["cost_per_hour"])
    # Stepping past the end changes nothing.
    obs, reward, terminated, truncated, _ = env.step(0)
    assert (reward, terminated, truncated) == (0.0, False, True)


def test_model_seed_option_replays_the_simulate_day():
    scenario = load_scenario("n_model")
    from agents.heuristics import HEURISTICS

    env = SupportQueueEnv(scenario)
    env.reset(options={"model_seed": 3})
    policy = HEURISTICS["cmu"]()
    policy.reset(env.model, env.model.policy_rng)
    while True:
        _, _, _, truncated, info = env.step(policy.decide(env.model, env.pairs))
        if truncated:
            break
    model = SupportModel(scenario, 3).run(HEURISTICS["cmu"]())
    expected = summary_rows(model, ticket_table(model), "cmu").iloc[-1]["cost_per_hour"]
    assert info["cost_per_hour"] == pytest.approx(expected, rel=1e-12)


def test_training_days_never_use_evaluation_seeds():
    env = SupportQueueEnv(two_by_two())
    seeds = {env.reset(seed=s)[1]["model_seed"] for s in range(50)}
    assert min(seeds) >= TRAIN_SEED_FLOOR and len(seeds) == 50


def test_observation_features_on_a_known_state():
    scenario = two_by_two()
    builder = ObservationBuilder(scenario)
    assert builder.names == [
        "queue.chat", "queue.mail", "wait.chat", "wait.mail", "rate.chat", "rate.mail",
        "idle.chat_team", "idle.all_round", "staffed.chat_team", "staffed.all_round",
        "busy.chat_team.chat", "busy.all_round.chat", "busy.all_round.mail",
        "time.sin", "time.cos", "time_left"]
    model = SupportModel(scenario, 0, track_cost=True)
    pairs = model.next_decision()  # the first arrival, all four agents idle
    obs = dict(zip(builder.names, builder(model), strict=True))
    t = model.tickets[0].type
    name = scenario.type_names[t]
    assert pairs and obs[f"queue.{name}"] == pytest.approx(math.log(2) / math.log(1001), rel=1e-6)
    assert obs[f"wait.{name}"] == 0.0
    assert obs["rate.chat"] == pytest.approx(0.5) and obs["rate.mail"] == pytest.approx(0.5)
    assert obs["idle.chat_team"] == obs["idle.all_round"] == 1.0
    assert obs["staffed.chat_team"] == 1.0
    assert obs["time_left"] == pytest.approx(1 - model.now / 180, rel=1e-6)
    assert obs["time.sin"] == pytest.approx(math.sin(2 * math.pi * model.now / 1440), abs=1e-6)
    assert SERVED != ABANDONED  # the constants the reward test reads


def test_work_conserving_env_steps_only_real_choices_and_charges_the_forced_ones():
    scenario = two_by_two()
    env = SupportQueueEnv(scenario, work_conserving=True)
    rng = np.random.default_rng(4)
    _, info = env.reset(seed=1)
    assert env.model.accrued_cost() == 0.0
    total, steps = 0.0, 0
    while True:
        mask = env.action_masks()
        assert len(env.pairs) >= 2 and not mask[env.hold]
        _, reward, _, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        total, steps = total + reward, steps + 1
        if truncated:
            break
    assert 0 < steps < env.model.decisions  # forced decisions took no step
    assert -total * env.cost_unit == pytest.approx(info["episode_cost"], rel=1e-12)
    assert env.model.accrued_cost() == pytest.approx(info["episode_cost"], rel=1e-12)
