"""Routing policies: heuristics, the tuned index rule (index/), the exact optimum of small
scenarios (exact/), learned policies and their SB3 training (rl/), and lookup tables (tables/)."""
