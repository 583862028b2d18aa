"""The training configuration: agents/rl/hyperparams/<algo>.yaml, resolved once and frozen.

One block per scenario name over a `default` block, then command-line
overrides; `resolve_config` validates everything into a `TrainConfig`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from agents.errors import TrainingConfigError
from sim.scenario import Scenario

ALGOS = ("maskable_ppo", "ppo", "a2c", "dqn")
MASKED = frozenset({"maskable_ppo"})
ACTOR_CRITIC = frozenset({"maskable_ppo", "ppo", "a2c"})
ON_POLICY = ACTOR_CRITIC
HYPERPARAMS = Path(__file__).resolve().parent / "hyperparams"
SCRATCH = "scratch"
"""The block (top level, or inside a scenario's block) used only without a warm start."""
RANKED_HEURISTICS = ("fifo", "priority", "cmu", "gcmu", "lqf", "sla", "cmu_theta", "maxweight")
LONG_DAY_HOURS = 200.0
"""Counts of days are counts of days up to this long. A scenario whose day is
longer (an N-model run for 2,000 hours) uses proportionally fewer days in every
stage, and rollout improvement labels only this many hours of each day, so that
training costs about the same simulated time whatever a day's length
(`fit_to_day_length`)."""
JUDGING_DAYS_AT_LEAST = 10
"""Held-out days a round of rollout improvement is judged on, however long a day."""


@dataclass(frozen=True)
class Discount:
    mode: str = "elapsed"
    """`elapsed`: step k is discounted by 0.5 ** (minutes_k / half_life_minutes);
    `decision`: a constant gamma per decision (SB3's default)."""
    half_life_minutes: float = 60.0
    """Half-life of a future cost in simulated minutes (mode elapsed)."""
    gamma: float | str = "auto"
    """Per-decision gamma (mode decision); `auto` matches the elapsed-time discount
    at the mean time between decisions of the best heuristic."""
    average_cost: bool = False
    """Relative values (mode elapsed): every step's reward less a running average reward
    per minute times the step's minutes, so the critic learns how much better or worse
    than average a state is, not the large discounted cost of any state
    (agents/rl/discount.py)."""
    average_cost_smoothing: float = 0.3
    """Weight of each rollout's own reward per minute in the running average (1: that
    rollout's alone)."""


@dataclass(frozen=True)
class WarmStart:
    enabled: bool = True
    """Clone the best heuristic before learning (actor-critic algorithms only)."""
    days: int = 4
    """Training days of demonstrations."""
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 1e-3
    smoothing: float = 0.1
    """Probability the cloned policy spreads over the other allowed actions."""
    teacher: str = "heuristic"
    """`heuristic`: clone the best heuristic; `tuned_index`: clone an index rule (weight per
    ticket type x service rate) whose weights are tuned on training days first
    (agents/rl/teacher.py)."""
    tune_days: int = 6
    """Training days every candidate index rule is judged on (tuned_index)."""


@dataclass(frozen=True)
class Improve:
    """Rollout policy improvement distilled into the warm-started network (agents/rl/dagger.py)."""

    enabled: bool = True
    rounds: int = 2
    """At most this many rounds; they stop at the first that does not improve."""
    days: int = 4
    """Training days labelled per round (fresh each round)."""
    forks: int = 8
    """Continuations per candidate action (common random numbers across candidates)."""
    horizon_minutes: float = 60.0
    z: float = 2.0
    """The expert overrules the base only on a paired difference z standard errors below 0."""
    confirm: int = 24
    """Forks on which an overrule is tested again before it stands (`rollout:...&confirm=`):
    8 forks often miss the rare costly events a reservation insures against."""
    base: str = "teacher"
    """The rollout's base: `teacher`, or `student` (the incumbent, from round 2)."""
    eval_days: int = 100
    """Held-out days on which a new student must beat the incumbent (paired): a day
    driven by the numpy student costs ~0.2 s of CPU on fintech_day, and a 1% gain
    needs ~100 paired days to show."""
    epochs: int = 60
    batch_size: int = 256
    learning_rate: float = 1e-3
    fit: str = "both"
    """`advantage`: the actor's logits regress the rollout's advantages, the base's
    choice keeping a margin (agents/rl/fits.py `fit_advantages`); `choice`: the
    actor is fitted to the expert's choices (cross-entropy); `both`: each of them,
    the fit cheapest on `select_days` kept."""
    margins: tuple[float, ...] = (0.1, 0.15, 0.2, 0.3)
    """fit `advantage` or `both`: the margins tried, in standard deviations of the
    labelled advantages."""
    select_days: int = 30
    """Held-out days (other than the judging days) on which a fit is chosen."""
    hint: bool = True
    """The network sees the teacher's choice (sim/observation.py) from the warm start on."""


@dataclass(frozen=True)
class EvaluationDays:
    days: int = 5
    """Held-out days (model seeds 1000, 1001, ...) evaluated during training."""
    every: int = 50_000
    """Evaluate every this many env steps (all envs together)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run depends on; saved as config.yaml beside the model."""

    scenario: str
    algo: str = "maskable_ppo"
    seed: int = 0
    timesteps: int = 200_000
    """Env steps (decisions) in total, over all envs."""
    n_envs: int = 2
    vec_env: str = "subproc"
    """`subproc` (one process per env) or `dummy` (all in the learner's process)."""
    discount: Discount = field(default_factory=Discount)
    warm_start: WarmStart = field(default_factory=WarmStart)
    evaluation: EvaluationDays = field(default_factory=EvaluationDays)
    improve: Improve = field(default_factory=Improve)
    checkpoint_every: int = 100_000
    work_conserving: bool = False
    """Train on the work-conserving env: no HOLD while work is feasible, forced
    decisions carried out without a step (the learned policy then never idles)."""
    fallback: str = "best"
    """Heuristic that replaces infeasible actions: a name, `best`, or `builtin`."""
    objective: str = "cost"
    """`cost`: minimise cost per hour. `sla`: minimise it subject to every ticket type's
    sla_target: the teacher is tuned for that (agents/index/tune.py) and its prices of a
    missed ticket (Lagrange multipliers) are charged in the reward (agents/sla.py)."""
    reward_scale: float | str = "auto"
    """Multiplies the env reward; `auto` makes discounted returns about -1 under the
    best heuristic."""
    standardize_observations: bool = False
    """The network's first layer standardises each feature by its mean and spread on the
    best heuristic's demonstration days (agents/rl/scratch.py `Standardize`)."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    policy_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_hyperparameters(algo: str) -> dict[str, Any]:
    path = HYPERPARAMS / f"{algo}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TrainingConfigError(f"{path}: cannot read ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("default"), dict):
        raise TrainingConfigError(f"{path}: needs a `default:` block")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _section(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise TrainingConfigError(f"{where}: expected a mapping")
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise TrainingConfigError(
            f"{where}.{unknown[0]}: unknown field (known: {', '.join(sorted(known))})")
    return cls(**data)


def _block(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    block = data.get(name) or {}
    if not isinstance(block, dict):
        raise TrainingConfigError(f"{where}: {name}: expected a mapping")
    return block


def _layers(data: dict[str, Any], scenario: str, overrides: dict[str, Any],
            where: str) -> dict[str, Any]:
    """default, scenario and overrides; without a warm start: default, `scratch`, scenario,
    the scenario's own `scratch`, overrides (a run from scratch wants other settings)."""
    own = dict(_block(data, scenario, where))
    own_scratch = _block(own, SCRATCH, f"{where}: {scenario}")
    own.pop(SCRATCH, None)
    merged = _merge(_merge(data["default"], own), overrides)
    if _warm_start_enabled(merged):
        return merged
    layers = (_block(data, SCRATCH, where), own, own_scratch, overrides)
    merged = data["default"]
    for layer in layers:
        merged = _merge(merged, layer)
    return merged


def _warm_start_enabled(merged: dict[str, Any]) -> bool:
    warm_start = merged.get("warm_start")
    enabled = warm_start.get("enabled", True) if isinstance(warm_start, dict) else True
    return enabled is not False


def resolve_config(scenario: Scenario, algo: str = "maskable_ppo", *,
                   timesteps: int | None = None, seed: int | None = None,
                   overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The configuration for a scenario: default block, scenario block, then overrides;
    with the warm start disabled, the `scratch` blocks too (see `_layers`)."""
    if algo not in ALGOS:
        raise TrainingConfigError(f"--algo: unknown algorithm {algo!r} (known: {', '.join(ALGOS)})")
    data = load_hyperparameters(algo)
    where = f"{HYPERPARAMS / (algo + '.yaml')}"
    merged = _layers(data, scenario.name, overrides or {}, where)
    if timesteps is not None:
        merged["timesteps"] = timesteps
    if seed is not None:
        merged["seed"] = seed
    known = set(TrainConfig.__dataclass_fields__) - {"scenario", "algo"}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise TrainingConfigError(f"{where}: {unknown[0]}: unknown field")
    config = TrainConfig(
        scenario=scenario.name, algo=algo,
        discount=_section(Discount, merged.pop("discount", None), f"{where}: discount"),
        warm_start=_section(WarmStart, merged.pop("warm_start", None), f"{where}: warm_start"),
        evaluation=_section(EvaluationDays, merged.pop("evaluation", None), f"{where}: evaluation"),
        improve=_section(Improve, merged.pop("improve", None), f"{where}: improve"),
        **merged)
    _validate(config)
    return fit_to_day_length(config, scenario.horizon_hours)


def fit_to_day_length(config: TrainConfig, horizon_hours: float) -> TrainConfig:
    """`config` with its counts of days cut for days longer than LONG_DAY_HOURS.

    A day of H > LONG_DAY_HOURS hours counts as H / LONG_DAY_HOURS days: every
    count n becomes ceil(n * LONG_DAY_HOURS / H), at least one day (at least
    JUDGING_DAYS_AT_LEAST to judge a round of rollout improvement, for the
    paired interval; at least two to choose its fit; at least two evaluation
    days, for the kept-model test of
    agents/rl/callbacks.py) and never more than n. Days up to LONG_DAY_HOURS long, as
    on every shipped scenario, leave the configuration as it is.
    """
    if horizon_hours <= LONG_DAY_HOURS:
        return config
    share = LONG_DAY_HOURS / horizon_hours

    def fewer(days: int, least: int = 1) -> int:
        return min(days, max(least, math.ceil(days * share)))

    ws, ev, im = config.warm_start, config.evaluation, config.improve
    return replace(
        config,
        warm_start=replace(ws, days=fewer(ws.days), tune_days=fewer(ws.tune_days)),
        evaluation=replace(ev, days=fewer(ev.days, 2)),
        improve=replace(im, days=fewer(im.days), select_days=fewer(im.select_days, 2),
                        eval_days=fewer(im.eval_days, JUDGING_DAYS_AT_LEAST)))


def _validate(config: TrainConfig) -> None:
    if not isinstance(config.timesteps, int) or config.timesteps <= 0:
        raise TrainingConfigError(
            f"--timesteps: must be a positive whole number, got {config.timesteps!r}")
    if not isinstance(config.seed, int) or config.seed < 0:
        raise TrainingConfigError(f"--seed: must be a whole number >= 0, got {config.seed!r}")
    if config.n_envs < 1:
        raise TrainingConfigError(f"n_envs: must be >= 1, got {config.n_envs}")
    if config.vec_env not in ("subproc", "dummy"):
        raise TrainingConfigError(f"vec_env: subproc or dummy, got {config.vec_env!r}")
    if config.discount.mode not in ("elapsed", "decision"):
        raise TrainingConfigError(
            f"discount.mode: elapsed or decision, got {config.discount.mode!r}")
    if config.discount.mode == "elapsed" and config.algo not in ON_POLICY:
        raise TrainingConfigError(f"discount.mode: {config.algo} supports only `decision`")
    if config.discount.average_cost and config.discount.mode != "elapsed":
        raise TrainingConfigError("discount.average_cost: needs discount.mode elapsed")
    if not 0 < config.discount.average_cost_smoothing <= 1:
        raise TrainingConfigError("discount.average_cost_smoothing: must be in (0, 1], got "
                                  f"{config.discount.average_cost_smoothing!r}")
    from agents.heuristics import HEURISTICS

    if config.warm_start.teacher not in ("heuristic", "tuned_index"):
        raise TrainingConfigError(
            f"warm_start.teacher: heuristic or tuned_index, got {config.warm_start.teacher!r}")
    improve = config.improve
    if improve.rounds < 1 or improve.days < 1 or improve.forks < 2 or improve.eval_days < 2:
        raise TrainingConfigError("improve: rounds and days must be >= 1, forks and eval_days >= 2")
    if improve.base not in ("teacher", "student") or not improve.z >= 0:
        raise TrainingConfigError("improve: base is teacher or student, z >= 0")
    if improve.confirm < 0 or (improve.confirm and not improve.z > 0):
        raise TrainingConfigError("improve.confirm: a number of forks >= 0; it needs z > 0")
    if improve.fit not in ("advantage", "choice", "both"):
        raise TrainingConfigError(f"improve.fit: advantage, choice or both, got {improve.fit!r}")
    margins = improve.margins
    if (not isinstance(margins, list | tuple) or not margins
            or not all(isinstance(m, int | float) and 0 <= m < 100 for m in margins)):
        raise TrainingConfigError(f"improve.margins: a list of numbers from 0 to 100, got "
                                  f"{margins!r}")
    if improve.select_days < 1 or not isinstance(improve.hint, bool):
        raise TrainingConfigError("improve: select_days must be >= 1, hint true or false")
    if config.objective not in ("cost", "sla"):
        raise TrainingConfigError(f"--objective: cost or sla, got {config.objective!r}")
    if config.fallback not in ("best", "builtin", *HEURISTICS):
        raise TrainingConfigError(f"fallback: unknown heuristic {config.fallback!r}")
