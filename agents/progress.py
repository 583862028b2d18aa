"""Progress bars with the time left, for the long phases of tuning and training."""

from __future__ import annotations

from tqdm import tqdm


class PlannedBar:
    """A tqdm bar whose total grows as passes are planned; its estimate covers the plan so far."""

    def __init__(self, description: str, *, unit: str = "rule", disable: bool = False) -> None:
        self.bar = tqdm(total=0, desc=description, unit=unit, disable=disable, leave=False)

    def plan(self, candidates: int) -> None:
        self.bar.total += candidates
        self.bar.refresh()

    def judged(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def steps(iterable, description: str, *, total: int | None = None, unit: str = "it",
          disable: bool = False):
    """`iterable` with a bar and the time left (tqdm), gone when done."""
    return tqdm(iterable, desc=description, total=total, unit=unit, disable=disable, leave=False)
