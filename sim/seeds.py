"""Which seeds are for what: the one place that owns the seed rules.

A seed is a day (arrivals, work, patience and transfers drawn from it). The
ranges never overlap, so no policy is judged on a day it learned from:

| days                   | seeds                                   | used by                          |
|------------------------|-----------------------------------------|----------------------------------|
| evaluation             | 0 .. N-1                                | simulate, benchmark, fidelity    |
| held out in training   | 1000 .. 1000+n-1                        | model selection while training   |
| table recording        | 10000 .. 10000+n-1                      | the decisions a table is built on|
| staffing search        | 10000 .. 10000+n-1                      | rosters compared while searching |
| training               | >= 2**20, drawn from the run's seed     | env days, demonstrations, tuning |

Evaluation seeds stay below `HELD_OUT_BASE` (`MAX_EVALUATION_SEEDS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

HELD_OUT_BASE = 1000
RECORDING_BASE = 10_000
SEARCH_BASE = 10_000  # the days a roster search compares candidates on (verification: 0..N-1)
TRAIN_SEED_FLOOR = 2**20
TRAIN_SEED_CEILING = 2**31 - 1
MAX_EVALUATION_SEEDS = HELD_OUT_BASE


def evaluation_seeds(count: int) -> list[int]:
    """Seeds 0..count-1, the days `routelab simulate --seeds count` runs."""
    return list(range(count))


def held_out_days(count: int) -> list[int]:
    """Days for choosing among models while training; never trained on, never reported."""
    return [HELD_OUT_BASE + i for i in range(count)]


def recording_days(count: int) -> list[int]:
    """Days whose decisions fill a lookup table."""
    return list(range(RECORDING_BASE, RECORDING_BASE + count))


def training_days(seed: int, count: int, stream: int = 7) -> list[int]:
    """`count` training days drawn from a run's seed (a different `stream`, other days)."""
    import numpy as np  # here: the command line reads this module's bounds at start-up

    rng = np.random.default_rng([seed, stream])
    return [int(s) for s in rng.integers(TRAIN_SEED_FLOOR, TRAIN_SEED_CEILING, size=count)]


def training_day(rng: np.random.Generator) -> int:
    """One training day drawn from a generator (the env's, on reset)."""
    return int(rng.integers(TRAIN_SEED_FLOOR, TRAIN_SEED_CEILING))
