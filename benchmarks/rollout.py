"""What a rollout costs: one fork, one look-ahead decision, and rollout:BASE against BASE.

    python -m benchmarks.rollout [--seeds 5] [--hours 24] [--spec rollout:cmu?forks=8&horizon=60]

CPU seconds (process time) on one core; the machine may be shared, so take
them as an order of magnitude. Costs per hour are paired by seed (common
random numbers) on days shortened to `--hours` (warm-up kept).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _fork_and_decision_cost(spec: str) -> None:
    from agents.heuristics import Fifo
    from agents.registry import make_policy
    from sim.model import SupportModel
    from sim.scenario import load_scenario

    scenario = load_scenario("fintech_day")
    model = SupportModel(scenario, 0)
    policy = Fifo()
    policy.reset(model, model.policy_rng)
    while (pairs := model.next_decision()) is not None and not (
            model.now >= 720 and len(pairs) > 1):
        model.apply(policy.decide(model, pairs))
    assert pairs is not None
    for blind in (False, True):
        n = 2000
        start = time.process_time()
        for seed in range(n):
            model.fork(seed, blind=blind)
        per = (time.process_time() - start) / n
        print(f"fintech_day at minute {model.now:.0f} ({model.tickets.n} tickets so far): "
              f"one {'blind ' if blind else ''}fork {per * 1e6:.0f} us")
    rollout = make_policy(spec, scenario)
    rollout.reset(model, np.random.default_rng(0))
    start = time.process_time()
    rollout.decide(model, pairs)
    spent = time.process_time() - start
    print(f"one decision of {spec} ({len(rollout.last.candidates)} candidates x "
          f"{rollout.forks} forks x {rollout.horizon_minutes:g} min): {spent * 1e3:.0f} ms")


def _paired(name: str, spec: str, base: str, seeds: int, hours: float) -> None:
    from agents.registry import make_policy
    from sim.metrics import cost_per_hour
    from sim.model import SupportModel
    from sim.scenario import load_scenario

    scenario = load_scenario(name).model_copy(update={"horizon_hours": hours})
    costs: dict[str, list[float]] = {base: [], spec: []}
    spent = 0.0
    decisions = 0
    for seed in range(seeds):
        for s in (base, spec):
            policy = make_policy(s, scenario)
            start = time.process_time()
            model = SupportModel(scenario, seed).run(policy)
            if s == spec:
                spent += time.process_time() - start
                decisions += policy.judged
            costs[s].append(cost_per_hour(model))
    diff = np.subtract(costs[spec], costs[base])
    half = 1.96 * diff.std(ddof=1) / np.sqrt(seeds) if seeds > 1 else float("nan")
    print(f"{name} ({hours:g} h days, seeds 0..{seeds - 1}): {base} {np.mean(costs[base]):.1f}/h, "
          f"{spec} {np.mean(costs[spec]):.1f}/h, paired difference {diff.mean():+.1f} "
          f"+- {half:.1f}/h; {decisions} look-ahead decisions in {spent:.1f} s CPU")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--spec", default="rollout:cmu?forks=8&horizon=60")
    parser.add_argument("--scenarios", default="n_model,keep_free")
    args = parser.parse_args(argv)
    _fork_and_decision_cost(args.spec)
    for name in args.scenarios.split(","):
        _paired(name, args.spec, args.spec.partition(":")[2].partition("?")[0], args.seeds,
                args.hours)


if __name__ == "__main__":
    main()
