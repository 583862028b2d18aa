"""Random durations: a sampler draws n values of a scenario's distribution from a generator.

Each generator belongs to one purpose of one ticket type (see sim.arrivals),
so what one policy does never shifts the numbers another stream hands out:
two policies run with one seed see the same day.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.scenario import Distribution

Sampler = Callable[[np.random.Generator, int], np.ndarray]


def sampler(dist: Distribution) -> Sampler:
    """A function drawing `n` values of `dist` from a generator."""
    mean = dist.mean
    if dist.dist == "exponential":
        return lambda rng, n: rng.exponential(mean, n)
    if dist.dist == "deterministic":
        return lambda rng, n: np.full(n, mean)
    cv = dist.cv or 0.0
    if dist.dist == "lognormal":
        sigma2 = math.log1p(cv * cv)
        mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
        return lambda rng, n: rng.lognormal(mu, sigma, n)
    shape, scale = 1.0 / (cv * cv), mean * cv * cv
    return lambda rng, n: rng.gamma(shape, scale, n)
