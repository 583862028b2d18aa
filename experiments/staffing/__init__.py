"""Workforce planning under a routing policy: `routelab staff`.

erlang: one queue's head count in closed form (Erlang C) or exactly (Erlang A).
problem: what a scenario asks of each hour (rates, targets, costs), rosters in and out.
plan: the analytic start, one Erlang team per ticket type.
evaluate: a roster on simulated days, as runner jobs, and its counts per type and hour.
cells: the targets of a scope (hour or day) and how counts move them.
search: marginal analysis with exchanges, every candidate on common random numbers.
shifts: hourly requirement -> shifts of H hours (integer programme).
whatif: one agent more or fewer at the busiest hours.
workflow: the study phase by phase; output, plot, section, terminal: what it writes.
bench: quality and speed on the reference days (a script, not a test).
"""

SCOPES = ("hour", "day")  # `--scope`: a target per type and hour, or per type over the day
