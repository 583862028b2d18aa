"""Random durations and the pre-drawn streams that keep common random numbers.

Each stream belongs to one purpose of one ticket type (arrival gaps, work,
patience, transfer draws), so what one policy does never shifts the numbers
another stream hands out: two policies run with one seed see the same day.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.scenario import Distribution

Sampler = Callable[[np.random.Generator, int], np.ndarray]
BLOCK = 2048


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


class Stream:
    """Values of one sampler handed out one at a time, drawn in blocks for speed."""

    __slots__ = ("_rng", "_draw", "_buffer", "_next")

    def __init__(self, rng: np.random.Generator, draw: Sampler) -> None:
        self._rng, self._draw = rng, draw
        self._buffer: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        i = self._next
        if i == len(self._buffer):
            self._buffer = self._draw(self._rng, BLOCK).tolist()
            i = 0
        self._next = i + 1
        return self._buffer[i]


def unit_exponential(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.exponential(1.0, n)


def uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n)
