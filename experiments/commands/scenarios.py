"""`routelab scenarios`: the shipped scenarios, or the files given, one line each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sim.scenario import Scenario


def describe(scenario: Scenario) -> tuple[str, ...]:
    """The columns of one line: name, ticket types, agent groups, hours, description."""
    types, groups = len(scenario.ticket_types), len(scenario.agent_groups)
    return (scenario.name, f"{types} type{'s' * (types != 1)}", f"{groups} group{'s' * (groups != 1)}",
            f"{scenario.horizon_hours:g} h", scenario.description)


@click.command()
@click.argument("files", nargs=-1)
def scenarios(files: tuple[str, ...]) -> None:
    """List the shipped scenarios: name, ticket types, agent groups, hours.

    With FILES (paths or scenario names), check each one and list it the same
    way; the first that is not valid is reported in one line (exit status 2).
    """
    from sim.scenario import list_scenarios, load_scenario  # --help stays light

    rows = [describe(load_scenario(f)) for f in files or [p.stem for p in list_scenarios()]]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for name, types, groups, hours, description in rows:
        click.echo(f"{name:<{widths[0]}}  {types:>{widths[1]}}  {groups:>{widths[2]}}  "
                   f"{hours:>{widths[3]}}  {description}".rstrip())
