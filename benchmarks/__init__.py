"""Benchmarks of routelab: speed against Ciw and SimPy, and lookup-table latency."""
