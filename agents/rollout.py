"""`rollout:BASE`: a one-step look-ahead that judges each action by simulated continuations.

At a decision with more than one admissible action, each candidate (every
feasible pair, and HOLD when the model allows it and `hold` is on) is tried in
`forks` copies of the running day (`SupportModel.fork`), each followed by the
base policy for `horizon_minutes`; the candidate whose window costs least on
average is taken (ties go to the base policy's own choice). This is Bertsekas'
rollout: it does at least as well as its base up to the noise of the estimate,
and it can do better where the base misjudges (a priority, an agent kept free).

The noise matters: the effect of one decision is a few cost units, the spread
of a window's cost across forks is tens, and the least of several noisy means
is biased low (the winner's curse), so a plain argmin over a few forks leaves
the base for noise about as often as for a better action, and ends up worse
than its base. With `z` > 0 the policy leaves the base's own choice only for a
candidate whose paired difference from it (fork by fork, on common random
numbers) is below zero by more than `z` standard errors; among those it takes
the cheapest. `z=0` is the plain argmin. With `confirm` = C > 0 an overrule
is tested again on C more forks of the base's choice and the overruling one,
and stands only if the test passes on all the forks together.

Common random numbers: the k-th continuation of every candidate comes from the
same fork seed, so candidates differ only by the action; the seeds are drawn
afresh at each decision from the policy's own generator (a stream of the day
that no arrival uses). A fork draws everything not yet drawn anew from its own
seed, so the look-ahead never replays the day's own future draws; what the
running model already holds (the next arrival of each type, the finish time of
a ticket in service, the moment a waiting ticket gives up) the fork keeps, as
`SupportModel.fork` documents.

HOLD is an admissible control of the routing problem (it is how the optimum of
`keep_free` keeps an agent free), so, as a rollout over all controls should,
the policy weighs it whenever `can_hold`; `hold=False` restricts it to the
feasible pairs, and the policy is then non-idling.

The policy reads the running model, not a bare `DecisionView`: it needs
`fork`. `SupportModel.run` hands the model itself to `reset` and `decide`; any
other view raises `PolicyError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agents.errors import PolicyError
from sim.decision import DecisionView, Policy

_SEED_CEILING = 2**62
_TIE = 1e-9  # relative: mean costs closer than this are a tie


class Forkable(DecisionView, Protocol):
    """A view that is the running model: it can be forked into a look-ahead window."""

    def fork(self, seed: int) -> Forkable: ...


@dataclass(frozen=True)
class Judgement:
    """One rollout decision, kept for tests and benchmarks.

    After a confirmation (`confirm`), `candidates` are the two actions tested
    again (the base's choice first) and `seeds` and `costs` cover all their forks.
    """

    candidates: tuple[int, ...]
    seeds: tuple[int, ...]
    mean_costs: tuple[float, ...]
    base_choice: int
    choice: int
    costs: tuple[tuple[float, ...], ...] = ()
    """Window cost by candidate, then by fork."""


class RolloutPolicy:
    """One-step look-ahead over the admissible actions, each judged under a base policy.

    `base_factory` makes the base policy (one instance decides at the running
    model, to break ties; another drives every continuation); `forks` windows
    per candidate, `horizon_minutes` long (shorter at the end of the day);
    `seed` adds to the policy's generator, for independent rollouts of one day;
    `z` the evidence, in paired standard errors, needed to overrule the base.
    """

    def __init__(self, base_factory: Callable[[], Policy], *, forks: int = 4,
                 horizon_minutes: float = 60.0, hold: bool = True, seed: int = 0,
                 z: float = 0.0, confirm: int = 0, name: str = "rollout") -> None:
        if forks < 1:
            raise PolicyError(f"rollout: forks must be at least 1, not {forks}")
        if not horizon_minutes > 0:
            raise PolicyError(f"rollout: horizon must be positive minutes, not {horizon_minutes}")
        if not z >= 0:
            raise PolicyError(f"rollout: z must be zero or more standard errors, not {z}")
        if z > 0 and forks < 2:
            raise PolicyError("rollout: a paired test (z > 0) needs at least 2 forks")
        if confirm < 0 or (confirm and not z > 0):
            raise PolicyError("rollout: confirm is a number of forks >= 0, and needs z > 0")
        self.z, self.confirm = z, confirm
        self.base_factory, self.forks, self.horizon_minutes = base_factory, forks, horizon_minutes
        self.hold, self.seed, self.name = hold, seed, name
        self.non_idling = not hold
        self.last: Judgement | None = None
        self.windows = 0  # continuations simulated since reset
        self.judged = 0  # decisions that needed a look-ahead

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        if not callable(getattr(view, "fork", None)):
            raise PolicyError(
                f"{self.name} needs the running model (a view with fork(seed)), "
                f"not a {type(view).__name__}: run it with SupportModel.run")
        base_rng, self._seeds = np.random.default_rng(
            [self.seed, int(rng.integers(_SEED_CEILING))]).spawn(2)
        self.base = self.base_factory()
        self.base.reset(view, base_rng)
        self._driver = self.base_factory()
        self.last, self.windows, self.judged = None, 0, 0

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        candidates = list(pairs)
        if self.hold and view.can_hold:
            candidates.append(view.hold)
        own = self.base.decide(view, pairs) if pairs else view.hold
        if len(candidates) == 1:
            return candidates[0]
        seeds = tuple(int(s) for s in self._seeds.integers(_SEED_CEILING, size=self.forks))
        costs = np.array([self.window_costs(view, action, seeds)  # type: ignore[arg-type]
                          for action in candidates])
        choice = choose(candidates, costs, own, self.z)
        if choice != own and self.confirm and own in candidates:
            choice, seeds, costs, candidates = self._confirmed(view, own, choice, seeds, costs,
                                                               candidates)
        self.judged += 1
        self.last = Judgement(tuple(candidates), seeds, tuple(costs.mean(axis=1)), own, choice,
                              tuple(tuple(row) for row in costs.tolist()))
        return choice

    def _confirmed(self, view: DecisionView, own: int, choice: int, seeds: tuple[int, ...],
                   costs: np.ndarray, candidates: list[int]):
        """Test an overrule again on `confirm` more forks: (choice, seeds, costs, candidates).

        The first forks may hold none of the rare, costly events a base's
        reservation insures against (a caller who abandons while the agent kept
        free is busy); then the paired differences look uniformly in favour of
        the overrule and the t test is far too sure. The overrule stands only
        if the test still passes on the first and the new forks together.
        """
        more = tuple(int(s) for s in self._seeds.integers(_SEED_CEILING, size=self.confirm))
        pair = [own, choice]
        rows = [candidates.index(a) for a in pair]
        extra = np.array([self.window_costs(view, a, more) for a in pair])  # type: ignore[arg-type]
        both = np.concatenate([costs[rows], extra], axis=1)
        return choose(pair, both, own, self.z), seeds + more, both, pair

    def window_costs(self, model: Forkable, action: int, seeds: Sequence[int]) -> list[float]:
        """Cost over `horizon_minutes` of `action` then the base, in a fork of each seed."""
        end = model.now + self.horizon_minutes
        costs = []
        for seed in seeds:
            fork = model.fork(seed, blind=True)  # type: ignore[call-arg]
            fork.open_window(end)  # type: ignore[attr-defined]
            fork.apply(action)  # type: ignore[attr-defined]
            fork.run(self._driver)  # type: ignore[attr-defined]
            costs.append(fork.accrued_cost())  # type: ignore[attr-defined]
        self.windows += len(seeds)
        return costs



def choose(candidates: Sequence[int], costs: np.ndarray, own: int, z: float) -> int:
    """The rollout's choice from window costs by candidate (rows) and common fork (columns).

    z = 0: the least mean (ties to `own`). z > 0: `own` unless some candidate's
    paired difference from `own` is below zero by more than z standard errors;
    then the least mean among those.
    """
    means = costs.mean(axis=1)
    best = means.min()
    if z == 0:
        tied = [a for a, m in zip(candidates, means, strict=True)
                if m - best <= _TIE * max(1.0, abs(best))]
        return own if own in tied else tied[0]
    if own not in candidates:  # the base would hold where holding is not weighed
        return choose(candidates, costs, candidates[int(np.argmin(means))], z)
    diffs = costs - costs[list(candidates).index(own)]
    n = costs.shape[1]
    spread = diffs.std(axis=1, ddof=1) / np.sqrt(n)
    clear = [(m, a) for a, m, d, se in zip(candidates, means, diffs.mean(axis=1), spread,
                                          strict=True)
             if d < -z * se and d < -_TIE * max(1.0, abs(best))]
    return min(clear)[1] if clear else own


def parse_rollout(rest: str) -> tuple[str, dict[str, float]]:
    """`BASE` or `BASE?forks=K&horizon=H&hold=0|1&seed=S&z=Z&confirm=C` -> (BASE, options)."""
    base, _, query = rest.rpartition("?") if "?" in rest else (rest, "", "")
    options: dict[str, float] = {}
    known = {"forks": int, "horizon": float, "hold": int, "seed": int, "z": float, "confirm": int}
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key not in known:
            raise PolicyError(f"--policy: rollout option {key!r} unknown "
                              f"(known: {', '.join(known)})")
        try:
            options[key] = known[key](value)
        except ValueError:
            raise PolicyError(f"--policy: rollout option {key}={value!r} is not a number") from None
    if not base:
        raise PolicyError("--policy: rollout needs a base policy, as in rollout:cmu")
    if base.startswith("rollout:"):
        raise PolicyError("--policy: the base of a rollout cannot be a rollout")
    return base, options
