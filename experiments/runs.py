"""One run = (scenario, policy, seed): simulate it and collect its tables."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from agents.registry import make_policy
from sim.metrics import agent_table, summary_rows, ticket_table
from sim.model import SupportModel
from sim.scenario import Scenario


@dataclass(frozen=True)
class RunResult:
    summary: pd.DataFrame
    tickets: pd.DataFrame
    agents: pd.DataFrame
    wall_seconds: float
    decisions: int


def simulate_run(scenario: Scenario, policy_spec: str, seed: int, *, label: str | None = None,
                 force: bool = False, keep_tickets: bool = True) -> RunResult:
    """Run one seed of one policy and measure it."""
    policy = make_policy(policy_spec, scenario, force=force)
    started = time.perf_counter()
    model = SupportModel(scenario, seed).run(policy)
    wall = time.perf_counter() - started
    tickets = ticket_table(model)
    name = label or policy_spec
    summary = summary_rows(model, tickets, name)
    agents = agent_table(model, tickets, name)
    tickets.insert(0, "seed", seed)
    return RunResult(summary, tickets if keep_tickets else tickets.iloc[:0], agents, wall,
                     model.decisions)
