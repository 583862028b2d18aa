"""The report's figures, drawn from the result tables only (matplotlib, Agg).

One function per figure; each takes the tables of one scenario and returns
the saved path. Policies keep one colour and line style everywhere, from a
colour-blind-safe palette (Okabe and Ito) with a line style each, and a
panel shows a few policies, not all. Figures are at most about 10 inches
wide, so their text is read at page width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are files

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from experiments.io import atomic_path  # noqa: E402

DPI = 110
WIDTH_INCHES = 10.0
# Okabe & Ito (2008), without yellow (too pale on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINE_STYLES = ("-", "--", "-.", ":")
WARMUP_COLOUR, SURGE_COLOUR, ABSENCE_COLOUR = "#bbbbbb", "#E69F00", "#56B4E9"
plt.rcParams.update({"font.size": 10, "axes.titlesize": 10, "legend.fontsize": 9})


def policy_styles(policies: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A colour and a line style per policy, by its place in the order given."""
    return {p: {"color": PALETTE[i % len(PALETTE)],
                "ls": LINE_STYLES[(i // len(PALETTE) + i) % len(LINE_STYLES)]}
            for i, p in enumerate(policies)}


def policy_colours(policies: Sequence[str]) -> dict[str, Any]:
    return {p: style["color"] for p, style in policy_styles(policies).items()}


def _save(figure: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(figure)
    return path


def cost_figure(comparison: pd.DataFrame, scenario: str, path: Path) -> Path:
    """Cost per hour with 95% intervals, and the paired difference against the best heuristic."""
    rows = comparison.sort_values("cost_per_hour", ascending=True).reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    figure, (left, right) = plt.subplots(1, 2, figsize=(WIDTH_INCHES, 0.4 * len(rows) + 1.4),
                                         sharey=True, layout="constrained")
    values = rows["cost_per_hour"].to_numpy(float)
    left.barh(y, values, xerr=_errors(values, rows["cost_per_hour_ci_low"],
                                      rows["cost_per_hour_ci_high"]),
              color=PALETTE[0], capsize=3, alpha=0.75)  # one colour: the labels name the bars
    left.set_xlabel("cost per hour (waiting + abandonment, the scenario's money)")
    left.set_yticks(y, rows["policy"])
    best = rows["best_heuristic"].dropna()
    best_name = best.iloc[0] if len(best) else None
    diff = rows["cost_diff_vs_best"].to_numpy(float)
    errors = _errors(diff, rows["cost_diff_ci_low"], rows["cost_diff_ci_high"])
    right.errorbar(diff, y, xerr=errors, fmt="o", color="#333333", capsize=3)
    right.axvline(0, color="#999999", lw=1)
    right.set_xlabel(f"difference against {best_name}, paired by seed")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    figure.suptitle(f"{scenario}: cost per hour, 95% confidence intervals", x=0.01, ha="left")
    return _save(figure, path)


def _errors(centre: np.ndarray, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Asymmetric error bar lengths; a missing interval draws no bar."""
    low_gap = np.nan_to_num(centre - low.to_numpy(float), nan=0.0)
    high_gap = np.nan_to_num(high.to_numpy(float) - centre, nan=0.0)
    return np.vstack([np.maximum(low_gap, 0), np.maximum(high_gap, 0)])


def hourly_service_figure(hourly: pd.DataFrame, spec: Mapping[str, Any],
                          lines: Mapping[str, str], path: Path) -> Path | None:
    """Share answered within the SLA and share abandoned, by hour of arrival, per ticket type.

    Rows of service-level panels, then rows of abandonment panels. `lines`
    maps a legend label to the policy whose rows draw it. Surges, absences
    and the warm-up (only where the scenario has them) are shaded.
    """
    types = spec["ticket_types"]
    served = [("answered_in_sla", t) for t, s in types.items() if s.get("sla_minutes")]
    lost = [("abandoned", t) for t, s in types.items() if s.get("patience_minutes")]
    if not served + lost or hourly.empty:
        return None
    columns = min(4, max(len(served), len(lost)))
    blocks = [block for block in (served, lost) if block]
    grid = [block[i:i + columns] for block in blocks for i in range(0, len(block), columns)]
    figure, axes = plt.subplots(len(grid), columns, figsize=(WIDTH_INCHES, 1.9 * len(grid) + 0.9),
                                squeeze=False, sharey=True, layout="constrained")
    styles = policy_styles(list(lines))
    for r, row in enumerate(grid):
        for c in range(columns):
            ax = axes[r, c]
            if c >= len(row):
                ax.axis("off")
                continue
            series, name = row[c]
            _service_panel(ax, hourly, spec, lines, styles, series, name)
            if c == 0:
                ax.set_ylabel("answered in SLA" if series == "answered_in_sla" else "hung up")
            below = r + 1 < len(grid) and c < len(grid[r + 1])
            if below:
                ax.tick_params(labelbottom=False)
            else:
                ax.set_xlabel("hour of arrival")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    shading = _shading_legend(spec)
    handles += [*shading, Line2D([], [], color="#444444", lw=1, ls=(0, (4, 3)))]
    labels += [*(h.get_label() for h in shading), "target"]
    figure.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4),
                  frameon=False)
    figure.suptitle(f"{spec['name']}: service by hour of arrival (all seeds pooled)", x=0.01,
                    ha="left")
    return _save(figure, path)


def _service_panel(ax: Axes, hourly: pd.DataFrame, spec: Mapping[str, Any],
                   lines: Mapping[str, str], styles: dict[str, dict[str, Any]], series: str,
                   name: str) -> None:
    types = spec["ticket_types"]
    for label, policy in lines.items():
        share = _hourly_share(hourly, policy, series, name)
        if share is not None:
            ax.step(share.index.to_numpy(float), share.to_numpy(float), where="post", lw=1.6,
                    label=label, **styles[label])
    target = types[name].get("sla_target")
    if series == "answered_in_sla" and target is not None:
        ax.axhline(target, color="#444444", lw=1, ls=(0, (4, 3)))
    _shade(ax, spec, name)
    within = f" (in {_minutes(types[name]['sla_minutes'])})" if series == "answered_in_sla" else ""
    ax.set_title(name.replace("_", " ") + within, loc="left")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, float(spec["horizon_hours"]))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)


def _hourly_share(hourly: pd.DataFrame, policy: str, series: str, name: str) -> pd.Series | None:
    mine = hourly[(hourly["policy"] == policy) & (hourly["name"] == name)]
    part = mine[mine["series"] == series].set_index("hour")["value"]
    whole = mine[mine["series"] == "arrived"].set_index("hour")["value"]
    if part.empty or whole.empty:
        return None
    share = (part / whole.where(whole > 0)).sort_index()
    share.loc[share.index.max() + 1] = share.iloc[-1]  # close the last step
    return share


def _shade(ax: Axes, spec: Mapping[str, Any], type_name: str) -> None:
    warmup = float(spec.get("warmup_hours") or 0)
    if warmup:
        ax.axvspan(0, warmup, color=WARMUP_COLOUR, alpha=0.3, lw=0)
    for event in spec.get("events", []):
        if event["kind"] == "surge":
            strong = type_name in event["ticket_types"]
            ax.axvspan(event["start_hour"], event["end_hour"], color=SURGE_COLOUR,
                       alpha=0.35 if strong else 0.12, lw=0)
        else:
            ax.axvspan(event["start_hour"], event["end_hour"], color=ABSENCE_COLOUR,
                       alpha=0.25, lw=0)


def _shading_legend(spec: Mapping[str, Any]) -> list[Patch]:
    """Legend entries for the shading this scenario has, and no other."""
    patches = []
    if float(spec.get("warmup_hours") or 0):
        patches.append(Patch(color=WARMUP_COLOUR, alpha=0.3, label="warm-up (not counted)"))
    for event in spec.get("events", []):
        if event["kind"] == "surge":
            label = f"surge: {', '.join(event['ticket_types'])} x{event['factor']:g}"
            patches.append(Patch(color=SURGE_COLOUR, alpha=0.35, label=label))
        else:
            label = f"absence: {event['agents']} {event['group']}"
            patches.append(Patch(color=ABSENCE_COLOUR, alpha=0.25, label=label))
    return patches


def _minutes(value: float) -> str:
    if value < 1:
        return f"{value * 60:.0f} s"
    if value >= 120:
        return f"{value / 60:g} h"
    return f"{value:g} min"
