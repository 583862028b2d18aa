"""Limits that bound what one run can cost before it starts.

No sensible scenario comes near them; a typo or a hostile file does
(`horizon_hours: 1e9`, a transfer cycle with probability 1). Each one is in the
table of docs/scenario-limits.md, with its reason; a test keeps the two equal.
"""

from __future__ import annotations

from sim import seeds as _seeds

# -- the file -------------------------------------------------------------------
MAX_FILE_BYTES = 1_048_576          # a scenario with 100 types and 100 groups is ~200 kB
MAX_NAME_LENGTH = 64                # scenario, ticket type and agent group names
RESERVED_NAMES = ("ALL",)           # summary.csv's all-types row; compared ignoring case

# -- sizes ------------------------------------------------------------------------
MAX_TICKET_TYPES = 100
MAX_AGENT_GROUPS = 100
MAX_SHIFTS_PER_GROUP = 96           # one start every 15 minutes of a day
MAX_EVENTS = 200                    # a year with a weekly surge and its absences fits

# -- time -------------------------------------------------------------------------
MAX_HORIZON_HOURS = 8_784           # 366 days: a (leap) year
MAX_HANDLE_MEAN_MINUTES = 10_080    # a week of work on one ticket
MAX_PATIENCE_MEAN_MINUTES = 525_600  # a year of waiting
MAX_SLA_MINUTES = 525_600           # a year

# -- rates and shapes ---------------------------------------------------------------
MAX_ARRIVALS_PER_HOUR = 1_000_000   # also the peak: arrivals_per_hour x profile x surges
MAX_SURGE_FACTOR = 1_000
MAX_CV = 10.0
MIN_SKILL_SPEED = 0.01
MAX_SKILL_SPEED = 100.0

# -- money ------------------------------------------------------------------------
MAX_WAIT_COST_PER_MINUTE = 1e6
MAX_ABANDON_COST = 1e9
MAX_COST_PER_AGENT_HOUR = 1e6

# -- people -----------------------------------------------------------------------
MAX_AGENTS = 100_000                # one field, one group's peak, and all groups' peaks together

# -- the work of one run --------------------------------------------------------------
MAX_TRANSFER_CHAIN = 100.0          # expected tickets one arrival leads to, itself included
MAX_EXPECTED_TICKETS = 10_000_000   # per run, transfers included (~0.45 kB each in memory)
MAX_STAFFING_CHANGES = 1_000_000    # head-count changes scheduled in one run

# -- seeds (the command line: `--seeds N`, `--seed S`) ------------------------------
# Evaluation days 0..N-1 stay below the first held-out training day (1000), so
# no policy is judged on a day it was tuned on; one seed fits a signed 32-bit int.
MAX_SEEDS = _seeds.MAX_EVALUATION_SEEDS     # seeds 0..N-1 of one command (1000; sim/seeds.py)
MAX_SEED = _seeds.TRAIN_SEED_CEILING        # one seed value (2**31 - 1)
