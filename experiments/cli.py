"""The `routelab` command line: one group, subcommands loaded when used."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from experiments.errors import EXIT_BAD_INPUT, USER_ERRORS

# name -> (module, attribute, one line of help). A command's module is imported only
# when that command runs or shows its help, and it holds options only: the work is
# imported inside the command, so every `--help` starts at once.
SUBCOMMANDS = {
    "simulate": ("experiments.commands.simulate", "simulate",
                 "Run one policy on a scenario over seeds 0..N-1 and write its tables."),
    "benchmark": ("experiments.commands.benchmark", "benchmark",
                  "Run every policy on every scenario and compare them (report.html)."),
    "train": ("experiments.commands.train", "train",
              "Train a routing policy for a scenario with stable-baselines3."),
    "sweep": ("experiments.commands.sweep", "sweep",
              "Run a grid of benchmarks or trainings declared in a YAML file."),
    "export": ("experiments.commands.export", "export",
               "Export any policy as a plain JSON lookup table, with its fidelity."),
    "report": ("experiments.commands.report", "report",
               "Rebuild report.html and the plots of a results folder from its tables."),
    "solve": ("experiments.commands.solve", "solve",
              "The exact optimal cost per hour of a small scenario."),
    "scenarios": ("experiments.commands.scenarios", "scenarios",
                  "List the shipped scenarios: name, ticket types, agent groups, hours."),
    "tune": ("experiments.commands.tune", "tune",
             "Tune the index rule of a scenario on training days (index:FILE.json)."),
    "audit": ("experiments.commands.audit", "audit",
              "Audit a policy: fairness, robustness under stress, transparency (audit.html)."),
    "staff": ("experiments.commands.staff", "staff",
              "The cheapest roster per group and hour that meets every service-level target."),
    "speed": ("benchmarks.speed", "speed",
              "Race the simulator against Ciw and plain SimPy; scaling and memory."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (mod, _, _) in SUBCOMMANDS.items() if importlib.util.find_spec(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.list_commands(ctx):
            return None
        module, attribute, _ = SUBCOMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="routelab")
def cli() -> None:
    """routelab: learn and judge ticket-routing policies for customer support."""


def usage_line(error: click.UsageError) -> str:
    """click's usage error (usage, hint and message on three lines) as one line."""
    message = " ".join(error.format_message().split())
    command = error.ctx.command_path if error.ctx is not None else "routelab"
    return f"{message.rstrip('.')} (see '{command} --help')"


def main(argv: list[str] | None = None) -> int:
    try:
        # Without standalone mode click returns an Exit's code instead of exiting.
        returned = cli.main(args=argv, prog_name="routelab", standalone_mode=False)
    except USER_ERRORS as error:
        click.echo(f"routelab: error: {error}", err=True)
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("routelab: aborted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as error:  # `routelab` alone: its help
        click.echo(error.ctx.get_help() if error.ctx else error.format_message(), err=True)
        return EXIT_BAD_INPUT
    except click.UsageError as error:
        click.echo(f"routelab: error: {usage_line(error)}", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main())
