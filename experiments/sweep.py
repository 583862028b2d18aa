"""`routelab sweep CONFIG.yaml`: a declared grid of simulations and training runs.

The YAML names scenarios x policies x seeds to simulate, and optionally
training runs over a grid of hyperparameter values. Training runs first;
each trained model then joins the comparison as `model:PATH` on the same
seeds as the heuristics (common random numbers). Everything runs on the
benchmark's runner, so a rerun resumes. See experiments/sweeps/example.yaml.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from experiments.benchmark import (
    finish,
    load_scenarios,
    parse_policies,
    run_simulation,
    runner_manifest,
    simulation_jobs,
)
from experiments.errors import UserError
from experiments.io import write_csv
from experiments.paths import inside, output_folder, safe_name
from experiments.runner import BACKENDS, Job, Outcome, Runner, load_record
from sim.scenario import Scenario
from sim.scenario_files import read_document
from sim.seeds import MAX_EVALUATION_SEEDS, TRAIN_SEED_CEILING


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrainingGrid(_Strict):
    scenarios: tuple[str, ...] | None = None  # default: the sweep's scenarios
    algo: tuple[str, ...] = ("maskable_ppo",)
    timesteps: int = Field(default=200_000, gt=0)
    seeds: tuple[StrictInt, ...] = (0,)
    hyperparams: dict[str, tuple[Any, ...]] = Field(default_factory=dict)

    @field_validator("algo", "seeds", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int) else value

    @field_validator("seeds", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        if isinstance(value, list) and not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ValueError("expected a seed or a list of seeds (whole numbers)")
        return value

    @field_validator("seeds", mode="after")
    @classmethod
    def _run_seeds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _distinct_seeds(value, 0, TRAIN_SEED_CEILING, "a training run's seed")

    @field_validator("hyperparams", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: v if isinstance(v, list) else [v] for k, v in value.items()}

    def runs(self) -> list[tuple[str, int, dict[str, Any]]]:
        """(algo, seed, hyperparameters) of every training run in the grid."""
        names = list(self.hyperparams)
        combos = itertools.product(*(self.hyperparams[n] for n in names))
        values = [dict(zip(names, c, strict=True)) for c in combos]
        return [(a, s, v) for a in self.algo for v in values for s in self.seeds]


class SweepConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    out: str | None = None
    backend: str = "local"
    address: str | None = None
    workers: int | None = Field(default=None, ge=1)
    scenarios: tuple[str, ...] = Field(min_length=1)
    policies: tuple[str, ...] | None = None  # default: every heuristic
    seeds: StrictInt | tuple[StrictInt, ...] = 10
    train: TrainingGrid | None = None

    @field_validator("seeds", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        values = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError("expected a number of seeds N (seeds 0..N-1) or a list of seeds")
        return value

    @field_validator("seeds")
    @classmethod
    def _evaluation_seeds(cls, value: int | tuple[int, ...]) -> int | tuple[int, ...]:
        if isinstance(value, int):
            if not 1 <= value <= MAX_EVALUATION_SEEDS:
                raise ValueError(f"must be 1..{MAX_EVALUATION_SEEDS} (seeds 0..N-1), got {value}")
            return value
        return _distinct_seeds(value, 0, MAX_EVALUATION_SEEDS - 1, "an evaluation seed")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r} (known: {', '.join(BACKENDS)})")
        return value

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


def _distinct_seeds(seeds: tuple[int, ...], low: int, high: int, what: str) -> tuple[int, ...]:
    if not seeds:
        raise ValueError("give at least one seed")
    for seed in seeds:
        if not low <= seed <= high:
            raise ValueError(f"{what} is {low}..{high}, got {seed}")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"seed {repeated[0]} given twice")
    return seeds


def load_config(path: Path) -> SweepConfig:
    """Read and validate a sweep file; anything wrong is one line naming file and field."""
    data = read_document(path)  # the scenarios' strict YAML: unique keys, bounded size and depth
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of sweep fields")
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        message = "required" if first["type"] == "missing" else first["msg"]
        raise UserError(f"{path}: {where}: {message.removeprefix('Value error, ')}") from None
    return config


# -- training jobs ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingJob:
    scenario: Scenario
    algo: str
    timesteps: int
    seed: int
    hyperparams: tuple[tuple[str, Any], ...]
    out: str  # the run's folder; the model lands in it


def training_tag(algo: str, seed: int, hyperparams: dict[str, Any]) -> str:
    """The run's folder name, e.g. `maskable_ppo-learning_rate0.0003-s0` (a safe file name)."""
    values = "-".join(f"{k.split('.')[-1]}{v}" for k, v in hyperparams.items())
    return safe_name("-".join(p for p in (algo, values, f"s{seed}") if p))


def training_jobs(config: SweepConfig, scenarios: list[Scenario], out: Path) -> list[Job]:
    if config.train is None:
        return []
    named = config.train.scenarios
    chosen = load_scenarios(list(named)) if named else scenarios
    jobs = []
    for scenario in chosen:
        for algo, seed, values in config.train.runs():
            tag = training_tag(algo, seed, values)
            folder = inside(out, out / "models" / safe_name(scenario.name) / tag, what="out")
            payload = TrainingJob(scenario, algo, config.train.timesteps, seed,
                                  tuple(values.items()), str(folder))
            fingerprint = json.dumps([scenario.sha256()[:16], algo, config.train.timesteps, seed,
                                      values], default=str)
            jobs.append(Job(f"train/{scenario.name}/{tag}", payload, fingerprint))
    return jobs


def run_training(job: TrainingJob) -> dict[str, Any]:
    """Train one policy (agents/rl/training.py); returns the model's path."""
    from agents.rl.config import resolve_config
    from agents.rl.training import train

    out = Path(job.out)
    hyperparams = dict(job.hyperparams)
    config = resolve_config(job.scenario, job.algo, timesteps=job.timesteps, seed=job.seed,
                            overrides=nested(hyperparams))
    train(job.scenario, config, out, log=_silent)
    model = out / "model.zip"
    if not model.is_file():
        raise RuntimeError(f"training wrote no model.zip under {out}")
    return {"model": str(model), "algo": job.algo, "seed": job.seed, "hyperparams": hyperparams}


def check_training(jobs: list[Job], source: Path) -> None:
    """Bad hyperparameters are the user's to fix: one line, before any job runs."""
    if not jobs:
        return
    try:
        from agents.rl.config import resolve_config
    except ImportError as error:
        raise UserError(f"{source}: train: training needs the rl extra "
                        f"(pip install 'routelab[rl]'): {error}") from None
    for job in jobs:
        run: TrainingJob = job.payload
        try:
            resolve_config(run.scenario, run.algo, timesteps=run.timesteps, seed=run.seed,
                           overrides=nested(dict(run.hyperparams)))
        except ValueError as error:
            raise UserError(f"{source}: train: {error}") from None


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """{"algo_kwargs.learning_rate": 1e-3} -> {"algo_kwargs": {"learning_rate": 1e-3}}."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _silent(*_args: Any, **_kwargs: Any) -> None:
    """Training's log lines would garble the progress bar of a grid."""


# -- the command ------------------------------------------------------------------------


def run(config_path: Path, quiet: bool) -> None:
    """The work of `routelab sweep`; its options and help: experiments/commands/sweep.py."""
    config = load_config(config_path)
    scenarios = load_scenarios(list(config.scenarios))
    policies = ",".join(config.policies) if config.policies else None
    specs = parse_policies(policies, scenarios, option=f"{config_path}: policies")
    out = Path(config.out) if config.out else Path("results/runs/sweep") / config.name
    trainings = training_jobs(config, scenarios, out)
    _check_distinct(trainings, config_path)
    check_training(trainings, config_path)
    with output_folder(out):
        _run_grid(config, config_path, scenarios, specs, trainings, out, quiet)


def _run_grid(config: SweepConfig, config_path: Path, scenarios: list[Scenario], specs: list[str],
              trainings: list[Job], out: Path, quiet: bool) -> None:
    runner = Runner(out / "jobs", backend=config.backend, workers=config.workers,
                    address=config.address, progress=not quiet, description=config.name)
    trained = runner.run(trainings, run_training) if trainings else Outcome()
    models = _trained_models(out / "jobs", trainings)
    seeds = config.seed_list()
    jobs = simulation_jobs(scenarios, specs, seeds)
    for scenario, model in models:
        jobs += simulation_jobs([scenario], [f"model:{model}"], seeds)
    _check_distinct(jobs, config_path)
    simulated = runner.run(jobs, run_simulation)
    _write_training_table(out, trainings, trained)
    outcome = Outcome(ran=trained.ran + simulated.ran, skipped=trained.skipped + simulated.skipped,
                      failed=trained.failed + simulated.failed,
                      wall_seconds=trained.wall_seconds + simulated.wall_seconds,
                      job_seconds=trained.job_seconds + simulated.job_seconds,
                      startup_seconds=trained.startup_seconds + simulated.startup_seconds)
    manifest = {"command": "sweep", "config": str(config_path),
                "scenarios": {s.name: s.sha256() for s in scenarios}, "policies": specs,
                "models": [str(m) for _, m in models], "seeds": seeds,
                **runner_manifest(config.backend, config.workers, config.address)}
    finish(out, out / "jobs", jobs, scenarios, outcome, manifest, quiet)


def _check_distinct(jobs: list[Job], source: Path) -> None:
    """A grid that names one run twice (a value listed twice) is the user's to fix."""
    seen: set[str] = set()
    for job in jobs:
        if job.key in seen:
            raise UserError(f"{source}: the grid names the run {job.key} twice "
                            "(a value listed twice?)")
        seen.add(job.key)


def _trained_models(jobs_dir: Path, trainings: list[Job]) -> list[tuple[Scenario, str]]:
    models = []
    for job in trainings:
        model = _model_of(load_record(jobs_dir, job))
        if model is not None and Path(model).is_file():
            models.append((job.payload.scenario, model))
    return models


def _model_of(record: dict[str, Any] | None) -> str | None:
    result = record.get("result") if record is not None else None
    model = result.get("model") if isinstance(result, dict) else None
    return model if isinstance(model, str) else None


def _write_training_table(out: Path, trainings: list[Job], outcome: Outcome) -> None:
    if not trainings:
        return
    import pandas as pd

    errors = {f.key: f.error for f in outcome.failed}
    rows = []
    for job in trainings:
        run: TrainingJob = job.payload
        model = _model_of(load_record(out / "jobs", job))
        rows.append({"scenario": run.scenario.name, "algo": run.algo, "timesteps": run.timesteps,
                     "seed": run.seed, "hyperparams": json.dumps(dict(run.hyperparams)),
                     "status": "done" if model else "failed", "model": model or "",
                     "error": errors.get(job.key, "")})
    write_csv(pd.DataFrame(rows), out / "training.csv")
