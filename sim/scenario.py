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

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
HOURS_PER_DAY = 24
MINUTES_PER_HOUR = 60.0


class ScenarioError(ValueError):
    """A scenario that cannot be used; `str()` is the one line shown to users."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source, self.field, self.message = source, field, message
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + message)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Distribution(_Frozen):
    """A positive random duration in minutes, given by its mean and cv."""

    dist: Literal["exponential", "lognormal", "gamma", "deterministic"]
    mean: float = Field(gt=0)
    cv: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _cv_where_needed(self) -> Distribution:
        if self.dist in ("lognormal", "gamma") and self.cv is None:
            raise _FieldError("cv", f"required for {self.dist}")
        if self.dist == "gamma" and self.cv == 0:
            raise _FieldError("cv", "must be > 0 for gamma (use deterministic)")
        return self

    @property
    def effective_cv(self) -> float:
        """The coefficient of variation the draws actually have."""
        return {"exponential": 1.0, "deterministic": 0.0}.get(self.dist, self.cv or 0.0)


class TicketType(_Frozen):
    channel: Literal["chat", "phone", "email"] = "chat"
    arrivals_per_hour: float = Field(ge=0)
    hourly_profile: tuple[float, ...] | None = None
    handle_minutes: Distribution
    patience_minutes: Distribution | None = None
    sla_minutes: float | None = Field(default=None, gt=0)
    sla_target: float | None = Field(default=None, ge=0, le=1)
    wait_cost_per_minute: float = Field(default=1.0, ge=0)
    abandon_cost: float = Field(default=0.0, ge=0)
    transfers: dict[str, float] = Field(default_factory=dict)

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
    start_hour: float = Field(ge=0, le=HOURS_PER_DAY)
    end_hour: float = Field(ge=0, le=HOURS_PER_DAY)
    agents: int = Field(ge=0)

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start_hour == self.end_hour:
            raise _FieldError("end_hour", "equals start_hour (for all day use 0 and 24)")
        return self

    def covers(self, hour_of_day: float) -> bool:
        """True while the shift is on; a shift with end < start wraps midnight."""
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour_of_day < self.end_hour
        return hour_of_day >= self.start_hour or hour_of_day < self.end_hour


class AgentGroup(_Frozen):
    agents: int | None = Field(default=None, ge=0)
    shifts: tuple[Shift, ...] | None = None
    skills: dict[str, float]
    cost_per_agent_hour: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _one_staffing_rule(self) -> AgentGroup:
        if (self.agents is None) == (self.shifts is None):
            raise _FieldError("agents", "give either agents (a constant head count) or shifts")
        for ticket_type, speed in self.skills.items():
            if not speed > 0 or not math.isfinite(speed):
                raise _FieldError(f"skills.{ticket_type}", f"speed must be > 0, got {speed}")
        if not self.skills:
            raise _FieldError("skills", "must name at least one ticket type")
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
    start_hour: float = Field(ge=0)
    end_hour: float = Field(gt=0)
    factor: float = Field(ge=0)


class Absence(_Frozen):
    kind: Literal["absence"]
    group: str
    start_hour: float = Field(ge=0)
    end_hour: float = Field(gt=0)
    agents: int = Field(ge=0)


Event = Annotated[Surge | Absence, Field(discriminator="kind")]


class Scenario(_Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    description: str = ""
    horizon_hours: float = Field(gt=0)
    warmup_hours: float = Field(default=0.0, ge=0)
    ticket_types: dict[str, TicketType]
    agent_groups: dict[str, AgentGroup]
    events: tuple[Event, ...] = ()

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        if not self.ticket_types:
            raise _FieldError("ticket_types", "must name at least one ticket type")
        if not self.agent_groups:
            raise _FieldError("agent_groups", "must name at least one agent group")
        if self.warmup_hours >= self.horizon_hours:
            raise _FieldError("warmup_hours", "must be < horizon_hours")
        for group_name, group in self.agent_groups.items():
            for ticket_type in group.skills:
                if ticket_type not in self.ticket_types:
                    raise _FieldError(
                        f"agent_groups.{group_name}.skills.{ticket_type}", "unknown ticket type"
                    )
        served = {t for g in self.agent_groups.values() for t in g.skills}
        for ticket_type, spec in self.ticket_types.items():
            if ticket_type not in served:
                raise _FieldError(f"ticket_types.{ticket_type}", "no agent group has this skill")
            for target in spec.transfers:
                if target not in self.ticket_types:
                    raise _FieldError(
                        f"ticket_types.{ticket_type}.transfers.{target}", "unknown ticket type"
                    )
        for i, event in enumerate(self.events):
            if event.end_hour <= event.start_hour:
                raise _FieldError(f"events.{i}.end_hour", "must be > start_hour")
            if isinstance(event, Surge):
                for ticket_type in event.ticket_types:
                    if ticket_type not in self.ticket_types:
                        raise _FieldError(f"events.{i}.ticket_types", f"unknown type {ticket_type}")
            elif event.group not in self.agent_groups:
                raise _FieldError(f"events.{i}.group", f"unknown agent group {event.group}")
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
        """
        hours = [h + 0.5 for h in range(math.ceil(self.horizon_hours))]
        work = sum(
            spec.rate_at_hour(int(h) % HOURS_PER_DAY) * spec.handle_minutes.mean / MINUTES_PER_HOUR
            for spec in self.ticket_types.values()
            for h in hours
        )
        heads = sum(g.scheduled_agents(h % HOURS_PER_DAY)
                    for g in self.agent_groups.values() for h in hours)
        return work / heads if heads else math.inf


class _FieldError(ValueError):
    """Raised inside validators to point at a sub-field of the model being checked."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _error_line(source: str, error: ValidationError) -> ScenarioError:
    first = error.errors(include_url=False)[0]
    # Drop the union tag pydantic puts in the path of a discriminated event.
    loc = [str(p) for p in first["loc"] if p not in ("surge", "absence")]
    message = first["msg"]
    ctx_error = (first.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _FieldError):
        loc.append(ctx_error.field)
        message = ctx_error.message
    else:
        message = re.sub(r"^(Value error|Assertion failed), ", "", message)
        if first["type"] == "missing":
            message = "required"
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


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A path as given, or the name of a file in scenarios/ (with or without .yaml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in (SCENARIO_DIR / f"{name_or_path}.yaml", SCENARIO_DIR / f"{name_or_path}.yml",
                      SCENARIO_DIR / str(name_or_path)):
        if candidate.is_file():
            return candidate
    known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
    raise ScenarioError(str(name_or_path), "", f"no such file or scenario (known: {known})")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read, validate and freeze one scenario file."""
    path = resolve_scenario_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(str(path), "", f"cannot read: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        problem = getattr(error, "problem", error)
        raise ScenarioError(str(path), where, f"not valid YAML ({problem})") from None
    return parse_scenario(data, str(path))


def list_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.yaml"))
