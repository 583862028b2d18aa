"""Policy specs as text: `name` or `kind:PATH`, and their short labels."""

from __future__ import annotations

import re
from pathlib import Path


def policy_label(spec: str) -> str:
    """A short name for a policy spec, fit for file paths and tables."""
    kind, _, path = spec.partition(":")
    if not path:
        return spec
    if kind == "rollout":  # rollout:BASE?forks=8&horizon=60 -> rollout-BASE-forks-8-horizon-60
        return re.sub(r"[^A-Za-z0-9_.]+", "-", f"rollout-{path}").strip("-")
    stem = Path(path).stem if Path(path).stem not in ("model", "policy") else Path(path).parent.name
    return f"{kind}-{stem}"
