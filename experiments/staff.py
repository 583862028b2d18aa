"""`routelab staff`: the cheapest head count per group and hour that meets every target.

Parse, check the scenario and the policy, run the study (experiments/staffing),
write staffing.csv, staffed.yaml, staff.json, plots/staffing.png and report.html.
Every simulated day is a runner job with its own file under jobs/, so an
interrupted study resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from agents.registry import make_policy
from experiments.errors import UserError
from experiments.runner import Runner
from experiments.staffing.problem import staffing_problem
from experiments.staffing.search import Step
from experiments.staffing.workflow import StaffSettings
from experiments.staffing.workflow import staff as run_study
from sim.scenario import HOURS_PER_DAY, load_scenario


def run(scenario: str, policy_spec: str, scope: str, seeds: int, verify_seeds: int,
          shift_hours: int | None, margin: float, max_iterations: int, what_if: bool,
          backend: str, address: str | None, workers: int | None, out: Path,
          jobs_dir: Path | None, quiet: bool) -> None:
    """The work of `routelab staff`; its options and help: experiments/commands/staff.py."""
    spec = load_scenario(scenario)
    make_policy(policy_spec, spec)  # fail fast, before any work
    staffing_problem(spec)  # a scenario without targets has nothing to staff for
    if shift_hours is not None and not 1 <= shift_hours <= HOURS_PER_DAY:
        raise UserError(f"--shift-hours: must be between 1 and {HOURS_PER_DAY}, got {shift_hours}")
    if not 0 <= margin < 0.5:
        raise UserError(f"--margin: must be in [0, 0.5), got {margin:g}")
    if address and backend != "ray":
        raise UserError("--address: only with --backend ray")
    settings = StaffSettings(scope=scope, seeds=seeds, verify_seeds=verify_seeds,
                             shift_hours=shift_hours, margin=margin,
                             max_iterations=max_iterations, what_if=what_if)
    runner = Runner(jobs_dir or out / "jobs", backend=backend, workers=workers, address=address,
                    progress=not quiet, description="simulating")
    bars: list[tqdm] = []

    def on_step(step: Step) -> None:
        if not bars:
            return
        if step.iteration:
            bars[-1].update(1)
        bars[-1].set_postfix_str(f"{step.action}: {step.agent_hours:,.0f} agent-hours, "
                                 f"{step.cells_short} target(s) short")

    def on_phase(phase: str) -> None:
        for bar in bars:
            bar.close()
        if phase in ("search", "shifts"):  # the searches: steps, at most max_iterations
            bars.append(tqdm(total=max_iterations, desc=f"{spec.name}: {phase} (steps, at most)",
                             unit="step", disable=quiet, dynamic_ncols=True))
        elif not quiet:
            tqdm.write(f"{spec.name}: {phase}")

    try:
        with runner:
            result = run_study(spec, policy_spec, settings, runner, on_step, on_phase)
    finally:
        for bar in bars:
            bar.close()
    from experiments.staffing.output import write_outputs

    try:
        document = write_outputs(result, out)
    except OSError as error:
        raise UserError(f"--out {out}: cannot write ({error.strerror or error})") from None
    if not quiet:
        from experiments.staffing.terminal import print_study

        print_study(document)
        click.echo(f"wrote {out}/ (staffing.csv, staffed.yaml, staff.json, plots/staffing.png, "
                   "report.html)")
