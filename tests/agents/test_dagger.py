"""Rollout improvement distilled (agents/rl/dagger.py, agents/rl/student.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

from sb3_contrib import MaskablePPO  # noqa: E402

from agents.heuristics import HEURISTICS  # noqa: E402
from agents.rl.fits import fit_choices  # noqa: E402
from agents.rl.model_policy import ModelPolicy  # noqa: E402
from agents.rl.student import Actor, LabelJob, Labels, StudentPolicy, label_day  # noqa: E402
from agents.rollout import choose  # noqa: E402
from sim.env import SupportQueueEnv  # noqa: E402
from sim.metrics import cost_per_hour  # noqa: E402
from sim.model import SupportModel  # noqa: E402
from sim.observation import ObservationBuilder  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def _short(name: str, hours: float):
    return load_scenario(name).model_copy(update={"horizon_hours": hours, "warmup_hours": 0})


def _model(scenario, seed: int = 0) -> MaskablePPO:
    return MaskablePPO("MlpPolicy", SupportQueueEnv(scenario), seed=seed, device="cpu",
                       policy_kwargs={"net_arch": {"pi": [32, 32], "vf": [32, 32]}})


def test_the_numpy_student_decides_exactly_as_the_sb3_model() -> None:
    scenario = _short("n_model", 6)
    model = _model(scenario)
    sb3 = SupportModel(scenario, 3).run(
        ModelPolicy(model, ObservationBuilder(scenario), masked=True, fallback=None))
    ours = SupportModel(scenario, 3).run(StudentPolicy(Actor.of(model.policy), scenario))
    assert sb3.decisions == ours.decisions > 100
    assert cost_per_hour(sb3) == cost_per_hour(ours)


def test_a_clear_paired_difference_overrules_the_base_and_noise_does_not() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(100, 30, size=16)  # the forks' shared variation
    clear = np.stack([common, common - 5 + rng.normal(0, 1, 16)])  # candidate 1: 5 cheaper
    assert choose([0, 1], clear, own=0, z=2.0) == 1
    noisy = np.stack([common, common - 5 + rng.normal(0, 40, 16)])  # same mean, 40x the noise
    assert choose([0, 1], noisy, own=0, z=2.0) == 0
    assert choose([0, 1], noisy, own=0, z=0.0) == int(np.argmin(noisy.mean(axis=1)))


def test_labels_are_cost_differences_from_the_base_choice_over_the_candidates() -> None:
    scenario = _short("n_model", 3)
    job = LabelJob(scenario, 5, None, HEURISTICS["cmu"](), forks=4, horizon_minutes=20.0,
                   seed=1, work_conserving=False, z=1.0)
    labels = label_day(job)
    assert len(labels) > 20
    rows = np.arange(len(labels))
    assert np.all(labels.advantage[rows, labels.own] == 0.0)
    candidates = ~np.isnan(labels.advantage)
    assert np.all(candidates.sum(axis=1) >= 2)
    assert not np.any(candidates & ~labels.masks)  # only actions the env allows
    assert np.any(labels.advantage[candidates] != 0.0)
    # The expert's choice is a candidate, and it leaves the base only for a cheaper one.
    assert np.all(candidates[rows, labels.expert])
    overruled = labels.expert != labels.own
    assert np.all(labels.advantage[rows[overruled], labels.expert[overruled]] < 0)


def test_only_the_first_hours_of_a_long_day_are_labelled() -> None:
    scenario = _short("n_model", 4)
    whole = label_day(LabelJob(scenario, 5, None, HEURISTICS["cmu"](), forks=2,
                               horizon_minutes=10.0, seed=1, work_conserving=False))
    first = label_day(LabelJob(scenario, 5, None, HEURISTICS["cmu"](), forks=2,
                               horizon_minutes=10.0, seed=1, work_conserving=False, hours=1.0))
    time_left = ObservationBuilder(scenario).names.index("time_left")
    # time_left is (horizon - now) / horizon: 4 h, so the first hour is >= 0.75.
    assert first.obs[:, time_left].min() >= 0.75 - 1e-6
    assert whole.obs[:, time_left].min() < 0.5
    # The first hour's labels are the whole day's first labels, unchanged.
    assert 10 < len(first) < len(whole) / 2
    np.testing.assert_array_equal(first.obs, whole.obs[:len(first)])
    np.testing.assert_array_equal(first.expert, whole.expert[:len(first)])


def test_the_fit_learns_where_the_expert_overrules_despite_label_noise() -> None:
    # The expert takes action 1 over the base's action 0 exactly where feature 0 is
    # below 0.5, and one label in five is flipped at random; 4,000 states leave
    # ~1,200 clean-majority labels on each side of the boundary, so the fitted
    # network must follow the majority wherever the feature is 0.1 or more away.
    scenario = _short("n_model", 1)
    model = _model(scenario)
    n_features = model.observation_space.shape[0]
    rng = np.random.default_rng(0)
    n = 4000
    obs = rng.uniform(0, 1, size=(n, n_features)).astype(np.float32)
    truth = (obs[:, 0] < 0.5).astype(np.int64)
    expert = np.where(rng.random(n) < 0.2, 1 - truth, truth)
    masks = np.zeros((n, 5), bool)
    masks[:, :2] = True
    advantage = np.full((n, 5), np.nan)
    advantage[:, :2] = 0.0
    labels = Labels(obs, masks, np.zeros(n, np.int64), expert, advantage)
    report = fit_choices(model.policy, labels, epochs=20, batch_size=256, learning_rate=1e-3)
    actor = Actor.of(model.policy)
    chosen = np.array([np.argmax(actor.logits(o)[:2]) for o in obs])
    far = np.abs(obs[:, 0] - 0.5) > 0.1
    assert np.mean(chosen[far] == truth[far]) > 0.95
    assert report["kept_epoch"] >= 1


def test_a_round_keeps_the_new_student_only_if_it_is_cheaper_on_the_held_out_days(
        tmp_path) -> None:
    from agents.rl.dagger import ImproveSettings, _judge, improve

    scenario = _short("n_model", 4)
    model = _model(scenario)
    teacher = HEURISTICS["cmu"]()
    settings = ImproveSettings(rounds=1, days=1, forks=4, horizon_minutes=20.0, z=1.0,
                               base="teacher", eval_days=3, epochs=2, batch_size=64,
                               learning_rate=1e-3, workers=1, seed=0, work_conserving=False)
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    (record,) = improve(model, scenario, teacher, settings, log=lambda _: None,
                        labels_file=tmp_path / "labels.npz")
    assert record.labels > 0
    saved = np.load(tmp_path / "labels.npz")
    assert len(saved["expert"]) == record.labels and saved["obs"].shape[0] == record.labels
    from agents.parallel import Pool

    with Pool(1, 3) as pool:
        after = _judge(pool, scenario, Actor.of(model.policy), teacher, [1000, 1001, 1002],
                       settings, False)
    expected = record.cost_per_hour if record.kept else record.incumbent_cost_per_hour
    assert np.mean(after) == pytest.approx(expected, rel=1e-12)
    unchanged = all((before[k] == v).all() for k, v in model.policy.state_dict().items())
    assert unchanged != record.kept


def test_the_improvement_settings_are_checked() -> None:
    from agents.errors import TrainingConfigError
    from agents.rl.config import resolve_config

    scenario = load_scenario("fintech_day")
    config = resolve_config(scenario)
    assert config.improve.enabled and config.improve.z > 0
    with pytest.raises(TrainingConfigError, match="improve"):
        resolve_config(scenario, overrides={"improve": {"base": "oracle"}})
    with pytest.raises(TrainingConfigError, match="improve.depth"):
        resolve_config(scenario, overrides={"improve": {"depth": 2}})
    assert config.improve.confirm > 0
    with pytest.raises(TrainingConfigError, match="improve.confirm.*needs z > 0"):
        resolve_config(scenario, overrides={"improve": {"z": 0}})
    assert resolve_config(scenario, overrides={"improve": {"z": 0, "confirm": 0}}).improve.z == 0


def test_days_are_labelled_alike_in_local_processes_and_on_ray() -> None:
    pytest.importorskip("ray", reason="ray is not installed")
    from agents.parallel import Pool

    scenario = _short("n_model", 1)
    jobs = [LabelJob(scenario, day, None, HEURISTICS["cmu"](), forks=2, horizon_minutes=10.0,
                     seed=day, work_conserving=False, z=1.0) for day in (1, 2)]
    with Pool(2, len(jobs)) as pool:
        local = pool.map(label_day, jobs)
    try:
        with Pool(2, len(jobs), backend="ray") as pool:
            remote = pool.map(label_day, jobs)
    except (ConnectionError, RuntimeError) as error:  # no Ray on this machine
        pytest.skip(f"ray cannot start here: {error}")
    for a, b in zip(local, remote, strict=True):
        assert len(a) > 0
        for name in ("obs", "masks", "own", "expert"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
        assert np.array_equal(a.advantage, b.advantage, equal_nan=True)


def test_the_hint_features_are_the_teachers_choice_one_hot() -> None:
    from sim.env import decision_mask

    scenario = _short("n_model", 3)
    teacher = HEURISTICS["cmu"]()
    plain, hinted = ObservationBuilder(scenario), ObservationBuilder(scenario, teacher)
    n_actions = len(scenario.type_names) * len(scenario.group_names) + 1
    assert hinted.names[:len(plain.names)] == plain.names
    assert hinted.names[-1] == "hint.hold" and len(hinted.names) == len(plain.names) + n_actions
    model = SupportModel(scenario, 4)
    seen = set()
    while (pairs := model.next_decision()) is not None:
        obs = hinted(model, pairs)
        assert np.array_equal(obs[:len(plain.names)], plain(model))
        hint = obs[len(plain.names):]
        assert hint.sum() == 1.0 and int(np.argmax(hint)) == teacher.decide(model, pairs)
        seen.add(int(np.argmax(hint)))
        model.apply(pairs[0] if len(seen) % 2 else model.hold
                    if decision_mask(model, pairs)[-1] else pairs[-1])
    assert len(seen) >= 2  # more than one choice was hinted
    assert hinted(model, None)[len(plain.names):].sum() == 0.0  # the day is over


def test_the_advantage_fit_leaves_the_base_only_beyond_its_margin() -> None:
    # Action 1 is 3 units cheaper than the base's action 0 where feature 0 is below
    # 0.5 and 3 dearer elsewhere, each label with noise of sd 10 (a single label is
    # wrong about the sign 38% of the time). Regressing 4,000 labels pools that
    # noise: the fitted net must leave the base on >90% of the clear states
    # (feature 0 below 0.4) and on <10% of the others. With a margin of 2 spreads
    # (about 20 units, far beyond the 3 to gain) it must never leave the base.
    from agents.rl.fits import fit_advantages

    scenario = _short("n_model", 1)
    model = _model(scenario)
    start = {k: v.clone() for k, v in model.policy.state_dict().items()}
    n_features = model.observation_space.shape[0]
    rng = np.random.default_rng(0)
    n = 4000
    obs = rng.uniform(0, 1, size=(n, n_features)).astype(np.float32)
    gain = np.where(obs[:, 0] < 0.5, -3.0, 3.0)
    masks = np.zeros((n, 5), bool)
    masks[:, :2] = True
    advantage = np.full((n, 5), np.nan)
    advantage[:, 0] = 0.0
    advantage[:, 1] = gain + rng.normal(0, 10, n)
    labels = Labels(obs, masks, np.zeros(n, np.int64), np.zeros(n, np.int64), advantage)
    report = fit_advantages(model.policy, labels, margin=0.0, epochs=40, batch_size=256,
                            learning_rate=1e-3)
    actor = Actor.of(model.policy)
    leaves = np.array([np.argmax(actor.logits(o)[:2]) == 1 for o in obs])
    assert np.mean(leaves[obs[:, 0] < 0.4]) > 0.9
    assert np.mean(leaves[obs[:, 0] > 0.6]) < 0.1
    assert report["advantage_spread"] == pytest.approx(np.std(advantage[:, 1]))
    model.policy.load_state_dict(start)
    report = fit_advantages(model.policy, labels, margin=2.0, epochs=40, batch_size=256,
                            learning_rate=1e-3)
    assert report["leaves_base"] == 0.0


def test_a_hinted_round_chooses_its_fit_on_other_days_than_it_is_judged_on(tmp_path) -> None:
    from agents.rl.dagger import ImproveSettings, improve

    scenario = _short("n_model", 4)
    teacher = HEURISTICS["cmu"]()
    model = MaskablePPO("MlpPolicy", SupportQueueEnv(scenario, hint=teacher), seed=0,
                        device="cpu", policy_kwargs={"net_arch": {"pi": [32, 32], "vf": [32, 32]}})
    settings = ImproveSettings(rounds=1, days=1, forks=4, horizon_minutes=20.0, z=1.0,
                               base="teacher", eval_days=3, epochs=2, batch_size=64,
                               learning_rate=1e-3, workers=1, seed=0, work_conserving=False,
                               fit="both", margins=(0.0, 5.0), select_days=2, hint=True)
    said: list[str] = []
    (record,) = improve(model, scenario, teacher, settings, log=said.append,
                        labels_file=tmp_path / "labels.npz")
    assert [line.split(":")[0] for line in said[:4]] == [
        "  the incumbent", "  the expert's choices", "  margin 0 sd", "  margin 5 sd"]
    assert all("on 2 selection days" in line for line in said[:4])
    # The fit kept is the one cheapest on the selection days.
    costs = [float(line.rsplit(", ", 1)[1].split("/h")[0]) for line in said[1:4]]
    assert record.fit["select_cost_per_hour"] == pytest.approx(min(costs), abs=0.005)
    assert record.fit["method"] == ("choice" if np.argmin(costs) == 0 else "advantage")
    saved = np.load(tmp_path / "labels.npz")
    hint = saved["obs"][:, -(model.action_space.n):]
    assert np.all(hint.sum(axis=1) == 1.0)  # the labelled states carry the teacher's choice
    assert np.array_equal(np.argmax(hint, axis=1), saved["own"])  # ... the rollout's base
