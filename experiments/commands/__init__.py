"""The `routelab` subcommands: options and help only, so that `--help` starts at once."""

# sim.seeds.MAX_EVALUATION_SEEDS (a test holds them equal): evaluation seeds are
# 0..N-1 with N at most this. Not imported from sim.seeds, which imports numpy.
MAX_EVALUATION_SEEDS = 1000
