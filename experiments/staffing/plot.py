"""The staffing figure: agents per hour of each group, staffed against the original roster."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are files

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments.io import atomic_path  # noqa: E402

DPI = 110
COLUMNS = 2


def staffing_figure(document: dict[str, Any], path: Path) -> Path:
    """One panel per group: staffed (bold), original (grey), per-type Erlang plan (dotted)."""
    groups = [g["group"] for g in document["groups"]]
    columns = min(COLUMNS, len(groups))
    rows = math.ceil(len(groups) / columns)
    figure, axes = plt.subplots(rows, columns, squeeze=False, sharex=True,
                                figsize=(5.5 * columns, 2.6 * rows + 0.8), layout="constrained")
    hours = np.arange(25)
    for i, group in enumerate(groups):
        ax = axes[i // columns][i % columns]
        lines = [("original roster", document["original_roster"][group], "#999999", "-", 1.6),
                 ("one Erlang team per type", document["erlang_per_type"]["roster"][group],
                  "#4c72b0", ":", 1.6),
                 ("staffed", document["roster"][group], "#c44e52", "-", 2.4)]
        if document.get("shift_hours"):
            lines.insert(2, ("hourly requirement", document["requirement"][group], "#dd8452",
                             "--", 1.4))
        for label, values, colour, style, width in lines:
            ax.step(hours, list(values) + [values[-1]], where="post", label=label, color=colour,
                    linestyle=style, linewidth=width)
        ax.set_title(f"{group} (cost {_cost(document, group)} per agent-hour)", fontsize=10)
        ax.set_xlim(0, 24)
        ax.set_ylim(bottom=0)
        ax.set_xticks(range(0, 25, 3))
        ax.set_ylabel("agents on shift")
        ax.grid(alpha=0.3)
    for j in range(len(groups), rows * columns):
        axes[j // columns][j % columns].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("hour of day")
    axes[0][0].legend(fontsize=8, loc="upper left")
    figure.suptitle(f"{document['scenario']} under {document['policy']}: agents per hour "
                    f"({document['scope']} scope)", fontsize=11)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=DPI, format="png")
    plt.close(figure)
    return path


def _cost(document: dict[str, Any], group: str) -> str:
    cost = next(g["cost_per_agent_hour"] for g in document["groups"] if g["group"] == group)
    return f"{cost:g}"
