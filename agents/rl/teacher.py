"""The teacher of `routelab train`: the tuned index rule, its record, and rollout improvement.

`tune_teacher` tunes the index rule on training days and writes it as
teacher.json; `improve_network` runs rounds of rollout improvement over it,
distilled into the warm-started network (agents/rl/dagger.py); the records
go into config.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.rl.config import TrainConfig
from sim.env import action_names
from sim.scenario import Scenario
from sim.seeds import training_days


def tune_teacher(scenario: Scenario, config: TrainConfig, out: Path, log, progress: bool):
    """The tuned index rule (for the objective), also written as teacher.json (index:PATH)."""
    from agents.index.rule import rule_document
    from agents.index.tune import tune_index
    from agents.progress import PlannedBar
    from sim.atomic import write_json

    days = config.warm_start.tune_days
    log(f"tuning an index rule ({config.objective}) on {days} training days ...")
    bar = PlannedBar("tuning the index rule", disable=not progress)
    try:
        tuned = tune_index(scenario, training_days(config.seed + 1, days), workers=config.n_envs,
                           reservations=not config.work_conserving, objective=config.objective,
                           progress=bar)
    finally:
        bar.close()
    write_json(rule_document(scenario, tuned.rule, tuning={
        "objective": tuned.objective, "training_days": days, "training_days_seed": config.seed,
        "cost_per_hour": round(tuned.cost_per_hour, 4), **sla_record(scenario, tuned)}),
        out / "teacher.json")
    held = "".join(f", {kind} {dict(_nonzero(scenario, values))}"
                   for kind, values in (("queue reserve", tuned.reserve),
                                        ("keep free", tuned.keep_free)) if values)
    log(f"  from {tuned.start}, {tuned.evaluations} rules tried: weights {tuned.weights}"
        f"{held}, cost/h {tuned.cost_per_hour:.1f} on those days")
    if tuned.objective == "sla":
        log(f"  targets {'met' if tuned.feasible else 'not all met'} on those days (total "
            f"shortfall {tuned.shortfall:.3f}); price of a miss per type {tuned.multipliers}")
    return tuned


def sla_record(scenario: Scenario, tuned) -> dict[str, Any]:
    if tuned is None or tuned.objective != "sla":
        return {}
    names = scenario.type_names
    return {"feasible": tuned.feasible, "shortfall": round(tuned.shortfall, 4),
            "multipliers": dict(zip(names, tuned.multipliers, strict=True)),
            "service_levels": {n: round(v, 4) for n, v in zip(names, tuned.service_levels,
                                                              strict=True)}}


def improve_network(model, scenario: Scenario, config: TrainConfig, tuned, best: str, log,
                    progress: bool, backend: str, address: str | None,
                    out: Path, hint: bool = False) -> list[dict[str, Any]]:
    """Rounds of rollout improvement over the teacher, distilled into the actor (which
    sees the teacher's choice if `hint`); the labels go to OUT/improve_labels.npz."""
    from dataclasses import asdict

    from agents.rl.dagger import ImproveSettings, improve
    from agents.rl.warmstart import make_teacher

    teacher = tuned.rule if tuned else make_teacher(best)
    im = config.improve
    settings = ImproveSettings(
        rounds=im.rounds, days=im.days, forks=im.forks, horizon_minutes=im.horizon_minutes,
        z=im.z, confirm=im.confirm, base=im.base, eval_days=im.eval_days, epochs=im.epochs,
        batch_size=im.batch_size, learning_rate=im.learning_rate, workers=config.n_envs,
        seed=config.seed, work_conserving=config.work_conserving, backend=backend,
        address=address, fit=im.fit, margins=tuple(im.margins), select_days=im.select_days,
        hint=hint)
    return [asdict(r) for r in improve(model, scenario, teacher, settings, log=log,
                                       progress=progress, labels_file=out / "improve_labels.npz")]


def teacher_record(scenario: Scenario, tuned, best: str, costs: dict[str, float],
                    eval_days: list[int]) -> dict[str, Any]:
    if tuned is None:
        return {"rule": best, "eval_days_cost_per_hour": round(costs[best], 4)}
    return {"rule": "tuned_index",
            "weights": dict(zip(scenario.type_names, tuned.weights, strict=True)),
            "queue_reserve": dict(_nonzero(scenario, tuned.reserve)),
            "keep_free": dict(_nonzero(scenario, tuned.keep_free)),
            "start": tuned.start, "tuning_cost_per_hour": round(tuned.cost_per_hour, 4),
            "rules_tried": tuned.evaluations,
            "eval_days_cost_per_hour": round(_index_cost(scenario, tuned, eval_days), 4)}


def _index_cost(scenario: Scenario, tuned, days: list[int]) -> float:
    from agents.index.tune import rule_cost

    return rule_cost(scenario, tuned.rule, days)


def _nonzero(scenario: Scenario, values: list[int] | None) -> list[tuple[str, int]]:
    """`type->group: value` for the pairs with a reservation."""
    return [(label, int(v)) for label, v in zip(action_names(scenario), values or [],
                                                strict=False) if v]


def hint_rule(config: TrainConfig, teaching: bool, tuned, best: str):
    """The rule whose choice the network sees (sim/observation.py), or None.

    Only where rollout improvement runs: the network then follows its teacher
    exactly where it learns nothing better, and the improvement fits only where
    to leave it. Without improvement (`make demo`) the observation stays as it was.
    """
    improve = config.improve
    if not (teaching and improve.enabled and improve.hint and config.objective == "cost"):
        return None
    from agents.rl.warmstart import make_teacher

    return tuned.rule if tuned is not None else make_teacher(best)


def hint_record(hint, best: str) -> str | None:
    """How config.yaml names the hint: teacher.json (beside the model), or a heuristic."""
    from agents.index.rule import IndexRule

    if hint is None:
        return None
    return "teacher.json" if isinstance(hint, IndexRule) else best

