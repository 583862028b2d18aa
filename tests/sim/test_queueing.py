"""The simulator against queueing theory: Erlang C (M/M/c) and Erlang A (M/M/c+M).

Statistical checks compare the mean over R seeded replications with the exact
value. Replications use independent random streams, so their means are i.i.d.;
each averages thousands of tickets counted after a warm-up of several
relaxation times, so it is close to normal and its start-up bias is far below
one standard error. The tolerance is 4 standard errors of the replication mean
(estimated from the R replications): with R = 40 a correct simulator falls
outside with probability about 3e-4 per comparison (Student t, 39 df). Seeds
are fixed, so the outcome is reproducible; the argument says why these seeds
are not a lucky pick. Each check also asserts that the interval is narrow
enough to reject a plausible bug (one agent more or fewer).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from experiments.runs import simulate_run
from sim.scenario import SCENARIO_DIR, Scenario, load_scenario, parse_scenario
from tests.sim.exact import ErlangA, ErlangC, erlang_b, erlang_c

REPLICATIONS = 40
STANDARD_ERRORS = 4.0


def _within(samples: np.ndarray, exact: float) -> tuple[bool, float, float]:
    """Is `exact` within 4 standard errors of the replication mean? (ok, mean, half width)."""
    mean = float(np.mean(samples))
    half = STANDARD_ERRORS * float(np.std(samples, ddof=1)) / math.sqrt(len(samples))
    return abs(mean - exact) <= half, mean, half


def _replicate(scenario: Scenario, columns: list[str], extra=None) -> dict[str, np.ndarray]:
    """Per-seed values of summary columns (the ALL row) and of `extra(tickets)`."""
    values: dict[str, list[float]] = {c: [] for c in columns}
    for seed in range(REPLICATIONS):
        run = simulate_run(scenario, "fifo", seed, keep_tickets=extra is not None)
        row = run.summary.iloc[-1]
        for column in columns:
            values[column].append(float(row[column]))
        if extra is not None:
            for name, value in extra(run.tickets[run.tickets["counted"]]).items():
                values.setdefault(name, []).append(value)
    return {name: np.array(v) for name, v in values.items()}


# -- exact values --------------------------------------------------------------


def test_erlang_c_published_worked_example():
    # 100 calls per 30 min, 3-minute handle time: a = 10 Erlangs on 14 agents.
    queue = ErlangC(servers=14, arrival_rate=100 / 30, service_rate=1 / 3)
    assert queue.load == pytest.approx(10.0)
    assert round(queue.p_wait, 4) == 0.1741
    assert round(queue.service_level(20 / 60), 4) == 0.8884
    assert round(queue.mean_wait * 60, 2) == 7.84


def test_erlang_b_and_c_small_cases_by_hand():
    # One server: B = a / (1 + a); C = a (the probability the server is busy).
    assert erlang_b(1, 0.5) == pytest.approx(0.5 / 1.5)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    # Two servers, a = 1: B = (1/2) / (1 + 1 + 1/2) = 0.2; C = 2 B / (2 - 1 + B) = 1/3.
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_erlang_a_without_abandonment_is_erlang_c():
    c_queue = ErlangC(14, 100 / 30, 1 / 3)
    a_queue = ErlangA(14, 100 / 30, 1 / 3, abandon_rate=0.0)
    assert a_queue.p_wait == pytest.approx(c_queue.p_wait, rel=1e-10)
    assert a_queue.mean_wait == pytest.approx(c_queue.mean_wait, rel=1e-10)
    for minutes in (0.1, 0.5, 2.0):
        assert a_queue.p_wait_exceeds(minutes) == pytest.approx(
            c_queue.p_wait_exceeds(minutes), rel=1e-9)
    assert a_queue.p_abandon == 0.0


def test_erlang_a_is_consistent_with_itself():
    queue = ErlangA(8, 66 / 60, 1 / 8, 1 / 10)
    assert queue.stationary.sum() == pytest.approx(1.0)
    assert queue.stationary[-1] < 1e-14  # cut in the negligible tail
    # Everyone is eventually answered or abandons; the two ways of computing
    # the abandonment share (stationary chain, one caller's chain) agree.
    assert queue.service_level(1e4) == pytest.approx(1 - queue.p_abandon, abs=1e-9)
    assert queue.p_wait_exceeds(0.0) == pytest.approx(queue.p_wait, abs=1e-12)
    # Flow balance: the work served per minute equals busy agents x mu.
    pi = queue.stationary
    busy = np.minimum(np.arange(len(pi)), queue.servers) @ pi
    served = queue.arrival_rate * (1 - queue.p_abandon)
    assert busy * queue.service_rate == pytest.approx(served, rel=1e-9)


# -- simulator against Erlang C ------------------------------------------------


def test_simulator_matches_erlang_c_on_mmc():
    scenario = load_scenario("mmc")
    spec, group = scenario.ticket_types["general"], scenario.agent_groups["agents"]
    exact = ErlangC(group.agents, spec.arrivals_per_hour / 60, 1 / spec.handle_minutes.mean)
    waits_over = (2.0, 5.0)

    def tails(tickets):
        wait = tickets["wait_min"].to_numpy()
        return {f"p_wait_over_{t:g}": float(np.mean(wait > t)) for t in waits_over}

    got = _replicate(scenario, ["mean_wait_min", "p_wait", "service_level"], tails)
    checks = {
        "mean_wait_min": exact.mean_wait,
        "p_wait": exact.p_wait,
        "service_level": exact.service_level(spec.sla_minutes),
        **{f"p_wait_over_{t:g}": exact.p_wait_exceeds(t) for t in waits_over},
    }
    _assert_within(got, checks, "Erlang C")
    # Power: one agent fewer or more moves the mean wait far out of the interval.
    _, mean, half = _within(got["mean_wait_min"], exact.mean_wait)
    for servers in (group.agents - 1, group.agents + 1):
        wrong = ErlangC(servers, exact.arrival_rate, exact.service_rate).mean_wait
        assert abs(wrong - mean) > 2 * half


def _assert_within(got: dict, checks: dict, reference: str) -> None:
    """Each simulated quantity within its replication interval of the exact value."""
    for name, value in checks.items():
        ok, mean, half = _within(got[name], value)
        assert ok, f"{name}: simulated {mean:.4f} +- {half:.4f}, {reference} {value:.4f}"


# -- simulator against Erlang A ------------------------------------------------


def test_simulator_matches_erlang_a_with_abandonment():
    scenario = load_scenario("erlang_a")
    spec, group = scenario.ticket_types["calls"], scenario.agent_groups["agents"]
    assert spec.patience_minutes is not None and spec.patience_minutes.dist == "exponential"
    exact = ErlangA(group.agents, spec.arrivals_per_hour / 60, 1 / spec.handle_minutes.mean,
                    1 / spec.patience_minutes.mean)
    got = _replicate(scenario, ["mean_wait_min", "p_wait", "abandon_rate", "service_level"])
    checks = {
        "mean_wait_min": exact.mean_wait,
        "p_wait": exact.p_wait,
        "abandon_rate": exact.p_abandon,
        "service_level": exact.service_level(spec.sla_minutes),
    }
    _assert_within(got, checks, "Erlang A")
    _, mean, half = _within(got["abandon_rate"], exact.p_abandon)
    for servers in (group.agents - 1, group.agents + 1):
        wrong = ErlangA(servers, exact.arrival_rate, exact.service_rate, exact.abandon_rate)
        assert abs(wrong.p_abandon - mean) > 2 * half


def test_erlang_a_file_is_solvable_as_is():
    # What the exact solver relies on: exponential times, constant rates, few agents.
    scenario = load_scenario("erlang_a")
    spec = scenario.ticket_types["calls"]
    assert spec.handle_minutes.dist == "exponential" and spec.hourly_profile is None
    assert not scenario.events and scenario.agent_groups["agents"].agents <= 8


# -- service-time draws ----------------------------------------------------------


def _lognormal_central_moments(mean: float, cv: float) -> tuple[float, float]:
    """Variance and fourth central moment of a lognormal with that mean and cv."""
    w = 1 + cv * cv  # E[X^k] = mean^k w^(k(k-1)/2)
    raw = [mean**k * w ** (k * (k - 1) / 2) for k in range(5)]
    variance = raw[2] - mean**2
    fourth = raw[4] - 4 * raw[3] * mean + 6 * raw[2] * mean**2 - 3 * mean**4
    return variance, fourth


def _gamma_central_moments(mean: float, cv: float) -> tuple[float, float]:
    shape, scale = 1 / cv**2, mean * cv**2
    variance = shape * scale**2
    return variance, 3 * shape * (shape + 2) * scale**4


@pytest.fixture(scope="module")
def drawn_handle_times():
    data = yaml.safe_load((SCENARIO_DIR / "mmc.yaml").read_text())
    data["name"] = "handle_laws"
    data["horizon_hours"], data["warmup_hours"] = 24, 0
    data["ticket_types"] = {
        "fixed": {"arrivals_per_hour": 300, "handle_minutes": {"dist": "deterministic", "mean": 4}},
        "lognormal": {"arrivals_per_hour": 400,
                      "handle_minutes": {"dist": "lognormal", "mean": 7, "cv": 0.8}},
        "gamma": {"arrivals_per_hour": 400,
                  "handle_minutes": {"dist": "gamma", "mean": 3, "cv": 1.5}},
    }
    # Ample agents at uneven speeds, so service time = work / speed is visible.
    data["agent_groups"] = {"agents": {"agents": 150,
                                       "skills": {"fixed": 0.8, "lognormal": 1.0, "gamma": 1.25}}}
    return simulate_run(parse_scenario(data, "<handle_laws>"), "fifo", seed=11).tickets


def test_deterministic_handle_time_is_exact(drawn_handle_times):
    tickets = drawn_handle_times
    fixed = tickets[(tickets["ticket_type"] == "fixed") & (tickets["outcome"] == "served")]
    assert len(fixed) > 6000
    assert (fixed["work_min"] == 4.0).all()
    service = fixed["end_min"] - fixed["start_min"]
    assert np.allclose(service, 4.0 / 0.8, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("ticket_type, mean, cv, speed, moments", [
    ("lognormal", 7.0, 0.8, 1.0, _lognormal_central_moments),
    ("gamma", 3.0, 1.5, 1.25, _gamma_central_moments),
])
def test_random_handle_times_have_their_mean_and_cv(drawn_handle_times, ticket_type, mean, cv,
                                                    speed, moments):
    # The draws are i.i.d., so the sample mean has standard error sigma/sqrt(n)
    # and the sample variance (mu4 - sigma^4)/n, both from the exact moments
    # of the law: 4 of them is the tolerance (a miss has probability < 1e-4).
    tickets = drawn_handle_times
    mine = tickets[tickets["ticket_type"] == ticket_type]
    work = mine["work_min"].to_numpy()
    n = len(work)
    assert n > 8000
    variance, fourth = moments(mean, cv)
    assert variance == pytest.approx((cv * mean) ** 2)
    assert abs(work.mean() - mean) <= 4 * math.sqrt(variance / n)
    assert abs(work.var(ddof=1) - variance) <= 4 * math.sqrt((fourth - variance**2) / n)
    sample_cv = work.std(ddof=1) / work.mean()
    assert sample_cv == pytest.approx(cv, rel=0.1)
    served = mine[mine["outcome"] == "served"]
    service = (served["end_min"] - served["start_min"]).to_numpy()
    assert np.allclose(service, served["work_min"].to_numpy() / speed, rtol=1e-9, atol=1e-9)
