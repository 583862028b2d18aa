"""The tickets of one run, stored as columns: one list per field, one index per ticket.

The hot path writes a handful of list items per ticket instead of building an
object, `sim.metrics` turns the lists into the ticket table in one step, and a
fork copies a few flat lists. Transfers are rare, so what only they carry
(origin, depth) lives in small dicts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

WAITING, SERVING, SERVED, ABANDONED, UNRESOLVED = range(5)  # WAITING is 0: the hot path tests it so
OUTCOMES = ("waiting", "serving", "served", "abandoned", "unresolved")
CHUNK = 4096  # columns grow by this many rows at a time, filled with the defaults


class Ticket(NamedTuple):
    """One ticket read back from the columns (for tests and small tools, not the hot path)."""

    id: int
    type: int
    arrival: float
    work: float
    counted: bool
    state: int
    start: float
    end: float
    group: int
    agent: int
    origin: int
    depth: int


class TicketColumns:
    """Columns of every ticket so far; rows [0, n) are tickets, the rest are spare capacity."""

    __slots__ = ("n", "type", "arrival", "work", "counted", "state", "start", "end", "group",
                 "agent", "origin", "depth", "origin_index")

    def __init__(self) -> None:
        self.n = 0
        self.type: list[int] = []
        self.arrival: list[float] = []
        self.work: list[float] = []
        self.counted = bytearray()  # 0 or 1
        self.state = bytearray()  # WAITING ... UNRESOLVED
        self.start: list[float] = []
        self.end: list[float] = []
        self.group: list[int] = []
        self.agent: list[int] = []
        self.origin: dict[int, int] = {}  # transfers only; a ticket from outside is its own origin
        self.depth: dict[int, int] = {}  # transfers only; 0 otherwise
        self.origin_index: dict[int, int] = {}  # the k-th arrival of its type, for types that transfer

    def grow(self) -> None:
        """Add CHUNK spare rows, in place (the hot path holds the lists)."""
        nan = math.nan
        for column, default in ((self.type, 0), (self.arrival, nan), (self.work, nan),
                                (self.start, nan), (self.end, nan), (self.group, -1),
                                (self.agent, -1)):
            column.extend([default] * CHUNK)
        self.counted.extend(bytes(CHUNK))
        self.state.extend(bytes([WAITING]) * CHUNK)

    def add(self, ticket_type: int, arrival: float, work: float, counted: bool) -> int:
        """A new waiting ticket (the rare path: transfers); returns its index."""
        i = self.n
        if i == len(self.type):
            self.grow()
        self.type[i], self.arrival[i], self.work[i], self.counted[i] = (
            ticket_type, arrival, work, counted)
        self.n = i + 1
        return i

    def copy(self) -> TicketColumns:
        other = TicketColumns()
        n = self.n
        other.n = n
        for name in ("type", "arrival", "work", "counted", "state", "start", "end", "group",
                     "agent"):  # slices are copies
            setattr(other, name, getattr(self, name)[:n])
        other.origin, other.depth = dict(self.origin), dict(self.depth)
        other.origin_index = dict(self.origin_index)
        return other

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column of rows [0, n) as a numpy array (one conversion per column)."""
        n = self.n
        origin = np.arange(n, dtype=np.int64)
        depth = np.zeros(n, dtype=np.int16)
        if self.origin:
            children = np.fromiter(self.origin, np.int64, len(self.origin))
            origin[children] = np.fromiter(self.origin.values(), np.int64, len(self.origin))
            depth[children] = np.fromiter((self.depth[i] for i in self.origin), np.int16,
                                          len(self.origin))
        return {
            "type": np.fromiter(self.type, np.int32, n),
            "arrival": np.fromiter(self.arrival, float, n),
            "work": np.fromiter(self.work, float, n),
            "counted": np.frombuffer(self.counted, np.bool_, n).copy(),
            "state": np.frombuffer(self.state, np.int8, n).copy(),
            "start": np.fromiter(self.start, float, n),
            "end": np.fromiter(self.end, float, n),
            "group": np.fromiter(self.group, np.int32, n),
            "agent": np.fromiter(self.agent, np.int32, n),
            "origin": origin,
            "depth": depth,
        }

    def __getitem__(self, i: int) -> Ticket:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return Ticket(i, self.type[i], self.arrival[i], self.work[i], bool(self.counted[i]),
                      self.state[i], self.start[i], self.end[i], self.group[i], self.agent[i],
                      self.origin.get(i, i), self.depth.get(i, 0))

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Ticket]:
        return (self[i] for i in range(self.n))
