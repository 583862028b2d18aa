"""Training: a trivial scenario is learned, a model routes in `simulate`, bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th
import yaml

from agents.errors import PolicyError, TrainingConfigError
from agents.rl.config import resolve_config
from agents.rl.discount import TimedMaskableRolloutBuffer, step_discount
from agents.rl.envs import DayEndIsTerminal, VecMaskCache, env_factory
from agents.rl.model_policy import load_model_policy
from experiments.cli import main
from sim.env import SupportQueueEnv
from sim.model import SupportModel
from sim.scenario import load_scenario

# One ticket type; the fast group serves it ten times faster than the slow one.
# Waiting is all that costs, so a slow start is not bad in itself; but two slow
# agents tied up for 20 minutes leave callers (patience 2 minutes, 20 per
# abandonment) to the fast pair: fast-first costs ~28 per hour, slow-first ~42
# (20 days each). About 86 decisions a day have both groups free.
FAST_SLOW = """\
name: fast_slow
horizon_hours: 8
ticket_types:
  ticket:
    arrivals_per_hour: 30
    handle_minutes: {dist: exponential, mean: 2}
    patience_minutes: {dist: exponential, mean: 2}
    abandon_cost: 20
agent_groups:
  fast: {agents: 2, skills: {ticket: 1.0}}
  slow: {agents: 2, skills: {ticket: 0.1}}
"""
FAST, SLOW, HOLD = 0, 1, 2


@pytest.fixture(scope="module")
def fast_slow(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "fast_slow.yaml"
    path.write_text(FAST_SLOW)
    return path


@pytest.fixture(scope="module")
def learned_from_scratch(fast_slow, tmp_path_factory):
    """MaskablePPO from a uniform policy (no warm start), HOLD allowed, one env in-process,
    6,144 decisions (about 25 days of this scenario): well under a minute."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from agents.rl.discount import RecordElapsed
    from agents.rl.training import build_model

    scenario = load_scenario(fast_slow)
    config = resolve_config(scenario, timesteps=6144, seed=0, overrides={
        "n_envs": 1, "vec_env": "dummy", "work_conserving": False,
        "discount": {"gamma": 0.97}, "reward_scale": 0.03,
        "algo_kwargs": {"n_steps": 512, "batch_size": 128, "learning_rate": 0.001,
                        "n_epochs": 10, "clip_range": 0.2, "target_kl": None}})
    venv = VecMaskCache(DummyVecEnv([env_factory(scenario, fallback=None, reward_scale=0.03)]))
    model = build_model(config, venv, None)
    with th.no_grad():  # start from "no preference": equal logits for every allowed action
        model.policy.action_net.weight.zero_()
        model.policy.action_net.bias.zero_()
    before = choice_probabilities(model, scenario)
    model.learn(config.timesteps, callback=[RecordElapsed()])
    path = tmp_path_factory.mktemp("scratch") / "model.zip"
    model.save(path)
    return scenario, path, before, choice_probabilities(model, scenario)


def choice_probabilities(model, scenario, seeds=range(3)) -> np.ndarray:
    """Mean (fast, slow, hold) probabilities where both groups are idle and a ticket waits,
    on the states the fast-first rule visits (the same states before and after learning)."""
    env = SupportQueueEnv(scenario)
    states = []
    for seed in seeds:
        obs, _ = env.reset(options={"model_seed": seed})
        while env.pairs is not None:
            if len(env.pairs) == 2:
                states.append(obs)
            obs = env.step(env.pairs[0])[0]
    mask = np.ones((len(states), 3), dtype=bool)
    with th.no_grad():
        dist = model.policy.get_distribution(th.as_tensor(np.array(states)), action_masks=mask)
        return dist.distribution.probs.numpy().mean(axis=0)


def contested_choices(policy, scenario, seeds=range(4)) -> dict[str, int]:
    """What a policy does when both groups are idle and a ticket waits."""
    counts = {"fast": 0, "slow": 0, "hold": 0}

    class Spy:
        name, non_idling = "spy", False

        def reset(self, view, rng):
            policy.reset(view, rng)

        def decide(self, view, pairs):
            action = policy.decide(view, pairs)
            if len(pairs) == 2:
                counts[{FAST: "fast", SLOW: "slow", HOLD: "hold"}[action]] += 1
            return action

    for seed in seeds:
        SupportModel(scenario, seed).run(Spy())
    return counts


def test_a_trivial_scenario_is_learned_from_scratch(learned_from_scratch):
    scenario, path, before, after = learned_from_scratch
    np.testing.assert_allclose(before, 1 / 3, atol=1e-6)  # no preference to begin with
    # Holding only lets the ticket wait: it must all but vanish. Fast over slow
    # (seen: 0.81 against 0.17) must be a clear preference, and the argmax below.
    assert after[HOLD] < 0.05, after
    assert after[FAST] > 0.6 and after[FAST] > 2 * after[SLOW], after
    counts = contested_choices(load_model_policy(path, scenario), scenario)
    # ~480 contested decisions over 4 days (seeds 0-3, partly unseen above).
    assert sum(counts.values()) > 200
    assert counts["fast"] >= 0.9 * sum(counts.values()), counts


@pytest.fixture(scope="module")
def trained_by_the_command(fast_slow, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", str(fast_slow), "--timesteps", "2048", "--seed", "1", "--out", str(out),
                 "--eval-seeds", "2", "--quiet"])
    assert code == 0
    return out


def test_train_command_writes_model_config_curves_and_figures(trained_by_the_command):
    out = trained_by_the_command
    for name in ("model.zip", "config.yaml", "evaluations.npz", "learning_curve.png",
                 "evaluation.png", "evaluation.csv", "comparison.csv"):
        assert (out / name).is_file(), name
    import pandas as pd

    comparison = pd.read_csv(out / "comparison.csv").set_index("policy")
    assert {"model", "cmu", "fifo"} <= set(comparison.index)
    # The warm start clones the best rule (c-mu here): same days, about the same cost.
    assert comparison.loc["model", "cost_per_hour"] == pytest.approx(
        comparison.loc["cmu", "cost_per_hour"], rel=0.02)
    assert np.load(out / "evaluations.npz")["timesteps"][0] == 0


def test_the_saved_configuration_is_resolved(trained_by_the_command):
    saved = yaml.safe_load((trained_by_the_command / "config.yaml").read_text())
    assert saved["algo"] == "maskable_ppo" and saved["seed"] == 1 and saved["timesteps"] == 2048
    assert saved["discount"]["mode"] == "elapsed" and isinstance(saved["discount"]["gamma"], float)
    assert isinstance(saved["reward_scale"], float) and saved["reward_scale"] > 0
    assert saved["fallback"] in ("cmu", "cmu_theta", "maxweight")  # tied best heuristics
    assert saved["env"]["features"][0] == "queue.ticket"
    assert saved["warm_start_fit"]["teacher"]["rule"] in ("tuned_index", "cmu")
    assert saved["result"]["kept_model_at_timesteps"] >= 0
    # Rollout improvement runs, so the network sees its teacher's choice.
    assert saved["env"]["hint"] == "teacher.json" and saved["env"]["features"][-1] == "hint.hold"


def test_a_hinted_model_needs_its_teacher_beside_it(trained_by_the_command, tmp_path, fast_slow,
                                                   capsys):
    import shutil

    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("model.zip", "config.yaml"):
        shutil.copy(trained_by_the_command / name, moved / name)
    code = main(["simulate", str(fast_slow), "--policy", f"model:{moved}", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "teacher.json: cannot read" in err
    shutil.copy(trained_by_the_command / "teacher.json", moved / "teacher.json")
    policy = load_model_policy(moved, load_scenario(fast_slow))
    assert policy.observe.hint is not None


def test_the_learned_policy_runs_in_simulate(trained_by_the_command, tmp_path, fast_slow):
    target = tmp_path / "sim"
    code = main(["simulate", str(fast_slow), "--policy",
                 f"model:{trained_by_the_command / 'model.zip'}", "--seeds", "2",
                 "--out", str(target), "--quiet"])
    assert code == 0
    import pandas as pd

    summary = pd.read_csv(target / "summary.csv")
    assert set(summary["seed"]) == {0, 1}
    assert (summary[summary.ticket_type == "ALL"]["served"] > 100).all()


def test_a_missing_or_corrupt_model_is_a_policy_error(tmp_path, fast_slow, capsys):
    scenario = load_scenario(fast_slow)
    with pytest.raises(PolicyError, match="no such model file"):
        load_model_policy(tmp_path / "nothing.zip", scenario)
    corrupt = tmp_path / "model.zip"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(PolicyError, match="not a stable-baselines3 model"):
        load_model_policy(corrupt, scenario)
    code = main(["simulate", str(fast_slow), "--policy", f"model:{corrupt}", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "model:" in err


def test_a_model_for_another_scenario_is_refused(trained_by_the_command):
    with pytest.raises(PolicyError, match="features"):
        load_model_policy(trained_by_the_command / "model.zip", load_scenario("n_model"))


@pytest.mark.parametrize("args, message", [
    (["--algo", "sac"], "Invalid value for '--algo': 'sac' is not one of"),
    (["--timesteps", "lots"], "Invalid value for '--timesteps': 'lots' is not a valid integer"),
    (["--timesteps", "0"], "Invalid value for '--timesteps': 0 is not in the range 1<="),
    (["--seed", "-3"], "Invalid value for '--seed': -3 is not in the range 0<="),
])
def test_train_bad_input_is_one_line_and_exit_2(fast_slow, capsys, args, message):
    assert main(["train", str(fast_slow), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_train_unknown_scenario_exits_2(capsys):
    assert main(["train", "no_such_scenario"]) == 2
    assert "no such file or scenario" in capsys.readouterr().err


def test_unknown_config_field_is_a_config_error(fast_slow):
    with pytest.raises(TrainingConfigError, match="unknown field"):
        resolve_config(load_scenario(fast_slow), overrides={"warm_start": {"epoch": 3}})


def test_elapsed_time_gae_equals_constant_gamma_gae_when_steps_are_even():
    """With every step taking the same time, the per-step discount is a constant gamma
    and the elapsed-time buffer must reproduce SB3's own GAE exactly."""
    from gymnasium import spaces
    from sb3_contrib.common.maskable.buffers import MaskableRolloutBuffer

    half_life, minutes = 30.0, 2.0
    gamma = float(step_discount(minutes, half_life))
    kwargs = dict(buffer_size=16, observation_space=spaces.Box(-1, 1, (3,), np.float32),
                  action_space=spaces.Discrete(3), gamma=gamma, gae_lambda=0.9, n_envs=2)
    plain = MaskableRolloutBuffer(**kwargs)
    timed = TimedMaskableRolloutBuffer(**kwargs, half_life_minutes=half_life)
    rng = np.random.default_rng(0)
    for step in range(16):
        args = (rng.normal(size=(2, 3)).astype(np.float32), rng.integers(0, 3, (2, 1)),
                rng.normal(size=2), np.array([step == 0, step == 9], dtype=float),
                th.as_tensor(rng.normal(size=2)), th.as_tensor(rng.normal(size=2)))
        plain.add(*args)
        timed.elapsed[timed.pos] = minutes
        timed.add(*args)
    last, dones = th.as_tensor([0.3, -0.2]), np.array([False, True])
    plain.compute_returns_and_advantage(last, dones)
    timed.compute_returns_and_advantage(last, dones)
    np.testing.assert_allclose(timed.advantages, plain.advantages, rtol=1e-5, atol=1e-6)  # float32
    # And uneven steps discount differently: a long step weighs the future less.
    timed.elapsed[:] = minutes
    timed.elapsed[5] = 60.0
    timed.compute_returns_and_advantage(last, dones)
    assert not np.allclose(timed.advantages[:6], plain.advantages[:6])
    np.testing.assert_allclose(timed.advantages[6:], plain.advantages[6:], rtol=1e-5, atol=1e-6)


def test_training_wrappers_end_the_day_and_cache_masks(fast_slow):
    scenario = load_scenario(fast_slow)
    env = DayEndIsTerminal(SupportQueueEnv(scenario))
    env.reset(seed=0)
    while True:
        _, _, terminated, truncated, _ = env.step(env.unwrapped.pairs[0])
        if terminated:
            break
    assert not truncated
    from stable_baselines3.common.vec_env import DummyVecEnv

    makers = [env_factory(scenario, fallback=None, reward_scale=1.0) for _ in range(2)]
    venv = VecMaskCache(DummyVecEnv(makers))
    venv.seed(3)
    venv.reset()
    rng = np.random.default_rng(1)
    for _ in range(300):
        cached = np.stack(venv.env_method("action_masks"))
        direct = np.stack(venv.venv.env_method("action_masks"))
        np.testing.assert_array_equal(cached, direct)
        venv.step(np.array([rng.choice(np.flatnonzero(m)) for m in direct]))



def test_the_tuned_teacher_finds_trunk_reservation():
    """keep_free's optimum keeps one agent free of routine work (exact: 132 per hour
    against 277 for every non-idling heuristic); the teacher's search must find it
    on three 40-hour training days, and lower the cost by more than a third."""
    from agents.index.rule import IndexRule
    from agents.index.tune import cmu_weights, tune_index
    from sim.metrics import summary_rows, ticket_table
    from sim.seeds import training_days

    base = load_scenario("keep_free")
    scenario = base.model_copy(update={"horizon_hours": 40.0})
    tuned = tune_index(scenario, training_days(0, 3), reservations=True)
    routine_desk = scenario.type_names.index("routine") * len(scenario.agent_groups)
    assert tuned.keep_free is not None and tuned.keep_free[routine_desk] == 1
    assert tuned.reserve is None or not any(tuned.reserve)

    def cost(policy):
        model = SupportModel(scenario, 7).run(policy)
        return summary_rows(model, ticket_table(model), "x").iloc[-1]["cost_per_hour"]

    assert cost(IndexRule(tuned.weights, tuned.reserve, tuned.keep_free)) < (
        2 / 3 * cost(IndexRule(cmu_weights(scenario))))


def test_long_days_count_as_several_in_every_stage_of_training() -> None:
    from agents.rl.config import LONG_DAY_HOURS, fit_to_day_length

    shipped = resolve_config(load_scenario("keep_free"))  # a 200-hour day: as configured
    assert load_scenario("keep_free").horizon_hours == LONG_DAY_HOURS
    assert fit_to_day_length(shipped, LONG_DAY_HOURS) == shipped
    long_day = load_scenario("n_model").model_copy(update={"horizon_hours": 2000.0})
    config = resolve_config(long_day)  # a day of 2,000 h is ten of 200 h
    default = resolve_config(load_scenario("n_model"))
    assert (default.warm_start.tune_days, config.warm_start.tune_days) == (10, 1)
    assert (default.warm_start.days, config.warm_start.days) == (3, 1)
    assert (default.evaluation.days, config.evaluation.days) == (4, 2)  # a paired test needs 2
    assert (default.improve.days, config.improve.days) == (1, 1)
    assert (default.improve.eval_days, config.improve.eval_days) == (30, 10)  # judged on >= 10
    assert (default.improve.select_days, config.improve.select_days) == (30, 3)  # ceil(30 / 10)
    twice = fit_to_day_length(default, 2 * LONG_DAY_HOURS)  # ceil(n / 2)
    assert (twice.warm_start.tune_days, twice.warm_start.days, twice.improve.eval_days) == (5, 2, 15)


def test_refitting_a_runs_labels_with_a_huge_margin_routes_as_the_teacher(trained_by_the_command,
                                                                         fast_slow):
    # A margin of 20 spreads is beyond any predicted gain: the refitted network
    # never leaves the teacher, so on the same days it costs exactly the same.
    from experiments.refit import refit

    (record,) = refit(trained_by_the_command, [20.0], rows=None, days=2, first_day=1200,
                      seed=0, workers=1, scenario_path=str(fast_slow))
    assert record["leaves_teacher"] == 0.0
    assert record["cost_per_hour"] == record["teacher_cost_per_hour"] > 0
    assert record["diff"] == 0.0
