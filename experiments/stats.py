"""Statistics over seeds for benchmark tables (the intervals themselves: sim/intervals.py).

Runs of different policies on the same seed see the same arrivals, work and
patience (common random numbers), so their difference is paired by seed and
its interval is much narrower than the two separate intervals suggest.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.intervals import (
    CONFIDENCE,
    NON_NEGATIVE,
    SHARE,
    Interval,
    paired_interval,
    t_interval,
)

METRICS = ("cost_per_hour", "mean_wait_min", "service_level", "abandon_rate")
# What each metric's mean can be: its interval never leaves that range (sim/intervals.py).
METRIC_BOUNDS = {"cost_per_hour": NON_NEGATIVE, "mean_wait_min": NON_NEGATIVE,
                 "service_level": SHARE, "abandon_rate": SHARE}


def paired_difference(values: pd.Series, baseline: pd.Series,
                      confidence: float = CONFIDENCE) -> tuple[Interval, float]:
    """Mean of `values - baseline` over the seeds both have (series indexed by seed)."""
    both = pd.concat({"a": values, "b": baseline}, axis=1, join="inner").dropna()
    return paired_interval(both["a"].to_numpy(), both["b"].to_numpy(), confidence)


def comparison_table(runs: pd.DataFrame, heuristics: set[str] | frozenset[str],
                     confidence: float = CONFIDENCE) -> pd.DataFrame:
    """One row per scenario and policy from the ALL rows of runs.

    Means and t intervals of METRICS over seeds, then the paired difference
    in cost_per_hour against the best heuristic of the scenario (the one of
    lowest mean cost among the heuristics in `runs`).
    """
    rows = []
    for scenario, part in runs.groupby("scenario", sort=False):
        best = best_heuristic(part, heuristics)
        by_seed = {p: g.set_index("seed")["cost_per_hour"] for p, g in part.groupby("policy")}
        for policy, runs_of_policy in part.groupby("policy", sort=False):
            row: dict[str, object] = {"scenario": scenario, "policy": policy,
                                      "n_seeds": int(runs_of_policy["seed"].nunique())}
            for metric in METRICS:
                interval = t_interval(runs_of_policy[metric], confidence, METRIC_BOUNDS[metric])
                row[metric] = interval.mean
                row[f"{metric}_ci_low"] = interval.low
                row[f"{metric}_ci_high"] = interval.high
            row.update(_against_best(by_seed, policy, best, confidence))
            rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def best_heuristic(runs: pd.DataFrame, heuristics: set[str] | frozenset[str]) -> str | None:
    """The heuristic of lowest mean cost_per_hour in runs of one scenario (None if none ran)."""
    mine = runs[runs["policy"].isin(heuristics)]
    if mine.empty:
        return None
    means = mine.groupby("policy", sort=False)["cost_per_hour"].mean()
    return str(means.idxmin())


def _against_best(by_seed: dict[str, pd.Series], policy: str, best: str | None,
                  confidence: float) -> dict[str, object]:
    if best is None:
        return {"best_heuristic": None, "cost_diff_vs_best": math.nan,
                "cost_diff_ci_low": math.nan, "cost_diff_ci_high": math.nan,
                "cost_diff_pct": math.nan, "cost_diff_p_value": math.nan}
    interval, p_value = paired_difference(by_seed[policy], by_seed[best], confidence)
    base = float(by_seed[best].mean())
    return {"best_heuristic": best, "cost_diff_vs_best": interval.mean,
            "cost_diff_ci_low": interval.low, "cost_diff_ci_high": interval.high,
            "cost_diff_pct": 100 * interval.mean / base if base else math.nan,
            "cost_diff_p_value": p_value}


COMPARISON_COLUMNS = [
    "scenario", "policy", "n_seeds",
    *[f"{m}{s}" for m in METRICS for s in ("", "_ci_low", "_ci_high")],
    "best_heuristic", "cost_diff_vs_best", "cost_diff_ci_low", "cost_diff_ci_high",
    "cost_diff_pct", "cost_diff_p_value",
]
