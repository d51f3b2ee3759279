"""The retention policy (include/policy/retention.yaml) as typed, validated models.

Identifiers are refused unless they match [a-z_][a-z0-9_]*, and are quoted with
psycopg.sql.Identifier wherever they reach SQL. Loading and its errors are in
policy_files; the check against the live database is in schema_check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)

from governance import settings
from governance.policy_files import Loaded, load_model

__all__ = ["Loaded", "Period", "RetentionPolicy", "RetentionRule", "load_retention_policy"]


Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$", max_length=63)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)]

_PERIOD = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")
MAX_PERIOD_YEARS = 100  # a longer period is a typo, and its cutoff would fall before year 1


@dataclass(frozen=True)
class Period:
    """A calendar period (years, months, days) as in ISO 8601: P30D, P13M, P7Y, P1Y6M."""

    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text) if isinstance(text, str) and text != "P" else None
        if match is None:
            raise ValueError(f"{text!r} is not a non-negative ISO 8601 period such as P30D, P13M or P7Y")
        period = cls(**{unit: int(value) for unit, value in match.groupdict().items() if value})
        if period.years * 366 + period.months * 31 + period.days > MAX_PERIOD_YEARS * 366:
            raise ValueError(f"{text!r} is longer than P{MAX_PERIOD_YEARS}Y, the longest period a rule may have")
        return period

    def before(self, moment: datetime) -> datetime:
        """The instant this period before `moment` (calendar arithmetic: P1M before 31 March is 28/29 Feb)."""
        from dateutil.relativedelta import relativedelta

        return moment - relativedelta(years=self.years, months=self.months, days=self.days)

    def after(self, moment: datetime) -> datetime:
        """The instant this period after `moment` (calendar arithmetic, as `before`)."""
        from dateutil.relativedelta import relativedelta

        return moment + relativedelta(years=self.years, months=self.months, days=self.days)

    def __str__(self) -> str:
        parts = [f"{value}{unit}" for value, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if value]
        return "P" + ("".join(parts) or "0D")

    def words(self) -> str:
        """The period as the policy says it: "30 days", "13 months", "1 year and 6 months"."""
        parts = [f"{value} {unit}{'s' if value != 1 else ''}"
                 for value, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day")) if value]
        return " and ".join(parts) or "0 days"


def _to_period(value: Any) -> Period:
    return value if isinstance(value, Period) else Period.parse(value)


PeriodField = Annotated[Period, BeforeValidator(_to_period), PlainSerializer(str)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class DocumentRef(Strict):
    title: str
    effective: date
    section: str | None = None


class ColumnEquals(Strict):
    """A row filter: `column = value`, with the value bound as a parameter."""

    column: Identifier
    equals: str | int | bool


class CascadeStep(Strict):
    table: Identifier
    subject_column: Identifier
    action: Literal["delete", "pseudonymise"]
    media_column: Identifier | None = None
    pseudonym_column: Identifier | None = None
    # Why the law keeps these rows past the account, in plain words: the erasure certificate quotes it.
    retained_because: str | None = Field(None, min_length=1)
    where: ColumnEquals | None = None

    @model_validator(mode="after")
    def _fields_fit_action(self) -> Self:
        if self.media_column and self.action != "delete":
            raise ValueError("media_column is only allowed with action 'delete'")
        if (self.pseudonym_column is None) == (self.action == "pseudonymise"):
            raise ValueError("pseudonym_column is required with action 'pseudonymise', and only then")
        if (self.retained_because is None) == (self.action == "pseudonymise"):
            raise ValueError("retained_because is required with action 'pseudonymise', and only then")
        return self


class PeriodByColumn(Strict):
    """Periods that depend on a column's value, such as a payment's billing country."""

    column: Identifier
    periods: dict[CountryCode, PeriodField]
    default: PeriodField


class FlaggedBy(Strict):
    """Rows of `table` whose `column` points at the rule's key and that match `where`."""

    table: Identifier
    column: Identifier
    where: ColumnEquals


class ArchiveSpec(Strict):
    """Where and how a rule's rows are archived before they are deleted from the table.

    Objects go under `prefix/month=YYYY-MM/`, one group per event month, each locked in
    COMPLIANCE mode until its newest event + `retain_for`, and are deleted when that passes.
    `columns` are copied as they are, except the subject column, which the archive never
    holds: it keeps the person's pseudonym instead (HMAC with the pseudonym key).
    """

    format: Literal["parquet"] = "parquet"
    prefix: str = Field(pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)*$")
    object_lock: Literal["compliance"] = "compliance"
    retain_for: PeriodField
    columns: list[Identifier] = Field(min_length=1)
    pseudonym_column: Identifier  # the table's column that holds the pseudonym of erased people
    categories: list[Code] = Field(min_length=1)  # the values of `category`, for the retrieval form
    max_rows_per_object: int = Field(200_000, ge=1, le=5_000_000)


RuleAction = Literal["delete", "erase_subject", "delete_media", "archive_then_delete"]
# What each action does, in words for a reader who is not an engineer; the reports quote these.
ACTION_MEANINGS: dict[str, str] = {
    "delete": "deleted: the rows are removed from the database, with their image or video files where they have any",
    "erase_subject": "account erased: the account and everything about the person are deleted, with their files; "
                     "what the law requires us to keep is pseudonymised instead",
    "delete_media": "media deleted: the image or video file is deleted; the row stays, marked with when its file "
                    "was deleted",
    "archive_then_delete": "archived: moved to a write-once archive, checked, then deleted from the database; the "
                           "archive deletes it in turn when its period ends",
}
Category = Literal[
    "account_data", "generations", "uploads", "prohibited_content", "payment_data",
    "device_data", "usage_statistics", "moderation_logs", "cookies",
]

# What each action needs besides table and key.
_REQUIRED_BY_ACTION: dict[str, tuple[str, ...]] = {
    "delete": ("clock",),
    "erase_subject": ("clock", "period", "cascade"),
    "delete_media": ("media_column", "marker_column", "flagged_by"),
    "archive_then_delete": ("clock", "period", "archive", "subject_column"),
}


class RetentionRule(Strict):
    name: Identifier
    category: Category
    promise: str = Field(min_length=1)
    workflow: Literal["retention_purge", "moderation_log_archival"]
    action: RuleAction
    table: Identifier
    key: Identifier
    clock: Identifier | None = None
    # The moment the clock starts, in the policy's words ("the account is deleted"); reports say the
    # period with it. Without it, they name the clock column.
    clock_starts: str | None = Field(None, min_length=1)
    period: PeriodField | None = None
    period_by: PeriodByColumn | None = None
    subject_column: Identifier | None = None
    # False only for a table that holds nothing about any person; every other rule must say,
    # through subject_column, how its rows reach a person, or it could not honour legal holds.
    personal_data: bool = True
    media_column: Identifier | None = None
    marker_column: Identifier | None = None
    where: ColumnEquals | None = None
    cascade: list[CascadeStep] = Field(default_factory=list)
    flagged_by: FlaggedBy | None = None
    archive: ArchiveSpec | None = None

    @model_validator(mode="after")
    def _fields_fit_action(self) -> Self:
        missing = [name for name in _REQUIRED_BY_ACTION[self.action] if not getattr(self, name)]
        if missing:
            raise ValueError(f"action {self.action!r} needs {', '.join(missing)}")
        if self.personal_data and not self.subject_column:
            raise ValueError(
                "subject_column is required: it names the column that links a row to a person, without which "
                "legal holds cannot be honoured (set personal_data: false only for a table that holds no personal data)"
            )
        if not self.personal_data and (self.subject_column or self.cascade or self.action == "erase_subject"):
            raise ValueError("personal_data: false contradicts subject_column, cascade and action 'erase_subject'")
        if self.action == "delete" and (self.period is None) == (self.period_by is None):
            raise ValueError("action 'delete' needs exactly one of period and period_by")
        if self.period_by is not None and self.action != "delete":
            raise ValueError("period_by is only allowed with action 'delete'")
        if (self.action == "archive_then_delete") != (self.archive is not None):
            raise ValueError("archive is required with action 'archive_then_delete', and only then")
        if self.archive is not None:
            missing = [name for name in (self.key, self.clock) if name not in self.archive.columns]
            if missing:
                # The archival deletes exactly the rows its verified object holds, by key and clock, read back
                # from the object: the clock is part of the key of a table partitioned on it.
                raise ValueError(f"archive.columns must include the rule's key and clock (missing: "
                                 f"{', '.join(missing)}): the rows are deleted by both, as the object holds them")
        return self

    def period_words(self) -> str:
        """How long the rule keeps a row, as the policy says it: "30 days after the account is deleted"."""
        event = self.clock_starts or (f"the time in {self.table}.{self.clock}" if self.clock else
                                      "the row is flagged")
        if self.period_by is not None:
            by_period: dict[Period, list[str]] = {}
            for value, period in sorted(self.period_by.periods.items()):
                by_period.setdefault(period, []).append(value)
            by_period.setdefault(self.period_by.default, []).append("any other")
            cases = [f"{period.words()} ({', '.join(values)})" for period, values in
                     sorted(by_period.items(), key=lambda item: (item[0].years, item[0].months, item[0].days))]
            listed = ", ".join(cases[:-1]) + f" or {cases[-1]}" if len(cases) > 1 else cases[0]
            return f"{listed} after {event}, by {self.period_by.column.replace('_', ' ')}"
        if self.period is None or self.period == Period():
            words = f"at the first nightly run after {event}"
        else:
            words = f"{self.period.words()} after {event}"
        if self.archive is not None:
            words += f", then in the write-once archive until {self.archive.retain_for.words()} after {event}"
        return words

    def columns_by_table(self, subject_table: str) -> dict[str, set[str]]:
        """Every table and column this rule reads or writes, for the live-database check."""
        needed: dict[str, set[str]] = {}

        def add(table: str, *columns: str | None) -> None:
            needed.setdefault(table, set()).update(column for column in columns if column)

        add(self.table, self.key, self.clock, self.subject_column, self.media_column, self.marker_column)
        add(self.table, self.where.column if self.where else None)
        add(self.table, self.period_by.column if self.period_by else None)
        for step in self.cascade:
            add(step.table, step.subject_column, step.media_column, step.pseudonym_column)
            add(step.table, step.where.column if step.where else None)
        if self.flagged_by:
            add(self.flagged_by.table, self.flagged_by.column, self.flagged_by.where.column)
        if self.archive:
            add(self.table, *self.archive.columns, self.archive.pseudonym_column)
        if self.subject_column:
            add(subject_table)
        return needed


class Subject(Strict):
    """The table that holds the people the policy protects."""

    table: Identifier
    key: Identifier


MAX_BATCH_SIZE = 100_000


class Defaults(Strict):
    batch_size: int = Field(5000, ge=1, le=MAX_BATCH_SIZE)
    max_rows_per_rule: int = Field(1_000_000, ge=1)


class RetentionPolicy(Strict):
    version: Literal[1]
    document: DocumentRef
    database_schema: Identifier
    subject: Subject
    defaults: Defaults = Defaults()
    rules: list[RetentionRule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[RetentionRule]) -> list[RetentionRule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return rules

    def rules_for(self, workflow: str) -> list[RetentionRule]:
        return [rule for rule in self.rules if rule.workflow == workflow]

    def rule(self, name: str) -> RetentionRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"no retention rule named {name!r}")

    def columns_by_table(self, rule: RetentionRule) -> dict[str, set[str]]:
        needed = rule.columns_by_table(self.subject.table)
        if rule.subject_column:
            needed[self.subject.table].add(self.subject.key)
        return needed


def load_retention_policy(path: Path | str | None = None) -> Loaded[RetentionPolicy]:
    return load_model(path or settings.policy_dir() / "retention.yaml", RetentionPolicy)
