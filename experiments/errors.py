"""Errors that are the user's to fix: shown as one line, exit status 2."""

from __future__ import annotations

from agents.errors import PolicyError, TrainingConfigError
from sim.scenario import ScenarioError


class UserError(ValueError):
    """Bad input other than a scenario or policy (a file, an option value)."""


USER_ERRORS = (UserError, ScenarioError, PolicyError, TrainingConfigError)
EXIT_BAD_INPUT = 2
