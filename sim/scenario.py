"""Scenario files: read once, validated whole, frozen.

A scenario is one YAML file (schema in docs/DESIGN.md). `load_scenario` turns
it into a `Scenario`; anything wrong becomes a `ScenarioError` that names the
file and the field path, so the command line can print one line and exit 2.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim import limits
from sim.scenario_files import SCENARIO_DIR, list_scenarios, read_document, resolve_scenario_path
from sim.scenario_rules import (
    LIMITS_DOC,
    FieldError,
    ScenarioError,
    above_limit,
    check_name,
    check_scenario,
)

__all__ = ["SCENARIO_DIR", "ScenarioError", "Scenario", "load_scenario", "parse_scenario",
           "list_scenarios", "resolve_scenario_path"]

HOURS_PER_DAY = 24
MINUTES_PER_HOUR = 60.0


def _not_a_boolean(value: object) -> object:
    # YAML reads true/false/yes/no/on/off as booleans, and pydantic would take them as 1 and 0.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


def _at_most(limit: float, unit: str = "") -> AfterValidator:
    def check(value: float) -> float:
        if value > limit:
            raise ValueError(above_limit(value, limit, unit))
        return value
    return AfterValidator(check)


# Every number in a scenario: finite (the models forbid inf and NaN), never a boolean.
Number = Annotated[float, BeforeValidator(_not_a_boolean)]
Count = Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=0), _at_most(limits.MAX_AGENTS, " agents")]
Name = Annotated[str, AfterValidator(check_name)]
Hours = Annotated[Number, Field(ge=0), _at_most(limits.MAX_HORIZON_HOURS, " hours")]
PositiveHours = Annotated[Number, Field(gt=0), _at_most(limits.MAX_HORIZON_HOURS, " hours")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Distribution(_Frozen):
    """A positive random duration in minutes, given by its mean and cv."""

    dist: Literal["exponential", "lognormal", "gamma", "deterministic"]
    mean: Annotated[Number, Field(gt=0)]
    cv: Annotated[Number, Field(ge=0), _at_most(limits.MAX_CV)] | None = None

    @model_validator(mode="after")
    def _cv_where_needed(self) -> Distribution:
        if self.dist in ("lognormal", "gamma") and self.cv is None:
            raise FieldError("cv", f"required for {self.dist}")
        if self.dist == "gamma" and self.cv == 0:
            raise FieldError("cv", "must be > 0 for gamma (use deterministic)")
        return self


class TicketType(_Frozen):
    channel: Literal["chat", "phone", "email"] = "chat"
    arrivals_per_hour: Annotated[Number, Field(ge=0),
                                 _at_most(limits.MAX_ARRIVALS_PER_HOUR, " per hour")]
    hourly_profile: tuple[Number, ...] | None = None
    handle_minutes: Distribution
    patience_minutes: Distribution | None = None
    sla_minutes: Annotated[Number, Field(gt=0), _at_most(limits.MAX_SLA_MINUTES, " minutes")] | None = None
    sla_target: Annotated[Number, Field(ge=0, le=1)] | None = None
    wait_cost_per_minute: Annotated[Number, Field(ge=0), _at_most(limits.MAX_WAIT_COST_PER_MINUTE)] = 1.0
    abandon_cost: Annotated[Number, Field(ge=0), _at_most(limits.MAX_ABANDON_COST)] = 0.0
    transfers: dict[str, Number] = Field(default_factory=dict)

    @field_validator("hourly_profile")
    @classmethod
    def _profile_is_a_day(cls, profile: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if profile is None:
            return None
        if len(profile) != HOURS_PER_DAY:
            raise ValueError(f"needs {HOURS_PER_DAY} numbers, got {len(profile)}")
        if any(p < 0 or not math.isfinite(p) for p in profile):
            raise ValueError("numbers must be finite and >= 0")
        return profile

    @model_validator(mode="after")
    def _durations_within_limits(self) -> TicketType:
        for field, dist, limit in (("handle_minutes", self.handle_minutes, limits.MAX_HANDLE_MEAN_MINUTES),
                                   ("patience_minutes", self.patience_minutes,
                                    limits.MAX_PATIENCE_MEAN_MINUTES)):
            if dist is not None and dist.mean > limit:
                raise FieldError(f"{field}.mean", above_limit(dist.mean, limit, " minutes"))
        return self

    @field_validator("transfers")
    @classmethod
    def _transfer_probabilities(cls, transfers: dict[str, float]) -> dict[str, float]:
        for target, p in transfers.items():
            if not 0 <= p <= 1:
                raise ValueError(f"probability for {target} must be in [0, 1], got {p}")
        if sum(transfers.values()) > 1 + 1e-9:
            raise ValueError(f"probabilities add up to {sum(transfers.values()):g} > 1")
        return transfers

    def rate_at_hour(self, hour_of_day: int) -> float:
        """Arrivals per hour in that hour of the day, before any surge."""
        factor = 1.0 if self.hourly_profile is None else self.hourly_profile[hour_of_day]
        return self.arrivals_per_hour * factor


class Shift(_Frozen):
    start_hour: Annotated[Number, Field(ge=0, le=HOURS_PER_DAY)]
    end_hour: Annotated[Number, Field(ge=0, le=HOURS_PER_DAY)]
    agents: Count

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start_hour == self.end_hour:
            raise FieldError("end_hour", "equals start_hour (for all day use 0 and 24)")
        return self

    def covers(self, hour_of_day: float) -> bool:
        """True while the shift is on; a shift with end < start wraps midnight."""
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour_of_day < self.end_hour
        return hour_of_day >= self.start_hour or hour_of_day < self.end_hour


class AgentGroup(_Frozen):
    agents: Count | None = None
    shifts: tuple[Shift, ...] | None = None
    skills: dict[str, Number]
    cost_per_agent_hour: Annotated[Number, Field(gt=0), _at_most(limits.MAX_COST_PER_AGENT_HOUR)] = 1.0

    @model_validator(mode="after")
    def _one_staffing_rule(self) -> AgentGroup:
        if (self.agents is None) == (self.shifts is None):
            raise FieldError("agents", "give either agents (a constant head count) or shifts")
        for ticket_type, speed in self.skills.items():
            if not speed > 0 or not math.isfinite(speed):
                raise FieldError(f"skills.{ticket_type}", f"speed must be > 0, got {speed}")
            if not limits.MIN_SKILL_SPEED <= speed <= limits.MAX_SKILL_SPEED:
                raise FieldError(f"skills.{ticket_type}",
                                 f"speed {speed:g} is outside {limits.MIN_SKILL_SPEED:g} to "
                                 f"{limits.MAX_SKILL_SPEED:g} (see {LIMITS_DOC})")
        if not self.skills:
            raise FieldError("skills", "must name at least one ticket type")
        return self

    def scheduled_agents(self, hour_of_day: float) -> int:
        """Head count by the staffing plan at that time of day."""
        if self.shifts is None:
            return self.agents or 0
        return sum(s.agents for s in self.shifts if s.covers(hour_of_day))

    def boundaries_of_day(self) -> list[float]:
        """Times of day (hours) at which the planned head count may change."""
        if self.shifts is None:
            return []
        return sorted({h % HOURS_PER_DAY for s in self.shifts for h in (s.start_hour, s.end_hour)})


class Surge(_Frozen):
    kind: Literal["surge"]
    ticket_types: tuple[str, ...]
    start_hour: Hours
    end_hour: PositiveHours
    factor: Annotated[Number, Field(ge=0), _at_most(limits.MAX_SURGE_FACTOR)]


class Absence(_Frozen):
    kind: Literal["absence"]
    group: str
    start_hour: Hours
    end_hour: PositiveHours
    agents: Count


Event = Annotated[Surge | Absence, Field(discriminator="kind")]


class Scenario(_Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=limits.MAX_NAME_LENGTH)
    description: str = ""
    horizon_hours: PositiveHours
    warmup_hours: Hours = 0.0
    ticket_types: dict[Name, TicketType]
    agent_groups: dict[Name, AgentGroup]
    events: tuple[Event, ...] = ()

    @model_validator(mode="after")
    def _whole_scenario(self) -> Scenario:
        check_scenario(self)  # sim/scenario_rules.py
        return self

    @property
    def type_names(self) -> list[str]:
        return list(self.ticket_types)

    @property
    def group_names(self) -> list[str]:
        return list(self.agent_groups)

    @property
    def horizon_minutes(self) -> float:
        return self.horizon_hours * MINUTES_PER_HOUR

    @property
    def warmup_minutes(self) -> float:
        return self.warmup_hours * MINUTES_PER_HOUR

    @property
    def counted_hours(self) -> float:
        return self.horizon_hours - self.warmup_hours

    def content(self) -> dict:
        """The validated content as JSON data, every default filled in.

        Fields added after the first version appear only when set, so a
        scenario that does not use them reads (and hashes) as it always did.
        """
        content = self.model_dump(mode="json")
        for group in content["agent_groups"].values():
            if group["cost_per_agent_hour"] == 1.0:
                del group["cost_per_agent_hour"]
        return content

    def sha256(self) -> str:
        """Hash of `content()` as canonical JSON: comments and layout do not change it."""
        canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def offered_load(self) -> float:
        """Work arriving over the horizon at speed 1, divided by staffed agent-hours.

        Only a rough guide (skills and speeds are ignored); used for warnings.
        Each hour of the horizon is taken at its middle; the sums run over the
        24 hours of a day, each counted as often as the horizon has it.
        """
        hours = math.ceil(self.horizon_hours)
        times = [hours // HOURS_PER_DAY + (h < hours % HOURS_PER_DAY) for h in range(HOURS_PER_DAY)]
        work = sum(
            spec.rate_at_hour(h) * spec.handle_minutes.mean / MINUTES_PER_HOUR * times[h]
            for spec in self.ticket_types.values()
            for h in range(HOURS_PER_DAY)
        )
        heads = sum(g.scheduled_agents(h + 0.5) * times[h]
                    for g in self.agent_groups.values() for h in range(HOURS_PER_DAY))
        return work / heads if heads else math.inf


def _error_line(source: str, error: ValidationError) -> ScenarioError:
    first = error.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]]
    # Drop the union tag pydantic puts in the path of a discriminated event,
    # and the marker it puts after a mapping key that failed.
    if len(loc) > 2 and loc[0] == "events" and loc[2] in ("surge", "absence"):
        del loc[2]
    if loc and loc[-1] == "[key]":
        del loc[-1]
    message = first["msg"]
    ctx_error = (first.get("ctx") or {}).get("error")
    if isinstance(ctx_error, FieldError):
        loc.append(ctx_error.field)
        message = ctx_error.message
    else:
        message = re.sub(r"^(Value error|Assertion failed), ", "", message)
        if first["type"] == "missing":
            message = "required"
        elif first["type"] == "finite_number":
            message = f"must be a finite number, got {first['input']}"
        elif first["type"] == "extra_forbidden":
            message = "unknown field"
    return ScenarioError(source, ".".join(loc), message)


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    """Validate an already-parsed YAML document."""
    if not isinstance(data, dict):
        raise ScenarioError(source, "", "expected a mapping of scenario fields at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise _error_line(source, error) from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read, validate and freeze one scenario file (a path or a shipped scenario's name)."""
    path = resolve_scenario_path(name_or_path)
    data = read_document(path)
    try:
        return parse_scenario(data, str(path))
    except RecursionError:
        raise ScenarioError(str(path), "", "nested too deeply to be a scenario") from None
