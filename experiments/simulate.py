"""`routelab simulate`: run one policy on one scenario over seeds 0..N-1."""

from __future__ import annotations

import platform
import time
from importlib.metadata import version
from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from agents.registry import make_policy, policy_label
from experiments.errors import UserError
from experiments.io import write_csv, write_json, write_parquet
from experiments.runs import simulate_run
from experiments.terminal import print_summary, warn_about
from sim.scenario import load_scenario, resolve_scenario_path


def run(scenario: str, policy_spec: str, seeds: int, out: Path | None, force: bool,
             quiet: bool) -> None:
    """The work of `routelab simulate`; its options and help: experiments/commands/simulate.py."""
    spec = load_scenario(scenario)
    make_policy(policy_spec, spec, force=force)  # fail fast, before any work
    warn_about(spec)
    label = policy_label(policy_spec)
    out = out or Path("results/runs/simulate") / spec.name / label
    started = time.perf_counter()
    runs = []
    for seed in tqdm(range(seeds), desc=f"{spec.name} / {label}", unit="seed",
                     disable=quiet or seeds == 1, leave=False):
        runs.append(simulate_run(spec, policy_spec, seed, label=label, force=force))
    wall = time.perf_counter() - started
    summary = pd.concat([r.summary for r in runs], ignore_index=True)
    try:
        write_parquet(pd.concat([r.tickets for r in runs], ignore_index=True), out / "tickets.parquet")
        write_csv(pd.concat([r.agents for r in runs], ignore_index=True), out / "agents.csv")
        write_csv(summary, out / "summary.csv")
        write_json({
            "scenario": spec.name,
            "scenario_path": str(resolve_scenario_path(scenario)),
            "scenario_sha256": spec.sha256(),
            "policy": policy_spec,
            "seeds": list(range(seeds)),
            "routelab_version": version("routelab"),
            "python": platform.python_version(),
            "wall_seconds": round(wall, 3),
            "wall_seconds_per_seed": [round(r.wall_seconds, 3) for r in runs],
            "decisions": [r.decisions for r in runs],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }, out / "manifest.json")
    except OSError as error:
        raise UserError(f"--out {out}: cannot write ({error.strerror or error})") from None
    if not quiet:
        print_summary(summary, title=f"{spec.name}: {label}")
        click.echo(f"wrote {out}/ (summary.csv, tickets.parquet, agents.csv, manifest.json)")
