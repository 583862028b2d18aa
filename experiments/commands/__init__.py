"""The `routelab` subcommands: options and help only, so that `--help` starts at once."""
