"""The `routelab` command line: one group, subcommands loaded when used."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from experiments.errors import EXIT_BAD_INPUT, USER_ERRORS

# name -> (module, attribute); a module is imported only when its command runs,
# so `routelab simulate` never pays for torch, Ray or matplotlib.
SUBCOMMANDS = {
    "simulate": ("experiments.simulate", "simulate"),
    "train": ("experiments.train", "train"),
    "benchmark": ("experiments.benchmark", "benchmark"),
    "sweep": ("experiments.sweep", "sweep"),
    "export": ("experiments.export", "export"),
    "report": ("experiments.report", "report"),
    "solve": ("experiments.solve", "solve"),
    "speed": ("experiments.speed", "speed"),
    "staff": ("experiments.staff", "staff"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (mod, _) in SUBCOMMANDS.items() if importlib.util.find_spec(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.list_commands(ctx):
            return None
        module, attribute = SUBCOMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="routelab")
def cli() -> None:
    """routelab: learn and judge ticket-routing policies for customer support."""


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
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main())
