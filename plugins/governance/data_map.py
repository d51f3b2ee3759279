"""The data map (include/policy/data_map.yaml): where personal data lives, and what each field means.

A data-subject export reads exactly these tables, and its README explains each field with the
text here; the erasure's cascade (retention.yaml) must cover the same tables, which
`check_against` verifies when a DAG is parsed. At run time `unmapped_tables` finds, from the
catalog, any table that names a person but is missing here, so that no export is incomplete
without saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, field_validator, model_validator

from governance import settings
from governance.db import sql_text
from governance.policy import ColumnEquals, Identifier, Loaded, RetentionPolicy, Strict
from governance.policy_files import PolicyError, load_model

if TYPE_CHECKING:
    import psycopg


class MappedTable(Strict):
    """One table of personal data, exported as one category."""

    category: Identifier
    table: Identifier
    subject_column: Identifier
    title: str = Field(min_length=1)
    fields: dict[Identifier, str] = Field(min_length=1)  # column -> what it means, for the person
    key: Identifier | None = None  # the row's id; needed with media_column, to say which row a file is of
    media_column: Identifier | None = None
    # Columns that hold the lowercase hex SHA-256 of a value instead of the value.
    hashed: dict[Identifier, Literal["prompt", "ip_address"]] = Field(default_factory=dict)
    hash_absent_when: dict[Identifier, ColumnEquals] = Field(default_factory=dict)  # rows that may have no hash

    @model_validator(mode="after")
    def _media_has_key(self) -> Self:
        if self.media_column and not self.key:
            raise ValueError("media_column needs key, the column that says which row a file belongs to")
        unknown = sorted((set(self.hashed) | set(self.hash_absent_when)) - set(self.fields))
        if unknown:
            raise ValueError(f"hashed and hash_absent_when name columns that are not among the fields: "
                             f"{', '.join(unknown)}")
        if set(self.hash_absent_when) - set(self.hashed):
            raise ValueError("hash_absent_when names a column that hashed does not declare")
        return self


class ArchivedCategory(Strict):
    """Rows that have moved to the WORM archive of a retention rule, exported from there."""

    category: Identifier
    rule: Identifier
    title: str = Field(min_length=1)
    fields: dict[Identifier, str] = Field(min_length=1)


class MediaCategory(Strict):
    category: Identifier
    title: str = Field(min_length=1)
    fields: dict[Identifier, str] = Field(min_length=1)


class DataMap(Strict):
    version: int = Field(1, ge=1, le=1)
    database_schema: Identifier
    categories: list[MappedTable] = Field(min_length=1)
    archived: ArchivedCategory | None = None
    media: MediaCategory

    @field_validator("categories")
    @classmethod
    def _one_table_per_category(cls, categories: list[MappedTable]) -> list[MappedTable]:
        for attribute in ("category", "table"):
            values = [getattr(entry, attribute) for entry in categories]
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"each {attribute} appears once; repeated: {', '.join(repeated)}")
        return categories

    def hashed_columns(self, kind: str) -> list[tuple[str, str]]:
        """(table, column) of every column declared to hold a hash of KIND (prompt, ip_address)."""
        return [(entry.table, column) for entry in self.categories
                for column, hashed in entry.hashed.items() if hashed == kind]

    def hash_absent_when(self, table: str, column: str) -> ColumnEquals | None:
        entry = next((entry for entry in self.categories if entry.table == table), None)
        return entry.hash_absent_when.get(column) if entry else None

    @property
    def file_categories(self) -> list[str]:
        """Every category the export writes a file for, in order."""
        names = [entry.category for entry in self.categories]
        return [*names, *([self.archived.category] if self.archived else []), self.media.category]

    def check_against(self, retention: RetentionPolicy) -> list[str]:
        """Where this map and the retention policy disagree (an export and an erasure would then
        not cover the same data): a list of problems, empty when they agree."""
        problems = []
        if self.database_schema != retention.database_schema:
            problems.append(f"database_schema is {self.database_schema!r}, retention.yaml says "
                            f"{retention.database_schema!r}")
        erase = next((rule for rule in retention.rules if rule.action == "erase_subject"), None)
        if erase is None:
            return [*problems, "retention.yaml has no erase_subject rule, whose cascade must cover these tables"]
        erased = {erase.table: erase.subject_column, **{step.table: step.subject_column for step in erase.cascade}}
        mapped = {entry.table: entry.subject_column for entry in self.categories}
        for table in sorted(set(mapped) - set(erased)):
            problems.append(f"table {table!r} is in the data map but not in the cascade of rule {erase.name!r}: "
                            "an erasure would leave it")
        for table in sorted(set(erased) - set(mapped)):
            problems.append(f"table {table!r} is in the cascade of rule {erase.name!r} but not in the data map: "
                            "an export would miss it")
        for table in sorted(set(mapped) & set(erased)):
            if mapped[table] != erased[table]:
                problems.append(f"table {table!r}: subject_column {mapped[table]!r} here, {erased[table]!r} in "
                                f"the cascade of rule {erase.name!r}")
        return problems + self._archive_problems(retention)

    def _archive_problems(self, retention: RetentionPolicy) -> list[str]:
        if self.archived is None:
            return []
        try:
            rule = retention.rule(self.archived.rule)
        except KeyError:
            return [f"archived.rule {self.archived.rule!r} is not a rule of retention.yaml"]
        return [] if rule.archive else [f"archived.rule {self.archived.rule!r} archives nothing"]

    def unmapped_tables(self, conn: psycopg.Connection, subject_key: str) -> list[str]:
        """Tables of the schema with a column named like the subject's key that the map leaves out."""
        rows = conn.execute(sql_text("policy/tables_with_column.sql"),
                            {"schema": self.database_schema, "column": subject_key}).fetchall()
        mapped = {entry.table for entry in self.categories}
        return sorted(table for (table,) in rows if table not in mapped)


def load_data_map(path=None, retention: Loaded[RetentionPolicy] | None = None) -> Loaded[DataMap]:
    """Load and validate the data map; with `retention`, also check that the two files agree."""
    loaded = load_model(path or settings.policy_dir() / "data_map.yaml", DataMap)
    if retention is not None:
        problems = loaded.model.check_against(retention.model)
        if problems:
            raise PolicyError(loaded.path, [f"(against {retention.path.name}) {problem}" for problem in problems])
    return loaded
