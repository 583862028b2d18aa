"""Quality and speed of `routelab staff` on the reference days (slower than the tests).

    python -m experiments.staffing.bench --out /tmp/staff-bench [--cases NAME,...]

Each case runs the whole study (search, verification, what-if) as the command
does and keeps its folder; bench.md gathers agent-hours against the original
roster and one Erlang team per type, the verified service levels, whether
every target holds, and the wall time. The single-queue cases add the hour by
hour comparison with Erlang C (or Erlang A where callers abandon).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import yaml

from experiments.io import write_text
from experiments.runner import Runner
from experiments.staffing.erlang import required_agents
from experiments.staffing.output import write_outputs
from experiments.staffing.workflow import StaffSettings, staff
from sim.scenario import SCENARIO_DIR, Scenario, load_scenario, parse_scenario


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str
    policy: str
    scope: str
    shift_hours: int | None = None
    patience_minutes: float | None = None  # single queue: add exponential patience


CASES = [
    Case("single_queue_hour", "single_queue_day", "fifo", "hour"),
    Case("single_queue_patience_hour", "single_queue_day", "fifo", "hour", patience_minutes=1.0),
    Case("fintech_day", "fintech_day", "cmu", "day"),
    Case("fintech_hour", "fintech_day", "cmu", "hour"),
    Case("retail_bank_day", "retail_bank_day", "cmu", "day"),
    Case("retail_bank_hour", "retail_bank_day", "cmu", "hour"),
    Case("retail_bank_day_shifts8", "retail_bank_day", "cmu", "day", shift_hours=8),
]


def scenario_of(case: Case) -> Scenario:
    if case.patience_minutes is None:
        return load_scenario(case.scenario)
    data = yaml.safe_load((SCENARIO_DIR / f"{case.scenario}.yaml").read_text(encoding="utf-8"))
    for spec in data["ticket_types"].values():
        spec["patience_minutes"] = {"dist": "exponential", "mean": case.patience_minutes}
    data["name"] = f"{data['name']}_patience"
    return parse_scenario(data, case.name)


def run_case(case: Case, out: Path, seeds: int, workers: int) -> dict:
    scenario = scenario_of(case)
    settings = StaffSettings(scope=case.scope, seeds=seeds, shift_hours=case.shift_hours)
    started = time.perf_counter()
    with Runner(out / case.name / "jobs", workers=workers, progress=False) as runner:
        result = staff(scenario, case.policy, settings, runner)
    document = write_outputs(result, out / case.name)
    document["bench_wall_seconds"] = time.perf_counter() - started
    if case.scenario == "single_queue_day":
        spec = scenario.ticket_types["calls"]
        theta = 1 / case.patience_minutes if case.patience_minutes else 0.0
        document["erlang_by_hour"] = [
            required_agents(spec.rate_at_hour(h) / 60, 1 / spec.handle_minutes.mean,
                            spec.sla_minutes, spec.sla_target, theta) for h in range(24)]
    return document


def case_markdown(case: Case, doc: dict) -> str:
    plans = {p["plan"]: p for p in doc["plans"]}
    lines = [f"### {case.name}: {doc['scenario']} under {doc['policy']}, {doc['scope']} scope"
             + (f", shifts of {case.shift_hours} h" if case.shift_hours else ""), "",
             f"wall {doc['bench_wall_seconds']:.0f} s ({doc['jobs']['simulated']} simulated days, "
             f"{doc['search']['iterations']} search steps); meets every target on "
             f"{len(doc['verification_seeds'])} fresh days: {doc['meets_all_targets']} "
             f"({doc['targets_checked']['met']} of {doc['targets_checked']['checked']}; clearly "
             f"short: {', '.join(doc['targets_checked']['clearly_short']) or 'none'})", "",
             "| roster | agent-hours | cost | " + " | ".join(
                 r["ticket_type"] for r in doc["service_levels"]) + " |",
             "|---|---:|---:|" + "---:|" * len(doc["service_levels"])]
    for name in ("staffed", "erlang_per_type", "original"):
        plan = plans[name]
        levels = " | ".join(f"{100 * r['service_level']:.1f} ±{50 * (r['ci_high'] - r['ci_low']):.1f}"
                            for r in plan["by_type"])
        lines.append(f"| {plan['label']} | {plan['agent_hours']:.0f} | {plan['cost']:.1f} | "
                     f"{levels} |")
    lines.append("| target | | | " + " | ".join(f"{100 * r['sla_target']:.0f}"
                                                 for r in doc["service_levels"]) + " |")
    if "erlang_by_hour" in doc:
        staffed = doc["roster"]["agents"]
        erlang = doc["erlang_by_hour"]
        hourly = {r["hour"]: r for r in doc["hourly"]}
        lines += ["", "| hour | " + " | ".join(f"{h}" for h in range(24)) + " |",
                  "|---|" + "---:|" * 24,
                  "| Erlang | " + " | ".join(str(v) for v in erlang) + " |",
                  "| staffed | " + " | ".join(str(v) for v in staffed) + " |",
                  "| SL % | " + " | ".join(f"{100 * hourly[h]['service_level']:.0f}"
                                           for h in range(24)) + " |",
                  "", f"largest difference from Erlang: "
                      f"{int(np.abs(np.array(staffed) - np.array(erlang)).max())} agent(s)"]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--cases", default=None, help="Comma-separated case names [default: all].")
@click.option("--seeds", default=10, show_default=True)
@click.option("--workers", default=2, show_default=True)
def bench(out: Path, cases: str | None, seeds: int, workers: int) -> None:
    chosen = [c for c in CASES if cases is None or c.name in cases.split(",")]
    parts = []
    for case in chosen:
        click.echo(f"{case.name} ...", err=True)
        document = run_case(case, out, seeds, workers)
        (out / case.name / "bench.json").write_text(json.dumps(
            {"wall_seconds": document["bench_wall_seconds"]}))
        parts.append(case_markdown(case, document))
        click.echo(parts[-1])
    write_text("\n".join(parts), out / "bench.md")


if __name__ == "__main__":
    bench()
