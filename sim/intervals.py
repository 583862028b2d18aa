"""Confidence intervals over seeds: one implementation for every caller.

A mean over seeds gets a Student t interval; a quantity that cannot leave a
range (a share in [0, 1], a cost or a wait >= 0) gets that interval cut to its
range. The true mean always lies in the range, so the cut interval covers it
exactly as often as the t interval does, and no bound is ever impossible.
Paired differences (policies on the same seeds, common random numbers) are
t intervals of the per-seed differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
FEW_SEEDS = 5  # below this many seeds, intervals are wide: the report and terminal say so
SHARE = (0.0, 1.0)
NON_NEGATIVE = (0.0, math.inf)
UNBOUNDED = (-math.inf, math.inf)


@dataclass(frozen=True)
class Interval:
    """A mean over n values and its two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int


def t_interval(values, confidence: float = CONFIDENCE,
               bounds: tuple[float, float] = UNBOUNDED) -> Interval:
    """Student t interval for the mean, cut to `bounds`; NaN values are left out.

    One value has no interval (NaN bounds); identical values have a zero-width one.
    """
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    n = len(data)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(data.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1)
    sem = float(data.std(ddof=1)) / math.sqrt(n)
    if sem == 0:
        return Interval(mean, mean, mean, n)
    from scipy import stats  # here, not at the top: the command line imports FEW_SEEDS early

    low, high = stats.t.interval(confidence, df=n - 1, loc=mean, scale=sem)
    lowest, highest = bounds
    return Interval(mean, max(float(low), lowest), min(float(high), highest), n)


def paired_interval(values, baseline, confidence: float = CONFIDENCE) -> tuple[Interval, float]:
    """Mean of `values - baseline` (equal-length, paired by seed), its interval and p-value.

    The p-value is the paired t test's; NaN with fewer than two pairs or when
    every difference is equal.
    """
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    diff = a - b
    interval = t_interval(diff, confidence)
    p_value = math.nan
    if interval.n >= 2 and float(diff.std(ddof=1)) > 0:
        from scipy import stats

        p_value = float(stats.ttest_rel(a, b).pvalue)
    return interval, p_value
