"""The exact optimum of small scenarios: the routing MDP and its solver."""

MAX_STATES = 250_000  # the largest MDP the solver takes on (states before caps grow)
