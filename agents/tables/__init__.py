"""Lookup tables: build them from any policy, read them, and measure their fidelity."""
