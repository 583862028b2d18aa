"""The exact optimum of small scenarios: the routing MDP and its solver."""
