"""Policies by name: heuristics, `index:PATH`, `model:PATH`, `table:PATH`, `optimal`
and `rollout:BASE`.

The heavy kinds are imported only when named, so simulating a heuristic never
imports torch.
"""

from __future__ import annotations

import difflib

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.specs import policy_label  # noqa: F401 - part of the registry's interface
from sim.decision import Policy
from sim.scenario import Scenario

SPECIAL = ("optimal", "index:PATH", "model:PATH", "table:PATH", "rollout:BASE")


def policy_names() -> list[str]:
    return [*HEURISTICS, *SPECIAL]


def make_policy(spec: str, scenario: Scenario, *, force: bool = False) -> Policy:
    """Build the policy a name or `kind:PATH` spec stands for, for one scenario."""
    if spec in HEURISTICS:
        return HEURISTICS[spec]()
    kind, _, path = spec.partition(":")
    if kind == "model" and path:
        from agents.rl.model_policy import load_model_policy

        return load_model_policy(path, scenario, force=force)
    if kind == "index" and path:
        from agents.index.rule import load_index_rule

        return load_index_rule(path, scenario, force=force)
    if kind == "table" and path:
        from agents.tables.document import load_table_policy

        return load_table_policy(path, scenario, force=force)
    if kind == "rollout" and path:
        from agents.rollout import RolloutPolicy, parse_rollout

        base, options = parse_rollout(path)
        make_policy(base, scenario, force=force)  # a bad base fails here, once
        return RolloutPolicy(lambda: make_policy(base, scenario, force=force),
                             forks=int(options.get("forks", 4)),
                             horizon_minutes=options.get("horizon", 60.0),
                             hold=bool(options.get("hold", 1)), seed=int(options.get("seed", 0)),
                             z=options.get("z", 0.0), confirm=int(options.get("confirm", 0)),
                             name=spec)
    if spec == "optimal":
        from agents.exact.policy import optimal_policy

        return optimal_policy(scenario)
    close = difflib.get_close_matches(spec, [*HEURISTICS, "optimal"], n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    known = ", ".join(policy_names())
    raise PolicyError(f"--policy: unknown policy {spec!r}{hint} (known: {known})")
