"""Common random numbers: one seed is one day, whatever the policy.

Same seed -> identical output files; different policies -> the same arrivals,
work contents, patience and transfer draws; different seeds -> different days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.runs import simulate_run
from sim.scenario import load_scenario

SCENARIO = "fintech_day"  # patience, transfers, shifts, a surge and an absence
POLICIES = ("fifo", "cmu", "random")


@pytest.fixture(scope="module")
def runs() -> dict[str, pd.DataFrame]:
    scenario = load_scenario(SCENARIO)
    return {policy: simulate_run(scenario, policy, seed=3).tickets for policy in POLICIES}


def _externals(tickets: pd.DataFrame) -> pd.DataFrame:
    """Tickets from outside (not transfers), in a policy-free order."""
    outside = tickets[tickets["transfer_depth"] == 0]
    return outside.sort_values(["ticket_type", "arrival_min"], kind="stable").reset_index(drop=True)


def test_same_seed_writes_identical_files(tmp_path):
    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        # random uses the policy's own stream, so this also checks that it is seeded.
        status = main(["simulate", SCENARIO, "--policy", "random", "--seeds", "2",
                       "--out", str(out), "--quiet"])
        assert status == 0
        outputs.append(out)
    first, second = outputs
    for name in ("summary.csv", "agents.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    tickets = pd.read_parquet(first / "tickets.parquet")
    assert len(tickets) > 4000 and set(tickets["seed"]) == {0, 1}
    pd.testing.assert_frame_equal(tickets, pd.read_parquet(second / "tickets.parquet"),
                                  check_exact=True)
    assert (first / "tickets.parquet").read_bytes() == (second / "tickets.parquet").read_bytes()


def test_policies_see_the_same_arrivals_and_work(runs):
    reference = _externals(runs["fifo"])
    assert len(reference) > 2000
    for policy in POLICIES[1:]:
        other = _externals(runs[policy])
        for column in ("ticket_type", "arrival_min", "work_min", "counted"):
            assert other[column].equals(reference[column]), (policy, column)
    # The policies did route differently, or this test would prove nothing.
    starts = {p: _externals(runs[p])["start_min"] for p in POLICIES}
    assert not starts["fifo"].equals(starts["cmu"])
    assert not starts["fifo"].equals(starts["random"])


def test_policies_see_the_same_patience(runs):
    # Patience is not in the table, but it shows: a ticket that abandons under
    # one policy abandons after the same time under another, or was answered
    # before that time.
    reference = _externals(runs["fifo"])
    abandoned = (reference["outcome"] == "abandoned").to_numpy()
    patience = (reference["end_min"] - reference["arrival_min"]).to_numpy()
    assert abandoned.sum() > 50
    for policy in POLICIES[1:]:
        other = _externals(runs[policy])
        outcome = other["outcome"].to_numpy()
        their_wait = other["wait_min"].to_numpy()
        again = abandoned & (outcome == "abandoned")
        assert again.sum() > 20
        assert np.array_equal(their_wait[again], patience[again]), policy
        answered = abandoned & (outcome == "served")
        assert (their_wait[answered] <= patience[answered]).all(), policy


def test_transfers_depend_on_the_origin_not_on_the_policy(runs):
    # A transfer's work content and its existence (given its parent was
    # served) come from its origin ticket's draws.
    def children(tickets: pd.DataFrame) -> pd.DataFrame:
        origin = tickets.set_index("ticket_id").loc[tickets["origin_id"]]
        keyed = tickets.assign(origin_type=origin["ticket_type"].astype(str).to_numpy(),
                               origin_arrival=origin["arrival_min"].to_numpy())
        return keyed[keyed["transfer_depth"] > 0].set_index(
            ["origin_type", "origin_arrival", "transfer_depth"])

    reference = children(runs["fifo"])
    assert len(reference) > 20
    for policy in POLICIES[1:]:
        other = children(runs[policy])
        both = reference.index.intersection(other.index)
        assert len(both) > 0.8 * min(len(reference), len(other))
        pd.testing.assert_series_equal(reference.loc[both, "work_min"], other.loc[both, "work_min"],
                                       check_exact=True)
        assert reference.loc[both, "ticket_type"].astype(str).equals(
            other.loc[both, "ticket_type"].astype(str))


def test_different_seeds_give_different_days():
    scenario = load_scenario(SCENARIO)
    one, two = (_externals(simulate_run(scenario, "fifo", seed).tickets) for seed in (0, 1))
    assert len(one) != len(two) or not one["arrival_min"].equals(two["arrival_min"])
    count = min(len(one), len(two))
    assert not np.allclose(one["work_min"][:count], two["work_min"][:count])
