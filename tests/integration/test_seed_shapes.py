"""The reference database in both shapes (make seed PARTITIONED=1): the same rows, the partitions the purge
will find, a key that includes the clock, the roles' grants, and the way back to plain tables."""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
import pytest
from psycopg import sql

from governance.db import apply_schemas
from governance.policy import load_retention_policy
from scripts import seeding as seeder
from scripts import stack
from scripts.seeding.shape import PARTITIONED_CLOCKS, months_between, next_month
from tests.integration.test_seed import AS_OF, ROOT, digests, run_seed, scalar

pytestmark = pytest.mark.integration

INJECT = ",".join(seeder.INJECTIONS)  # injected rows too: their months must have partitions


def relkind(conn, table: str) -> str:
    return scalar(conn, "SELECT relkind FROM pg_class WHERE oid = %s::regclass", (f"app.{table}",))


def primary_key(conn, table: str) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
        (f"app.{table}",))]


def partitions(conn, table: str) -> dict[str, str]:
    """Each partition's name and bound, as the catalog prints them (in UTC)."""
    conn.execute("SET TimeZone TO 'UTC'")
    return dict(conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY c.relname", (f"app.{table}",)).fetchall())


def definition(conn, table: str) -> dict[str, list]:
    """What a writer and the checks see of a table: its columns in order, its index and constraint names."""
    regclass = f"app.{table}"
    columns = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull, pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (regclass,)).fetchall()
    indexes = [row[0] for row in conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY 1", (regclass,))]
    constraints = conn.execute(
        "SELECT conname, contype, CASE WHEN contype <> 'p' THEN pg_get_constraintdef(oid) END"
        " FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1", (regclass,)).fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


@pytest.fixture
def other_db(template_database):
    """A second fresh database, for the other shape of the same seed."""
    name = f"t_shape_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.create_database(name, template=template_database)) as other:
        yield other
    stack.drop_database(name)


def test_the_same_seed_gives_the_same_rows_in_both_shapes(conn, other_db):
    """Same seed, scale and as_of: every table holds the same rows, byte for byte, plain or partitioned."""
    plain = run_seed(conn, scale=120, inject=INJECT)
    partitioned = run_seed(other_db, scale=120, inject=INJECT, partitioned=True)
    assert plain.counts == partitioned.counts
    assert digests(conn) == digests(other_db)
    for name in seeder.TABLE_ORDER:
        count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("app", name))
        assert scalar(other_db, count) == scalar(conn, count) == partitioned.counts[name], name
    assert {name: relkind(other_db, name) for name in PARTITIONED_CLOCKS} == dict.fromkeys(PARTITIONED_CLOCKS, "p")
    assert {name: relkind(conn, name) for name in PARTITIONED_CLOCKS} == dict.fromkeys(PARTITIONED_CLOCKS, "r")


def test_each_partitioned_table_has_a_month_for_every_row_and_this_month_and_the_next(conn):
    """One partition per UTC month, from the month of the table's oldest row to the month after as_of, named
    like sessions_2026_11, and a DEFAULT partition that the seed leaves empty: every row has its month."""
    summary = run_seed(conn, scale=120, inject=INJECT, partitioned=True)
    for table, clock in PARTITIONED_CLOCKS.items():
        oldest = scalar(conn, sql.SQL("SELECT min({}) FROM {}").format(sql.Identifier(clock),
                                                                       sql.Identifier("app", table)))
        months = months_between(oldest, next_month(AS_OF.replace(day=1)))
        expected = {f"{table}_{month:%Y_%m}": f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') "
                                              f"TO ('{next_month(month):%Y-%m-%d} 00:00:00+00')" for month in months}
        assert partitions(conn, table) == {**expected, f"{table}_default": "DEFAULT"}, table
        assert months[-2:] == [AS_OF.replace(day=1, hour=0), next_month(AS_OF.replace(day=1, hour=0))]
        assert summary.partitions[table] == len(months) > 80, table
        default = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("app", f"{table}_default"))
        assert scalar(conn, default) == 0, table
    assert "shape=partitioned (sessions " in summary.line()


def test_an_empty_partitioned_seed_has_this_month_the_next_and_the_default(conn):
    run_seed(conn, scale=0, partitioned=True)
    assert sorted(partitions(conn, "sessions")) == ["sessions_2026_11", "sessions_2026_12", "sessions_default"]


def test_the_primary_key_includes_the_clock_and_nothing_else_changes(conn, other_db):
    """PostgreSQL enforces a partitioned table's key per partition, so it must include the partition key: (id,
    clock). Columns (order, types, defaults), index names, checks and foreign keys are those of app.sql."""
    run_seed(conn, scale=10)
    run_seed(other_db, scale=10, partitioned=True)
    for table, clock in PARTITIONED_CLOCKS.items():
        key = seeder.KEYS[table]
        assert primary_key(conn, table) == [key]
        assert primary_key(other_db, table) == [key, clock]
        assert definition(other_db, table) == definition(conn, table), table
        assert partitions(other_db, table)  # really partitioned
    assert definition(other_db, "users") == definition(conn, "users")


def test_the_partition_key_is_the_clock_of_every_retention_rule_on_the_table():
    """The seeder partitions on the clock the policy counts from: otherwise no month could ever be dropped."""
    clocks = {(rule.table, rule.clock) for rule in load_retention_policy().model.rules
              if rule.table in PARTITIONED_CLOCKS}
    assert {table for table, _ in clocks} == set(PARTITIONED_CLOCKS)
    assert clocks == set(PARTITIONED_CLOCKS.items())


def test_a_plain_seed_after_a_partitioned_one_gives_the_plain_tables_back(conn, other_db):
    """make seed without PARTITIONED after make seed PARTITIONED=1: the tables are as app.sql makes them again,
    with the same rows as a database that was never partitioned."""
    run_seed(other_db, scale=60)
    never_partitioned = {table: definition(other_db, table) for table in PARTITIONED_CLOCKS}
    run_seed(conn, scale=60, partitioned=True)
    run_seed(conn, scale=60, partitioned=True)  # a partitioned reseed makes the months afresh
    run_seed(conn, scale=60)
    assert {table: relkind(conn, table) for table in PARTITIONED_CLOCKS} == dict.fromkeys(PARTITIONED_CLOCKS, "r")
    assert {table: definition(conn, table) for table in PARTITIONED_CLOCKS} == never_partitioned
    assert scalar(conn, "SELECT count(*) FROM pg_class WHERE relname LIKE 'sessions\\_2%'") == 0
    assert digests(conn) == digests(other_db)


def test_make_services_on_the_partitioned_shape_changes_nothing(conn):
    """apply_schemas (app.sql's CREATE ... IF NOT EXISTS) finds the same tables and index names: no plain table
    or stray index appears, and the rows stay."""
    run_seed(conn, scale=30, partitioned=True)
    conn.commit()
    before = {table: (definition(conn, table), partitions(conn, table)) for table in PARTITIONED_CLOCKS}
    rows = digests(conn)
    apply_schemas(conn)
    assert {table: (definition(conn, table), partitions(conn, table)) for table in PARTITIONED_CLOCKS} == before
    assert digests(conn) == rows


def test_the_workflows_may_read_and_delete_in_every_partition_and_the_application_may_write(conn, workflow_url):
    """The purge's block walk deletes from each partition directly: its role has SELECT and DELETE on every
    partition, as on the parent (and no INSERT, as on every app table); app_writer keeps its grants too. Also
    when no default privileges cover the new tables (they follow only the role that set them)."""
    conn.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA app REVOKE ALL ON TABLES FROM governance_workflow, app_writer")
    run_seed(conn, scale=10, partitioned=True)
    conn.commit()
    rows = conn.execute(
        "SELECT c.relname, has_table_privilege('governance_workflow', c.oid, 'SELECT'),"
        " has_table_privilege('governance_workflow', c.oid, 'DELETE'),"
        " has_table_privilege('governance_workflow', c.oid, 'INSERT'),"
        " has_table_privilege('app_writer', c.oid, 'INSERT')"
        " FROM pg_class c WHERE c.oid IN (SELECT relid FROM pg_partition_tree('app.sessions'))").fetchall()
    assert len(rows) > 50
    assert {tuple(row[1:]) for row in rows} == {(True, True, False, True)}
    with psycopg.connect(workflow_url) as workflow:
        assert workflow.execute("DELETE FROM app.sessions_2026_11 WHERE false").rowcount == 0
        seen = scalar(workflow, "SELECT count(*) FROM app.sessions")
    assert seen == scalar(conn, "SELECT count(*) FROM app.sessions") > 0


def test_a_partitioned_seed_that_cannot_drop_a_table_changes_nothing(conn):
    """Something of the deployment's own depends on app.sessions (here a view): the seed fails, without
    CASCADE, and rolls back to the plain shape and the rows there were, the view kept."""
    run_seed(conn, scale=20)
    conn.execute("CREATE VIEW public.recent_sessions AS SELECT session_id FROM app.sessions")
    conn.commit()
    rows = digests(conn)
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        run_seed(conn, scale=30, partitioned=True)
    conn.rollback()
    assert relkind(conn, "sessions") == "r"
    assert digests(conn) == rows
    viewed = scalar(conn, "SELECT count(*) FROM public.recent_sessions")
    assert viewed == scalar(conn, "SELECT count(*) FROM app.sessions") > 0


def test_cli_partitioned_flag(db_url):
    """`python scripts/seed.py --partitioned` (what make seed PARTITIONED=1 runs) seeds the partitioned shape."""
    argv = [sys.executable, str(ROOT / "scripts" / "seed.py"), "--scale", "5", "--database-url", db_url,
            "--no-media", "--as-of", AS_OF.isoformat(), "--partitioned"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert " shape=partitioned (sessions " in done.stdout
    with psycopg.connect(db_url) as conn:
        assert relkind(conn, "usage_events") == "p"
    assert "$(if $(filter 1,$(PARTITIONED)),--partitioned)" in (ROOT / "Makefile").read_text()
