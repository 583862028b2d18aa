"""The errors agents/ raises for bad input; `str()` of each is the one line users see."""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy that cannot be made (unknown name, unreadable or mismatched file)."""


class TrainingConfigError(ValueError):
    """A training configuration that cannot be used."""
