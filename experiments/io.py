"""Result tables written atomically (the writer itself: sim/atomic.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.atomic import atomic_path, write_atomic, write_json, write_text

__all__ = ["atomic_path", "write_atomic", "write_csv", "write_json", "write_parquet", "write_text"]


def write_csv(frame: pd.DataFrame, target: Path | str) -> Path:
    return write_atomic(target, lambda p: frame.to_csv(p, index=False))


def write_parquet(frame: pd.DataFrame, target: Path | str) -> Path:
    return write_atomic(target, lambda p: frame.to_parquet(p, index=False))
