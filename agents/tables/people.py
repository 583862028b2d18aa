"""A table in words: the CSV beside each exported table, one stored state per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.tables.build import Export

FEATURE_WORDS = {"queue_len": "queue", "head_wait_min": "wait", "idle_agents": "idle",
                 "hour_of_day": "hour"}


def describe_bin(name: str, edges: Sequence[float], index: int) -> str:
    """A bin in words: `3-5`, `6+`, `1.5-4 min`, `07:00-15:00`."""
    kind = name.partition(".")[0]
    low = edges[index]
    high = edges[index + 1] if index + 1 < len(edges) else None
    if kind == "hour_of_day":
        return f"{_clock(low)}-{_clock(high if high is not None else 24)}"
    if kind in ("queue_len", "idle_agents"):
        if high is None:
            return f"{low:g}+"
        return f"{low:g}" if high - low == 1 else f"{low:g}-{high - 1:g}"
    return f"{low:g}+ min" if high is None else f"{low:g}-{high:g} min"


def _clock(hour: float) -> str:
    return f"{int(hour):02d}:{round(60 * (hour - int(hour))):02d}"


def describe_feature(name: str) -> str:
    kind, _, subject = name.partition(".")
    return f"{FEATURE_WORDS[kind]} {subject}".strip()


def people_columns(document: dict[str, Any]) -> list[str]:
    return ["state", "action", "decisions", "share_choosing_action",
            *(describe_feature(f["name"]) for f in document["features"]), "key"]


def people_rows(export: Export) -> list[dict[str, Any]]:
    """One row per stored key, features in words, for the CSV beside the table.

    `state` leaves out what is at zero (empty queues and their waits, groups
    with nobody idle) to stay readable; the per-feature columns have it all.
    """
    document = export.document
    features, actions = document["features"], document["actions"]
    bins = {f["name"]: i for i, f in enumerate(features)}
    rows = []
    for row in document["rows"]:
        key = tuple(row["key"])
        words = {describe_feature(f["name"]): describe_bin(f["name"], f["edges"], k)
                 for f, k in zip(features, key, strict=True)}
        shown = [f"{describe_feature(f['name'])} {describe_bin(f['name'], f['edges'], k)}"
                 for f, k in zip(features, key, strict=True) if not _at_zero(f["name"], key, bins)]
        tally = export.tallies.get(key)
        rows.append({"state": ", ".join(shown) or "all queues empty, nobody idle",
                     "action": actions[row["action"]],
                     "decisions": tally.decisions if tally else None,
                     "share_choosing_action":
                         round(tally.agreeing / tally.decisions, 3) if tally else None,
                     **words, "key": " ".join(map(str, key))})
    return rows


def _at_zero(name: str, key: tuple[int, ...], bins: dict[str, int]) -> bool:
    """An empty queue, the wait of an empty queue, or a group with nobody idle."""
    kind, _, subject = name.partition(".")
    if kind in ("queue_len", "idle_agents"):
        return key[bins[name]] == 0
    if kind == "head_wait_min":
        queue = bins.get(f"queue_len.{subject}")
        return queue is not None and key[queue] == 0
    return False
