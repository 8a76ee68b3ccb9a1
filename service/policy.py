"""The deadline and escalation policy: limits per category and stage, ladder thresholds.

A policy comes from the database (the categories an admin edits and the settings) or
from a YAML file, so that a new one can be simulated before it is published.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from service.calendar import UNITS
from workflows.errors import Invalid

STAGES = ("triage", "handling", "confirming")
# About a year, whatever the unit: a longer limit is a typo, and the working calendar
# counts ahead only so far. (`not amount <= ...` also refuses inf and nan.)
LONGEST = {"hours": 24 * 366, "working_hours": 24 * 366, "working_days": 366}


@dataclass(frozen=True)
class StageLimit:
    amount: float
    unit: str = "working_hours"

    def __post_init__(self):
        if self.unit not in UNITS:
            raise Invalid(
                f"unknown time unit {self.unit!r}",
                errors={"unit": [f"one of {', '.join(UNITS)}"]},
            )
        if not self.amount > 0:
            raise Invalid("a time limit must be positive", errors={"amount": ["> 0"]})
        if not self.amount <= LONGEST[self.unit]:
            raise Invalid(
                f"a time limit is at most {LONGEST[self.unit]:g} {self.unit}",
                errors={"amount": [f"at most {LONGEST[self.unit]:g} {self.unit}"]},
            )

    @classmethod
    def parse(cls, text) -> "StageLimit":
        """'4 working_hours', '5 working_days', '2 hours', or a bare number of hours."""
        if isinstance(text, int | float):
            return cls(float(text), "hours")
        amount, _, unit = str(text).strip().partition(" ")
        try:
            return cls(float(amount), unit.strip() or "hours")
        except ValueError as error:
            raise Invalid(
                f"not a time limit: {text!r}",
                errors={"limit": ["like '4 working_hours'"]},
            ) from error

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


@dataclass(frozen=True)
class GroupingRule:
    """When late cases count as one common problem (共性问题)."""

    radius_m: float = 300.0
    window_hours: float = 72.0
    min_cases: int = 3


@dataclass(frozen=True)
class Policy:
    limits: dict = field(default_factory=dict)  # category -> {stage: StageLimit}
    supervision_factor: float = 2.0
    supervision_on_return: int = 3
    grouping: GroupingRule = GroupingRule()

    def limit(self, category: str | None, stage: str) -> StageLimit:
        by_stage = self.limits.get(category or "other") or self.limits.get("other")
        if not by_stage or stage not in by_stage:
            raise Invalid(f"no {stage} limit for category {category!r}")
        return by_stage[stage]

    @classmethod
    def from_categories(cls, categories, **ladder) -> "Policy":
        limits = {
            c.code: {
                "triage": _stored(c.triage_hours, c.triage_unit),
                "handling": _stored(c.handling_hours, c.handling_unit),
                "confirming": _stored(c.confirm_hours, c.confirm_unit),
            }
            for c in categories
        }
        return cls(limits=limits, **ladder)

    @classmethod
    def from_yaml(cls, path: Path, base: "Policy | None" = None) -> "Policy":
        """A policy file; what it leaves out is taken from `base`."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise Invalid(f"{path} cannot be read as YAML: {error}") from error
        try:
            return cls._from_mapping(data, base or cls())
        except (AttributeError, TypeError, ValueError) as error:
            raise Invalid(f"{path} is not a policy: {error}") from error

    @classmethod
    def _from_mapping(cls, data: dict, base: "Policy") -> "Policy":
        limits = {code: dict(stages) for code, stages in base.limits.items()}
        for code, stages in (data.get("categories") or {}).items():
            known = code in limits
            limits.setdefault(code, {})
            for stage, text in (stages or {}).items():
                if stage not in STAGES:
                    raise Invalid(
                        f"unknown stage {stage!r} for {code}",
                        errors={"stage": [f"one of {', '.join(STAGES)}"]},
                    )
                limits[code][stage] = StageLimit.parse(text)
            missing = [stage for stage in STAGES if stage not in limits[code]]
            if missing and not known:
                raise Invalid(
                    f"category {code!r} is new, so it needs a limit for every "
                    f"stage; missing {', '.join(missing)}"
                )
        grouping = {**base.grouping.__dict__, **(data.get("common_problem") or {})}
        return cls(
            limits=limits,
            supervision_factor=float(
                data.get("supervision_factor", base.supervision_factor)
            ),
            supervision_on_return=int(
                data.get("supervision_on_return", base.supervision_on_return)
            ),
            grouping=GroupingRule(**grouping),
        )


def _stored(hours: float, unit: str) -> StageLimit:
    """A category keeps hours; working days are kept as their working hours.

    A limit stored before limits were capped counts as the longest one, so that one
    category's typo cannot stop every case from being timed.
    """
    unit = "hours" if unit == "hours" else "working_hours"
    if not hours <= LONGEST[unit]:
        hours = LONGEST[unit]
    return StageLimit(hours, unit)
