"""Confidence intervals and paired differences against answers known in advance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.stats import COMPARISON_COLUMNS, comparison_table, paired_difference, t_interval


def test_t_interval_of_one_to_five_is_the_textbook_one() -> None:
    # mean 3, s = sqrt(2.5), sem = 0.70711, t(0.975, 4) = 2.776445: 3 +- 1.963243
    interval = t_interval([1, 2, 3, 4, 5])
    assert interval.n == 5
    assert interval.mean == 3
    assert interval.low == pytest.approx(1.036757, abs=1e-6)
    assert interval.high == pytest.approx(4.963243, abs=1e-6)


def test_t_interval_agrees_with_scipy_on_skewed_samples() -> None:
    rng = np.random.default_rng(11)
    for n in (2, 3, 7, 30):
        sample = rng.lognormal(0, 1, n)
        low, high = stats.t.interval(0.95, n - 1, loc=sample.mean(), scale=stats.sem(sample))
        interval = t_interval(sample)
        assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-12)


def test_t_interval_covers_the_true_mean_95_percent_of_the_time() -> None:
    # 4000 replications: the coverage estimate has standard error
    # sqrt(0.95 * 0.05 / 4000) = 0.0034, so +-0.015 is over four standard errors.
    # n = 5 is where a normal (z) interval would fail: it covers only about 88%.
    rng = np.random.default_rng(2024)
    true_mean, replications = 7.0, 4000
    covered = 0
    for _ in range(replications):
        interval = t_interval(rng.normal(true_mean, 3.0, 5))
        covered += interval.low <= true_mean <= interval.high
    assert covered / replications == pytest.approx(0.95, abs=0.015)


def test_t_interval_edge_cases() -> None:
    assert math.isnan(t_interval([]).mean)
    single = t_interval([4.0])
    assert single.mean == 4.0 and math.isnan(single.low) and math.isnan(single.high)
    constant = t_interval([2.0, 2.0, 2.0])
    assert (constant.low, constant.mean, constant.high) == (2.0, 2.0, 2.0)
    with_nan = t_interval([1.0, np.nan, 3.0])  # a type without SLA has NaN service levels
    assert with_nan.n == 2 and with_nan.mean == 2.0


def test_paired_difference_is_the_t_interval_of_differences_by_seed() -> None:
    # differences by seed are 1, 2, 3: mean 2, sem 0.57735, t(0.975, 2) = 4.302653
    a = pd.Series([11.0, 22.0, 33.0], index=[0, 1, 2])
    b = pd.Series([30.0, 10.0, 20.0], index=[2, 0, 1])  # another order: pairing is by seed
    interval, p_value = paired_difference(a, b)
    assert interval.mean == pytest.approx(2.0)
    assert interval.low == pytest.approx(2.0 - 2.484138, abs=1e-6)
    assert interval.high == pytest.approx(2.0 + 2.484138, abs=1e-6)
    assert p_value == pytest.approx(stats.ttest_rel([11, 22, 33], [10, 20, 30]).pvalue)


def test_paired_difference_uses_only_common_seeds_and_is_narrower_than_unpaired() -> None:
    rng = np.random.default_rng(5)
    day = rng.normal(100, 20, 12)  # common random numbers: a shared day effect
    a = pd.Series(day + 3 + rng.normal(0, 0.5, 12))
    b = pd.Series(day + rng.normal(0, 0.5, 12))
    interval, _ = paired_difference(a, b.drop(index=[10, 11]))
    assert interval.n == 10
    unpaired = t_interval(a).high - t_interval(a).low + t_interval(b).high - t_interval(b).low
    assert interval.high - interval.low < unpaired / 10
    assert interval.low < 3 < interval.high


def _runs(costs: dict[str, list[float]], scenario: str = "s") -> pd.DataFrame:
    rows = []
    for policy, values in costs.items():
        for seed, cost in enumerate(values):
            rows.append({"scenario": scenario, "policy": policy, "seed": seed,
                         "cost_per_hour": cost, "mean_wait_min": cost / 10,
                         "service_level": 0.5, "abandon_rate": np.nan})
    return pd.DataFrame(rows)


def test_comparison_picks_the_cheapest_heuristic_and_pairs_by_seed() -> None:
    runs = _runs({"fifo": [10, 20, 30], "cmu": [9, 18, 28], "model-x": [1, 2, 3]})
    table = comparison_table(runs, heuristics={"fifo", "cmu"}).set_index("policy")
    assert set(COMPARISON_COLUMNS) == set(table.reset_index().columns)
    assert (table["best_heuristic"] == "cmu").all()  # the model is cheaper but no heuristic
    # fifo - cmu by seed: 1, 2, 2
    assert table.loc["fifo", "cost_diff_vs_best"] == pytest.approx(5 / 3)
    expected = t_interval([1, 2, 2])
    assert table.loc["fifo", "cost_diff_ci_low"] == pytest.approx(expected.low)
    assert table.loc["fifo", "cost_diff_ci_high"] == pytest.approx(expected.high)
    assert table.loc["model-x", "cost_diff_vs_best"] == pytest.approx(-49 / 3)
    assert table.loc["cmu", ["cost_diff_vs_best", "cost_diff_ci_low", "cost_diff_ci_high"]
                     ].tolist() == [0, 0, 0]
    assert table.loc["fifo", "cost_per_hour"] == 20
    assert table.loc["fifo", "n_seeds"] == 3
    assert math.isnan(table.loc["fifo", "abandon_rate"])


def test_comparison_without_heuristics_leaves_the_difference_empty() -> None:
    table = comparison_table(_runs({"model-a": [1, 2], "model-b": [2, 3]}), heuristics={"fifo"})
    assert table["best_heuristic"].isna().all()
    assert table["cost_diff_vs_best"].isna().all()
