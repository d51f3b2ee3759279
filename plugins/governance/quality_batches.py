"""The batches that the data-quality suites validate: one session-local view per check and table.

Each expectation of a suite names, in `meta.batch`, the kind of batch it checks; each kind below
builds its views from the policy files and the catalog, so that a new table or column is checked
with no change here. A view exposes the rows' key columns, the columns its expectations read,
and `offending_sha256`, the SHA-256 of the value a finding is about: a finding names the value by
that hash, never by the value. The views are temporary, on the connection GX validates with, so
that nothing is created in the database and two runs never see each other's.

A view over a table with an integer id reads, on an incremental night, only the ids above the
table's watermark (governance.dq_watermarks) and up to the highest id when the batch was built;
a full run reads every id up to it. Both record the highest id, which becomes the next watermark
once the batch passed. The id is the table's key when that is one integer column, or the leading
integer column of a key that is otherwise the partition key: a table partitioned on its clock
must have the clock in its key (PostgreSQL enforces uniqueness per partition), so the partitioned
shape's (event_id, created_at) is still the plain shape's event_id, widened. The watermark bounds
the id, not the key: every row of an id in (watermark, highest] is read, whatever its clock. It
is sound as far as the plain shape's is, on the same assumption: new rows get larger ids (a
sequence), so a row the application adds later is above the watermark. A row written below it
(an id reused with another clock, a row changed in place) is caught by the weekly full scan. A
key of another shape (cookie_consents' (user_id, category)) says nothing about which rows are
new: such a table is read in full every night.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from governance.db import sql_text
from governance.policy import Period
from governance.purge_sql import RuleStatements

if TYPE_CHECKING:
    import psycopg

    from governance.data_map import DataMap
    from governance.policy import Loaded, RetentionPolicy

log = logging.getLogger(__name__)

SHA256_HEX = "^[0-9a-f]{64}$"
INTEGER_TYPES = ("bigint", "integer", "smallint")
LISTING_PAGE = 1000  # keys per COPY into the media listing: one S3 page

_IPV4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_IPV4_OCTET}(\.{_IPV4_OCTET}){{3}}"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join((
    rf"({_H}:){{7}}{_H}",
    rf"({_H}:){{6}}{_IPV4}",  # full form with an embedded IPv4
    rf"({_H}:){{1,7}}:",
    rf"({_H}:){{1,6}}:{_H}",
    rf"({_H}:){{1,5}}(:{_H}){{1,2}}",
    rf"({_H}:){{1,4}}(:{_H}){{1,3}}",
    rf"({_H}:){{1,3}}(:{_H}){{1,4}}",
    rf"({_H}:){{1,2}}(:{_H}){{1,5}}",
    rf"{_H}:(:{_H}){{1,6}}",
    rf":(:{_H}){{1,7}}",
    rf"::(ffff(:0{{1,4}})?:)?{_IPV4}",  # ::ffff:192.0.2.1, ::192.0.2.1
    rf"({_H}:){{1,4}}:{_IPV4}",  # 64:ff9b::192.0.2.1
))
# An address as a token of its own: not inside a longer run of letters, digits, dots or colons,
# and not a version number right after a product name ("Chrome/124.0.0.0"). An IPv6 address may
# carry a zone id ("fe80::1%eth0"). PostgreSQL's regular expressions (ARE) have lookbehind.
IP_LITERAL = (rf"(?<![0-9A-Za-z.:_-])(?<![A-Za-z]/)({_IPV4}|({_IPV6})(%[0-9A-Za-z._~-]+)?)"
              r"(?![0-9A-Za-z:_-])(?!\.[0-9])")


@dataclass(frozen=True)
class Watermark:
    """Where an incremental batch stops: the next night starts above `high_key`."""

    table_name: str
    key_column: str
    high_key: int


@dataclass
class Batch:
    """One view to validate, and what its findings point at."""

    view: str
    table: str  # "app.generations", "s3://bucket", "governance.archive_manifests"
    keys: list[tuple[str, str]]  # the view's key columns and their SQL types
    column: str | None = None  # the column its findings are about, when there is one
    label: str | None = None  # which instance, when a table has several (a rule's name)
    scope: dict[str, Any] = field(default_factory=lambda: {"mode": "full"})
    watermark: Watermark | None = None
    detail_columns: tuple[str, ...] = ()  # further view columns a finding's rows show (found_in)
    kinds: set[str] = field(default_factory=set)  # the kinds of expectation this view serves
    value_hashes: dict[str, str] = field(default_factory=dict)  # checked column -> column of its values' SHA-256
    columns_checked: dict[str, str] = field(default_factory=dict)  # view column -> the table's column it checks

    def hash_column_for(self, column: str | None) -> str:
        """The view column that holds the SHA-256 of the value an expectation on `column` is about."""
        return self.value_hashes.get(column or "", "offending_sha256")

    def column_of(self, checked: str | None) -> str | None:
        """The table's column a finding on view column `checked` is about."""
        return self.columns_checked.get(checked or "", self.column if not self.columns_checked else None)

    def target(self, column: str | None) -> str:
        where = f"{self.table}.{column}" if column else self.table
        return f"{self.label}: {where}" if self.label else where


@dataclass
class BatchContext:
    """What the builders need: the suite's connection (GX's), the policy and the run."""

    conn: psycopg.Connection
    suite: str
    meta: dict[str, Any]
    retention: Loaded[RetentionPolicy]
    data_map: DataMap
    run_cutoff: datetime
    full_scan: bool
    watermarks: Callable[[str], int | None]  # table name -> this suite's watermark
    s3: Any = None
    media_bucket: str | None = None
    canaries: list[str] = field(default_factory=list)
    _views: int = 0

    @property
    def schema(self) -> str:
        return self.retention.model.database_schema

    def view_name(self, kind: str) -> str:
        self._views += 1
        return f"dq_{self._views:03d}_{kind}"

    def create_view(self, name: str, view: str, **parts: sql.Composable) -> None:
        statement = sql.SQL(sql_text(f"quality/{name}.sql")).format(view=sql.Identifier(view), **parts)
        self.conn.execute(statement)

    def primary_key(self, table: str) -> list[tuple[str, str]]:
        return primary_key(self.conn, self.schema, table)

    def partition_columns(self, table: str) -> set[str]:
        rows = self.conn.execute(sql_text("quality/partition_key.sql"), {"table": f'"{self.schema}"."{table}"'})
        return {row[0] for row in rows}

    def id_column(self, table: str, keys: list[tuple[str, str]]) -> str | None:
        """The integer id an incremental batch of the table is bounded on (module docstring), or None."""
        if not keys or keys[0][1] not in INTEGER_TYPES:
            return None
        rest = {name for name, _ in keys[1:]}
        if rest and rest != self.partition_columns(table):
            return None
        return keys[0][0]

    def bound(self, table: str, keys: list[tuple[str, str]]) -> tuple[sql.Composable, dict[str, Any],
                                                                       Watermark | None]:
        """The batch's id range on this run, its description, and the watermark it leads to."""
        key = self.id_column(table, keys)
        if key is None:
            return sql.SQL("TRUE"), {"mode": "full", "why": "no integer id in its key"}, None
        high = self.conn.execute(sql.SQL(sql_text("quality/max_key.sql")).format(
            key=sql.Identifier(key), table=sql.Identifier(self.schema, table))).fetchone()[0]
        if high is None:
            return sql.SQL("FALSE"), {"mode": "full", "why": "the table is empty"}, None
        qualified = f"{self.schema}.{table}"
        low = None if self.full_scan else self.watermarks(qualified)
        through = sql.SQL("t.{} <= {}").format(sql.Identifier(key), sql.Literal(high))
        watermark = Watermark(qualified, key, int(high))
        if low is None:
            return through, {"mode": "full", "key": key, "through": int(high)}, watermark
        after = sql.SQL("t.{} > {}").format(sql.Identifier(key), sql.Literal(low))
        return (sql.SQL("{} AND {}").format(after, through),
                {"mode": "incremental", "key": key, "after": int(low), "through": int(high)}, watermark)

    def text_columns(self) -> dict[str, list[str]]:
        columns: dict[str, list[str]] = {}
        for table, column in self.conn.execute(sql_text("quality/text_columns.sql"), {"schema": self.schema}):
            columns.setdefault(table, []).append(column)
        return columns


def primary_key(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """The table's primary key columns, in key order, with their SQL types."""
    rows = conn.execute(sql_text("quality/primary_key.sql"), {"table": f'"{schema}"."{table}"'})
    return [(name, kind) for name, kind in rows.fetchall()]


def key_record(keys: list[tuple[str, str]]) -> dict[str, sql.Composable]:
    """The parts of `WHERE (keys) IN (SELECT key_fields FROM jsonb_to_recordset(...) AS k(key_types))`, which
    finds rows by keys given as JSON objects."""
    return {"key_fields": sql.SQL(", ").join(sql.SQL("k.{}").format(sql.Identifier(name)) for name, _ in keys),
            "key_types": sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                                            for name, kind in keys)}


def key_columns(keys: list[tuple[str, str]]) -> sql.Composable:
    """The key columns of the table aliased `t`."""
    return sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(name)) for name, _ in keys)


# -- the kinds --------------------------------------------------------------------------------------

def _absent(ctx: BatchContext, table: str, column: str) -> sql.Composable:
    exempt = ctx.data_map.hash_absent_when(table, column)
    if not exempt:
        return sql.SQL("FALSE")
    return sql.SQL("t.{} IS NOT DISTINCT FROM {}").format(sql.Identifier(exempt.column), sql.Literal(exempt.equals))


def _column_scans(ctx: BatchContext, wanted: set[str], *, hash_kind: str, hash_batch: str, scan_batch: str,
                  condition: Callable[[sql.Composable], sql.Composable] | None,
                  allowed: Iterable[str] = ()) -> list[Batch]:
    """One view per table, read in one pass: its declared hash column (format, and presence unless a row may
    have none) and all its text columns, each tested with `condition` (found_in names the first that matches).

    GX validates every expectation on a view in one query, so a table is read once per suite, not once per
    check or column."""
    allowed = set(allowed)
    declared: dict[str, list[str]] = {}
    if hash_batch in wanted:
        for table, column in ctx.data_map.hashed_columns(hash_kind):
            declared.setdefault(table, []).append(column)
    scanned = ctx.text_columns() if scan_batch in wanted and condition else {}
    batches = []
    for table in sorted(set(declared) | set(scanned)):
        keys = ctx.primary_key(table)
        if not keys:
            log.warning("%s: %s.%s has no primary key; it is not checked", ctx.suite, ctx.schema, table)
            continue
        columns = [c for c in scanned.get(table, []) if f"{table}.{c}" not in allowed]
        hashes = declared.get(table, [])
        bound, scope, watermark = ctx.bound(table, keys)
        # A second declared hash column of the same table gets a view of its own.
        for index, hashed in enumerate(hashes or [None]):
            parts: list[sql.Composable] = []
            kinds, value_hashes = set(), {}
            if hashed:
                value = sql.SQL("t.{}").format(sql.Identifier(hashed))
                parts += [sql.SQL("{} AS hashed_value").format(value),
                          sql.SQL("encode(sha256(convert_to({}::text, 'UTF8')), 'hex') AS hashed_value_sha256").format(
                              value),
                          sql.SQL("CASE WHEN {} IS NULL AND NOT ({}) THEN 'missing' END AS hash_missing").format(
                              value, _absent(ctx, table, hashed))]
                kinds.add(hash_batch)
                value_hashes["hashed_value"] = "hashed_value_sha256"
            if columns and index == 0:
                found_in, found_sha = [], []
                for column in columns:
                    text = sql.SQL("t.{}::text").format(sql.Identifier(column))
                    when = condition(text)
                    found_in.append(sql.SQL("WHEN {} THEN {}").format(when, sql.Literal(column)))
                    found_sha.append(sql.SQL("WHEN {} THEN encode(sha256(convert_to({}, 'UTF8')), 'hex')").format(
                        when, text))
                parts += [sql.SQL("CASE {} END AS found_in").format(sql.SQL(" ").join(found_in)),
                          sql.SQL("CASE {} END AS found_in_sha256").format(sql.SQL(" ").join(found_sha))]
                kinds.add(scan_batch)
                value_hashes["found_in"] = "found_in_sha256"
            if not kinds:
                continue
            view = ctx.view_name(hash_kind)
            ctx.create_view("column_scan", view, keys=key_columns(keys), checked=sql.SQL(", ").join(parts),
                            table=sql.Identifier(ctx.schema, table), bound=bound)
            batches.append(Batch(view, f"{ctx.schema}.{table}", keys, column=hashed, scope=scope,
                                 watermark=watermark, kinds=kinds, value_hashes=value_hashes,
                                 columns_checked={"hashed_value": hashed, "hash_missing": hashed} if hashed else {},
                                 detail_columns=("found_in",) if "found_in" in value_hashes else ()))
    return batches


def _prompt_columns(ctx: BatchContext, wanted: set[str]) -> list[Batch]:
    condition = None
    if "canary_text" in wanted:
        _stage_canaries(ctx)
        # A cheap test first: every canary has a space, so a value without one (a hash, a code, a key) is
        # passed over without running the regular expression.
        prefilter = all(" " in text for text in ctx.canaries)

        def condition(value: sql.Composable) -> sql.Composable:
            match = sql.SQL("{} ~ (SELECT pattern FROM dq_canary_pattern)").format(value)
            return sql.SQL("(strpos({}, ' ') > 0 AND {})").format(value, match) if prefilter else match

    return _column_scans(ctx, wanted, hash_kind="prompt", hash_batch="prompt_hashes", scan_batch="canary_text",
                         condition=condition)


def _stage_canaries(ctx: BatchContext) -> None:
    if not ctx.canaries:
        raise ValueError("no canary prompts: the canary scan needs include/canaries/prompts.txt")
    ctx.conn.execute(sql_text("quality/canary_tables.sql"))
    with ctx.conn.cursor() as cur:
        with cur.copy(sql_text("quality/copy_canary_texts.sql")) as copy:
            for text in ctx.canaries:
                copy.write_row((text,))
        cur.execute(sql_text("quality/canary_pattern.sql"))


def _canary_hashes(ctx: BatchContext) -> list[Batch]:
    table, column = str(ctx.meta["canary_hashes_in"]).split(".")
    if not ctx.canaries:
        raise ValueError("no canary prompts: the canary check needs include/canaries/prompts.txt")
    keys = ctx.primary_key(table)
    view = ctx.view_name("canary_hashes")
    ctx.create_view("canary_hash_present", view, keys=key_columns(keys), table=sql.Identifier(ctx.schema, table),
                    column=sql.Identifier(column))
    return [Batch(view, f"{ctx.schema}.{table}", keys, column=column)]


def _prompt_named_columns(ctx: BatchContext) -> list[Batch]:
    declared = [f"{table}.{column}" for kind in ("prompt", "ip_address")
                for table, column in ctx.data_map.hashed_columns(kind)]
    allowed = sorted({*declared, *ctx.meta.get("allowed_columns", [])})
    view = ctx.view_name("prompt_named_columns")
    ctx.create_view("named_like", view, schema=sql.Literal(ctx.schema),
                    pattern=sql.Literal(ctx.meta["prompt_like_names"]), allowed=sql.Literal(allowed))
    return [Batch(view, ctx.schema, [("table_name", "text"), ("column_name", "text")])]


def _ip_columns(ctx: BatchContext, wanted: set[str]) -> list[Batch]:
    def condition(value: sql.Composable) -> sql.Composable:
        # Every address has a dot or a colon: the cheap test spares the expression most values.
        return sql.SQL("((strpos({v}, '.') > 0 OR strpos({v}, ':') > 0) AND {v} ~ {pattern})").format(
            v=value, pattern=sql.Literal(IP_LITERAL))

    return _column_scans(ctx, wanted, hash_kind="ip_address", hash_batch="ip_hashes", scan_batch="ip_literals",
                         condition=condition, allowed=ctx.meta.get("allowed_columns", []))


def _overdue_rows(ctx: BatchContext) -> list[Batch]:
    from psycopg import ClientCursor

    grace = Period.parse(str(ctx.meta.get("grace_period", "P0D")))
    cutoff = grace.before(ctx.run_cutoff)
    policy = ctx.retention.model
    batches = []
    for rule in policy.rules:
        statements = RuleStatements(policy, rule, cutoff)
        keys = ctx.primary_key(rule.table)
        # A view takes no parameters: the cutoffs and values (never personal data) are inlined.
        due = ClientCursor(ctx.conn).mogrify(statements.due, statements.params)
        view = ctx.view_name("overdue")
        ctx.create_view("overdue", view, keys=key_columns(keys), table=statements.table, due=sql.SQL(due),
                        held=statements.held)
        batches.append(Batch(view, f"{ctx.schema}.{rule.table}", keys, label=f"rule {rule.name}",
                             scope={"mode": "full", "cutoff": cutoff.isoformat(),
                                    "grace_period": str(ctx.meta.get("grace_period", "P0D"))}))
    return batches


def _orphan_rows(ctx: BatchContext) -> list[Batch]:
    subject = ctx.retention.model.subject
    tables = [row[0] for row in ctx.conn.execute(sql_text("policy/tables_with_column.sql"),
                                                 {"schema": ctx.schema, "column": subject.key})]
    batches = []
    for table in tables:
        keys = ctx.primary_key(table)
        if table == subject.table or not keys:
            continue
        view = ctx.view_name("orphans")
        ctx.create_view("orphans", view, keys=key_columns(keys), table=sql.Identifier(ctx.schema, table),
                        subject_column=sql.Identifier(subject.key),
                        subject_table=sql.Identifier(ctx.schema, subject.table),
                        subject_key=sql.Identifier(subject.key))
        batches.append(Batch(view, f"{ctx.schema}.{table}", keys, column=subject.key))
    return batches


def media_tables(policy: RetentionPolicy) -> dict[tuple[str, str], str | None]:
    """(table, media column) -> the column that marks its media deleted, for every table the policy
    says holds media."""
    found: dict[tuple[str, str], str | None] = {}
    for rule in policy.rules:
        if rule.media_column:
            marker = rule.marker_column if rule.action == "delete_media" else None
            found[(rule.table, rule.media_column)] = found.get((rule.table, rule.media_column)) or marker
        for step in rule.cascade:
            if step.media_column:
                found.setdefault((step.table, step.media_column), None)
    return found


def _media_orphans(ctx: BatchContext) -> list[Batch]:
    from governance.storage import chunks, list_keys

    ctx.conn.execute(sql_text("quality/media_listing.sql"))
    listed = 0
    with ctx.conn.cursor() as cur:
        for page in chunks(list_keys(ctx.s3, ctx.media_bucket), LISTING_PAGE):
            with cur.copy(sql_text("quality/copy_media_objects.sql")) as copy:
                for key in page:
                    copy.write_row((key,))
            listed += len(page)
    live = []
    for (table, media_column), marker in media_tables(ctx.retention.model).items():
        needed = sql.SQL("t.{} IS NULL").format(sql.Identifier(marker)) if marker else sql.SQL("TRUE")
        live.append(sql.SQL(sql_text("quality/media_live.sql")).format(
            table=sql.Identifier(ctx.schema, table), media_column=sql.Identifier(media_column), still_needed=needed))
    view = ctx.view_name("media_orphans")
    ctx.create_view("media_orphans", view, live=sql.SQL(" OR ").join(live) if live else sql.SQL("FALSE"))
    return [Batch(view, f"s3://{ctx.media_bucket}", [("object_key", "text")],
                  scope={"mode": "full", "objects_listed": listed})]


def _archive_objects(ctx: BatchContext) -> list[Batch]:
    from governance.quality_objects import check_archive_objects

    low = None if ctx.full_scan else ctx.watermarks("governance.archive_manifests")
    high, checked = check_archive_objects(ctx.conn, ctx.s3, ctx.retention.model, read_bytes_after=low,
                                          read_all_bytes=low is None)
    view = ctx.view_name("archive_objects")
    ctx.create_view("archive_objects", view)
    scope = ({"mode": "full"} if low is None else {"mode": "incremental", "bytes_read_after": low}) | checked
    watermark = Watermark("governance.archive_manifests", "manifest_id", high) if high is not None else None
    return [Batch(view, "governance.archive_manifests", [("manifest_id", "bigint")], scope=scope,
                  watermark=watermark)]


def _one_kind(build: Callable[[BatchContext], list[Batch]]) -> Callable[[BatchContext, set[str]], list[Batch]]:
    return lambda ctx, wanted: build(ctx)


# Kinds that share a builder share its views: each table is read once for all of them.
BUILDERS: dict[str, Callable[[BatchContext, set[str]], list[Batch]]] = {
    "prompt_hashes": _prompt_columns,
    "canary_text": _prompt_columns,
    "prompt_named_columns": _one_kind(_prompt_named_columns),
    "canary_hashes": _one_kind(_canary_hashes),
    "ip_hashes": _ip_columns,
    "ip_literals": _ip_columns,
    "overdue_rows": _one_kind(_overdue_rows),
    "orphan_rows": _one_kind(_orphan_rows),
    "media_orphans": _one_kind(_media_orphans),
    "archive_objects": _one_kind(_archive_objects),
}


def build_batches(ctx: BatchContext, kinds: list[str]) -> list[Batch]:
    """The batches for these kinds of expectation, each builder run once for all the kinds it serves."""
    batches = []
    for build in dict.fromkeys(BUILDERS[kind] for kind in kinds):
        served = {kind for kind in kinds if BUILDERS[kind] is build}
        for batch in build(ctx, served):
            batch.kinds = batch.kinds or served
            batches.append(batch)
    return batches
