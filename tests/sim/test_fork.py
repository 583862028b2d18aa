"""Forks: a copy of a running day whose future is drawn afresh from its own seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents.heuristics import Fifo
from sim.metrics import ticket_table
from sim.model import SERVED, SERVING, SupportModel
from sim.scenario import load_scenario
from tests.conftest import make_scenario

MIDDAY = 720.0


def advance_to(model: SupportModel, minute: float) -> list[int] | None:
    """Drive the model under FIFO to its first decision at or after `minute` (left pending)."""
    policy = Fifo()
    policy.reset(model, model.policy_rng)
    while (pairs := model.next_decision()) is not None and model.now < minute:
        model.apply(pairs[0] if len(pairs) == 1 else policy.decide(model, pairs))
    return pairs


def finish(model: SupportModel) -> pd.DataFrame:
    return ticket_table(model.run(Fifo()))


@pytest.fixture(scope="module")
def fintech():
    return load_scenario("fintech_day")


def test_a_fork_starts_where_its_parent_stands(fintech):
    parent = SupportModel(fintech, 3, track_cost=True)
    assert advance_to(parent, MIDDAY) is not None
    fork = parent.fork(11)
    assert fork.now == parent.now >= MIDDAY
    for name in ("queue_length", "busy", "on_shift", "decisions"):
        assert getattr(fork, name) == getattr(parent, name), name
    assert [fork.head_wait(t) for t in range(fork.n_types)] == [
        parent.head_wait(t) for t in range(parent.n_types)]
    assert [fork.idle_agents(g) for g in range(fork.n_groups)] == [
        parent.idle_agents(g) for g in range(parent.n_groups)]
    assert fork.accrued_cost() == parent.accrued_cost() > 0
    pd.testing.assert_frame_equal(ticket_table(fork), ticket_table(parent))
    # The pending decision comes back to the fork too.
    assert fork.next_decision() == parent.next_decision()


def test_a_fork_agrees_on_the_past_and_draws_a_new_future(fintech):
    parent = SupportModel(fintech, 3)
    advance_to(parent, MIDDAY)
    at_fork = ticket_table(parent)
    fork = parent.fork(11)
    mine, theirs = finish(parent), finish(fork)
    # Tickets over before the fork are the same rows; those in service keep their finish.
    done = at_fork["outcome"].cat.codes.to_numpy() >= SERVED
    pd.testing.assert_frame_equal(theirs[:len(at_fork)][done], mine[:len(at_fork)][done])
    serving = at_fork["outcome"].cat.codes.to_numpy() == SERVING
    assert serving.sum() > 0
    np.testing.assert_array_equal(theirs["end_min"][:len(at_fork)][serving],
                                  mine["end_min"][:len(at_fork)][serving])
    # Later arrivals from outside differ: only the one of each type already scheduled is
    # shared (a transfer out of a ticket in service may be shared too: its draw was made).
    later = [set(t.loc[t["transfer_depth"] == 0, "arrival_min"]) for t in
             (mine[len(at_fork):], theirs[len(at_fork):])]
    assert len(later[0]) > 1000 and len(later[1]) > 1000
    assert len(later[0] & later[1]) <= len(fintech.type_names)


def test_forks_with_one_seed_agree_and_leave_their_parent_alone(fintech):
    parent = SupportModel(fintech, 4)
    advance_to(parent, MIDDAY)
    one, same, other = parent.fork(7), parent.fork(7), parent.fork(8)
    first = finish(one)
    pd.testing.assert_frame_equal(finish(same), first)
    assert not finish(other)["arrival_min"].equals(first["arrival_min"])
    # The parent goes on as if it had never been forked.
    pd.testing.assert_frame_equal(finish(parent), finish(SupportModel(fintech, 4)))


def test_a_fork_after_the_last_arrival_sees_no_new_one():
    scenario = make_scenario(horizon_hours=1, ticket_types={
        "a": {"arrivals_per_hour": 120, "handle_minutes": {"dist": "exponential", "mean": 5}}},
        agent_groups={"g": {"agents": 2, "skills": {"a": 1.0}}})
    parent = SupportModel(scenario, 0)
    advance_to(parent, 60.0)
    assert parent.now >= 60.0
    arrived = len(parent.tickets)
    fork = parent.fork(1)
    tickets = finish(fork)
    assert len(tickets) == arrived  # arrivals had ended; the fork drains what is left
    assert (tickets["outcome"] == "served").all()
