"""Policy as code: typed, validated models of include/policy/*.yaml.

A file that does not validate raises PolicyError naming the file, the key path and the
reason. Identifiers are refused unless they match [a-z_][a-z0-9_]*, and are quoted with
psycopg.sql.Identifier wherever they reach SQL. `missing_columns` checks a policy against
the live database before any rule runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, Self, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from governance import settings

if TYPE_CHECKING:
    import psycopg


class PolicyError(ValueError):
    """A policy file is invalid, or names tables or columns the database does not have."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$", max_length=63)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)]

_PERIOD = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")


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
        return cls(**{unit: int(value) for unit, value in match.groupdict().items() if value})

    def before(self, moment: datetime) -> datetime:
        """The instant this period before `moment` (calendar arithmetic: P1M before 31 March is 28/29 Feb)."""
        from dateutil.relativedelta import relativedelta

        return moment - relativedelta(years=self.years, months=self.months, days=self.days)

    def __str__(self) -> str:
        parts = [f"{value}{unit}" for value, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if value]
        return "P" + ("".join(parts) or "0D")


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
    where: ColumnEquals | None = None

    @model_validator(mode="after")
    def _fields_fit_action(self) -> Self:
        if self.media_column and self.action != "delete":
            raise ValueError("media_column is only allowed with action 'delete'")
        if (self.pseudonym_column is None) == (self.action == "pseudonymise"):
            raise ValueError("pseudonym_column is required with action 'pseudonymise', and only then")
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
    format: Literal["parquet"] = "parquet"
    object_lock: Literal["compliance", "governance"] | None = None
    retain_for: PeriodField | None = None

    @model_validator(mode="after")
    def _lock_needs_period(self) -> Self:
        if (self.object_lock is None) != (self.retain_for is None):
            raise ValueError("object_lock and retain_for go together")
        return self


RuleAction = Literal["delete", "erase_subject", "delete_media", "archive_then_delete"]
Category = Literal[
    "account_data", "generations", "uploads", "prohibited_content", "payment_data",
    "device_data", "usage_statistics", "moderation_logs", "cookies",
]

# What each action needs besides table and key.
_REQUIRED_BY_ACTION: dict[str, tuple[str, ...]] = {
    "delete": ("clock",),
    "erase_subject": ("clock", "period", "cascade"),
    "delete_media": ("media_column", "marker_column", "flagged_by"),
    "archive_then_delete": ("clock", "period", "archive"),
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
    period: PeriodField | None = None
    period_by: PeriodByColumn | None = None
    subject_column: Identifier | None = None
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
        if self.action == "delete" and (self.period is None) == (self.period_by is None):
            raise ValueError("action 'delete' needs exactly one of period and period_by")
        if self.period_by is not None and self.action != "delete":
            raise ValueError("period_by is only allowed with action 'delete'")
        return self

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
        if self.subject_column:
            add(subject_table)
        return needed


class Subject(Strict):
    """The table that holds the people the policy protects."""

    table: Identifier
    key: Identifier


class Defaults(Strict):
    batch_size: int = Field(5000, ge=1, le=100_000)
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


# -- loading ----------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A validated policy, with the file it came from and that file's SHA-256 (its version)."""

    model: M
    path: Path
    sha256: str


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def _key_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        # Drop pydantic's internal steps (function-after[...], literal names) from the key path.
        loc = tuple(part for part in item["loc"] if isinstance(part, int) or not re.search(r"[\[\](]", part))
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{_key_path(loc)}: {message}")
    return problems


def load_model(path: Path | str, model: type[M]) -> Loaded[M]:
    """Read and validate a policy file; any problem raises PolicyError naming file and key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(path, [f"cannot read: {exc.strerror}"]) from exc
    try:
        data = yaml.load(raw, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PolicyError(path, [f"{where}invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(path, ["(top level): expected a mapping of keys"])
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(path, _problems(exc)) from exc
    return Loaded(model=parsed, path=path, sha256=hashlib.sha256(raw).hexdigest())


def load_retention_policy(path: Path | str | None = None) -> Loaded[RetentionPolicy]:
    return load_model(path or settings.policy_dir() / "retention.yaml", RetentionPolicy)


# -- the live-database check ------------------------------------------------------------


def existing_columns(conn: psycopg.Connection, schema: str) -> dict[str, set[str]]:
    from governance.db import sql_text

    rows = conn.execute(sql_text("policy/columns.sql"), {"schema": schema}).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


def missing_columns(policy: RetentionPolicy, conn: psycopg.Connection, rules=None) -> dict[str, list[str]]:
    """For each rule that names a table or column the database lacks: what is missing."""
    present = existing_columns(conn, policy.database_schema)
    schema = policy.database_schema
    problems: dict[str, list[str]] = {}
    for rule in rules if rules is not None else policy.rules:
        for table, columns in sorted(policy.columns_by_table(rule).items()):
            if table not in present:
                problems.setdefault(rule.name, []).append(f"table {schema}.{table} does not exist")
                continue
            for column in sorted(columns - present[table]):
                problems.setdefault(rule.name, []).append(f"column {schema}.{table}.{column} does not exist")
    return problems
