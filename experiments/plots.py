"""The benchmark figures, drawn from the result tables only (matplotlib, Agg).

One function per figure; each takes the tables of one scenario and returns
the saved path. Colours follow the policy order, the same in every figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are files

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from experiments.io import atomic_path  # noqa: E402
from experiments.stats import t_interval  # noqa: E402

DPI = 110
WARMUP_COLOUR, SURGE_COLOUR, ABSENCE_COLOUR = "#bbbbbb", "#f4a259", "#7aa6c2"


def policy_colours(policies: Sequence[str]) -> dict[str, Any]:
    palette = plt.get_cmap("tab10").colors + plt.get_cmap("Dark2").colors
    return {p: palette[i % len(palette)] for i, p in enumerate(policies)}


def _save(figure: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(figure)
    return path


def cost_figure(comparison: pd.DataFrame, scenario: str, path: Path) -> Path:
    """Cost per hour with 95% intervals, and the paired difference against the best heuristic."""
    rows = comparison.sort_values("cost_per_hour", ascending=True).reset_index(drop=True)
    colours = policy_colours(list(comparison["policy"]))
    y = np.arange(len(rows))[::-1]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows) + 1.6), sharey=True,
                                         layout="constrained")
    _bars_with_interval(left, y, rows, "cost_per_hour", colours)
    left.set_xlabel("cost per hour (waiting + abandonment), mean over seeds")
    left.set_yticks(y, rows["policy"])
    best = rows["best_heuristic"].dropna()
    best_name = best.iloc[0] if len(best) else None
    for label in left.get_yticklabels():
        if label.get_text() == best_name:
            label.set_fontweight("bold")
    diff = rows["cost_diff_vs_best"].to_numpy(float)
    errors = _errors(diff, rows["cost_diff_ci_low"], rows["cost_diff_ci_high"])
    right.errorbar(diff, y, xerr=errors, fmt="o", color="#333333", capsize=3)
    right.axvline(0, color="#999999", lw=1)
    right.set_xlabel(f"difference against the best heuristic ({best_name}), paired by seed")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    figure.suptitle(f"{scenario}: cost per hour, 95% confidence intervals", x=0.01, ha="left")
    return _save(figure, path)


def _bars_with_interval(ax: Axes, y: np.ndarray, rows: pd.DataFrame, metric: str,
                        colours: dict[str, Any]) -> None:
    values = rows[metric].to_numpy(float)
    errors = _errors(values, rows[f"{metric}_ci_low"], rows[f"{metric}_ci_high"])
    ax.barh(y, values, xerr=errors, color=[colours[p] for p in rows["policy"]], capsize=3,
            alpha=0.85)


def _errors(centre: np.ndarray, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Asymmetric error bar lengths; a missing interval draws no bar."""
    low_gap = np.nan_to_num(centre - low.to_numpy(float), nan=0.0)
    high_gap = np.nan_to_num(high.to_numpy(float) - centre, nan=0.0)
    return np.vstack([np.maximum(low_gap, 0), np.maximum(high_gap, 0)])


def waits_figure(waits: pd.DataFrame, scenario_spec: dict[str, Any], policies: Sequence[str],
                 path: Path) -> Path:
    """Share of tickets answered within x minutes, per ticket type: one curve per policy."""
    types = list(scenario_spec["ticket_types"])
    colours = policy_colours(policies)
    columns = min(3, len(types))
    rows_n = -(-len(types) // columns)
    figure, axes = plt.subplots(rows_n, columns, figsize=(4.2 * columns, 3.2 * rows_n + 0.6),
                                squeeze=False, sharey=True, layout="constrained")
    for ax, name in zip(axes.flat, types, strict=False):
        mine = waits[waits["ticket_type"] == name]
        for policy in policies:
            curve = mine[mine["policy"] == policy].sort_values("upper_min")
            if curve.empty or not curve["counted"].iloc[0]:
                continue
            finite = np.isfinite(curve["upper_min"].to_numpy(float))
            share = curve["answered"].cumsum().to_numpy() / curve["counted"].iloc[0]
            ax.step(curve["upper_min"].to_numpy(float)[finite], share[finite], where="post",
                    color=colours[policy], label=policy, lw=1.4)
        sla = scenario_spec["ticket_types"][name].get("sla_minutes")
        if sla:
            ax.axvline(sla, color="#555555", ls=":", lw=1)
            ax.text(sla, 0.02, f" SLA {_minutes(sla)}", fontsize=8, color="#555555")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, max(_wait_axis_end(mine), 2.0 * (sla or 0)))
        ax.set_ylim(0, 1.02)
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(types):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("minutes waited (log scale past 1)")
    for ax in axes[:, 0]:
        ax.set_ylabel("share answered within")
    _legend(figure, axes.flat[0])
    figure.suptitle(f"{scenario_spec['name']}: time to answer (counted tickets; abandoned "
                    "ones never reach the curve's top)", x=0.01, ha="left")
    return _save(figure, path)


def _legend(figure: Figure, ax: Axes) -> None:
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 9),
                  frameon=False)


def by_type_figure(by_type: pd.DataFrame, scenario_spec: dict[str, Any],
                   policies: Sequence[str], path: Path) -> Path:
    """Service level and abandonment rate by ticket type and policy, with 95% intervals."""
    types = list(scenario_spec["ticket_types"])
    colours = policy_colours(policies)
    width_inches = max(7.0, 0.35 * len(types) * len(policies) + 2)
    figure, axes = plt.subplots(2, 1, figsize=(width_inches, 6.4), sharex=True,
                                layout="constrained")
    width = 0.8 / len(policies)
    x = np.arange(len(types))
    for metric, ax in zip(("service_level", "abandon_rate"), axes, strict=True):
        for k, policy in enumerate(policies):
            mine = by_type[by_type["policy"] == policy]
            cells = [t_interval(mine.loc[mine["ticket_type"] == t, metric]) for t in types]
            mean = np.array([c.mean for c in cells])
            errors = _errors(mean, pd.Series([c.low for c in cells]),
                             pd.Series([c.high for c in cells]))
            ax.bar(x - 0.4 + width * (k + 0.5), np.nan_to_num(mean), width, yerr=errors,
                   color=colours[policy], label=policy, capsize=2, alpha=0.9)
        ax.grid(axis="y", alpha=0.3)
    for i, name in enumerate(types):
        target = scenario_spec["ticket_types"][name].get("sla_target")
        if target is not None:
            axes[0].hlines(target, i - 0.45, i + 0.45, color="#333333", ls="--", lw=1)
    axes[0].set_ylabel("service level\n(answered within SLA)")
    axes[0].set_ylim(0, 1.05)
    axes[1].set_ylabel("abandonment rate")
    axes[1].set_xticks(x, [t.replace("_", "\n") for t in types])
    _legend(figure, axes[0])
    figure.suptitle(f"{scenario_spec['name']}: by ticket type (dashed: SLA target)", x=0.01,
                    ha="left")
    return _save(figure, path)


def hourly_figure(hourly: pd.DataFrame, scenario_spec: dict[str, Any], policies: Sequence[str],
                  path: Path) -> Path:
    """Queue length per type and utilisation per group by hour, event windows shaded."""
    types, groups = list(scenario_spec["ticket_types"]), list(scenario_spec["agent_groups"])
    colours = policy_colours(policies)
    panels = [("queue_length", t) for t in types] + [("utilisation", g) for g in groups]
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 1.6 * len(panels) + 1.2),
                                sharex=True, squeeze=False, layout="constrained")
    for ax, (series, name) in zip(axes[:, 0], panels, strict=True):
        mine = hourly[(hourly["series"] == series) & (hourly["name"] == name)]
        for policy in policies:
            line = mine[mine["policy"] == policy].sort_values("hour")
            if line.empty:
                continue
            hours = np.append(line["hour"].to_numpy(float), line["hour"].max() + 1)  # close it
            values = np.append(line["value"].to_numpy(float), line["value"].iloc[-1:])
            ax.step(hours, values, where="post", color=colours[policy], label=policy, lw=1.3)
        _shade_events(ax, scenario_spec, series, name)
        label = "queue" if series == "queue_length" else "utilisation"
        ax.set_ylabel(f"{name.replace('_', ' ')}\n{label}", fontsize=9)
        ax.grid(alpha=0.3)
        if series == "utilisation":
            ax.set_ylim(0, 1.05)
    axes[-1, 0].set_xlabel("hour since the start of the run (24 = midnight of day 1)")
    axes[-1, 0].set_xlim(0, float(scenario_spec["horizon_hours"]))
    _legend(figure, axes[0, 0])
    figure.suptitle(f"{scenario_spec['name']}: mean queue length and agent utilisation by hour "
                    "(grey: warm-up, orange: surge, blue: absence)", x=0.01, ha="left")
    return _save(figure, path)


def _shade_events(ax: Axes, spec: dict[str, Any], series: str, name: str) -> None:
    warmup = float(spec.get("warmup_hours") or 0)
    if warmup:
        ax.axvspan(0, warmup, color=WARMUP_COLOUR, alpha=0.3, lw=0)
    for event in spec.get("events", []):
        if event["kind"] == "surge":
            strong = series == "queue_length" and name in event["ticket_types"]
            ax.axvspan(event["start_hour"], event["end_hour"], color=SURGE_COLOUR,
                       alpha=0.35 if strong else 0.12, lw=0)
        else:
            strong = series == "utilisation" and name == event["group"]
            ax.axvspan(event["start_hour"], event["end_hour"], color=ABSENCE_COLOUR,
                       alpha=0.35 if strong else 0.12, lw=0)


def _wait_axis_end(waits: pd.DataFrame) -> float:
    """The edge past which no policy answered anyone (at least 10 minutes)."""
    used = waits[(waits["answered"] > 0) & np.isfinite(waits["upper_min"])]
    return max(10.0, float(used["upper_min"].max()) if len(used) else 10.0)


def _minutes(value: float) -> str:
    if value < 1:
        return f"{value * 60:.0f} s"
    if value >= 120:
        return f"{value / 60:g} h"
    return f"{value:g} min"
