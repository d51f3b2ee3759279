"""A rule against the live database: every table and column it names exists, and every
pseudonymise step can run (the id column may be NULL, the pseudonym fits), all checked
before anything is deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from governance.db import sql_text
from governance.errors import PermanentError
from governance.policy import CascadeStep, RetentionPolicy, RetentionRule

if TYPE_CHECKING:
    import psycopg

PSEUDONYM_LENGTH = 64  # lowercase hex HMAC-SHA256


class RuleConfigurationError(PermanentError):
    """The rule names tables or columns the database does not have, or that cannot serve it."""


@dataclass(frozen=True)
class Column:
    nullable: bool
    is_text: bool
    max_length: int | None  # None: unbounded, or not text


def existing_columns(conn: psycopg.Connection, schema: str) -> dict[str, dict[str, Column]]:
    """For each table of `schema`: its columns."""
    columns: dict[str, dict[str, Column]] = {}
    for table, column, *shape in conn.execute(sql_text("policy/columns.sql"), {"schema": schema}):
        columns.setdefault(table, {})[column] = Column(*shape)
    return columns


def _pseudonymise_problems(schema: str, table: str, columns: dict[str, Column], step: CascadeStep) -> list[str]:
    problems = []
    subject = columns.get(step.subject_column)
    if subject is not None and not subject.nullable:
        problems.append(f"column {schema}.{table}.{step.subject_column} is NOT NULL, so it cannot be cleared "
                        "when the row is pseudonymised")
    target = columns.get(step.pseudonym_column)
    if target is not None and (not target.is_text or (target.max_length or PSEUDONYM_LENGTH) < PSEUDONYM_LENGTH):
        problems.append(f"column {schema}.{table}.{step.pseudonym_column} cannot hold a pseudonym of "
                        f"{PSEUDONYM_LENGTH} characters")
    return problems


def rule_problems(policy: RetentionPolicy, conn: psycopg.Connection, rules: list[RetentionRule] | None = None
                  ) -> dict[str, list[str]]:
    """For each rule the database cannot serve: what is missing or does not fit."""
    present = existing_columns(conn, policy.database_schema)
    schema = policy.database_schema
    problems: dict[str, list[str]] = {}
    for rule in rules if rules is not None else policy.rules:
        found = problems.setdefault(rule.name, [])
        for table, columns in sorted(policy.columns_by_table(rule).items()):
            if table not in present:
                found.append(f"table {schema}.{table} does not exist")
                continue
            absent = sorted(columns - set(present[table]))
            found += [f"column {schema}.{table}.{column} does not exist" for column in absent]
        for step in rule.cascade:
            if step.action == "pseudonymise" and step.table in present:
                found += _pseudonymise_problems(schema, step.table, present[step.table], step)
        if not found:
            del problems[rule.name]
    return problems


def require_serviceable(policy: RetentionPolicy, conn: psycopg.Connection, rule: RetentionRule) -> None:
    """Raise RuleConfigurationError, naming every problem, unless the database can serve `rule`."""
    problems = rule_problems(policy, conn, [rule]).get(rule.name)
    if problems:
        raise RuleConfigurationError(f"rule {rule.name!r} cannot run: {'; '.join(problems)}")
