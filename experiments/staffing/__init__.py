"""Workforce planning under a routing policy: `routelab staff`.

erlang: analytic head counts per ticket type and hour (Erlang C, Erlang A).
demand: what the scenario asks of each hour (rates, targets, rosters).
evaluate: a roster on simulated days, as runner jobs, and its service levels.
search: marginal analysis by simulation with common random numbers.
shifts: hourly requirement -> shifts of H hours (integer programme).
whatif: one agent more or less at the busiest hours.
output, section: the files and the report section.
"""
