"""The purge on a table range-partitioned by month on the rule's clock, against the real PostgreSQL: a month
wholly past the cutoff is dropped whole, its held rows kept and readable, every row counted in the ledger; the
month that straddles the cutoff and the DEFAULT partition go through the block walk."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.lifecycle import Timeouts
from governance.partitions import range_partitions
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from scripts.seeding.shape import months_between
from tests.conftest import LEDGER_KEY
from tests.factories import CUTOFF, SECOND, partition_by_month

pytestmark = pytest.mark.integration

RULE_CUTOFF = CUTOFF - relativedelta(months=13)  # sessions: P13M -> 2025-10-25 02:00 UTC
FIRST_MONTH = datetime(2024, 10, 1, tzinfo=UTC)
EXPIRED_MONTHS = months_between(FIRST_MONTH, datetime(2025, 9, 1, tzinfo=UTC))  # 12 months wholly before it
FAST = Timeouts(partition_lock_timeout_ms=50, partition_attempts=200, retry_pause_s=0.02, max_retry_pause_s=0.05)


def partitioned(conn, *, since: datetime = FIRST_MONTH) -> None:
    """The three partitioned reference tables by month from `since`'s, with a DEFAULT partition (the seeder's own
    shape, tests.factories.partition_by_month), committed."""
    partition_by_month(conn, since=since)
    conn.commit()


def partition_names(conn, table: str = "sessions") -> set[str]:
    conn.rollback()
    names = {partition.name for partition in range_partitions(conn, f"app.{table}", "created_at") or []}
    conn.rollback()  # an open transaction would hold a lock that a drop waits for
    return names


def detached_leftovers(conn) -> list[str]:
    """Tables in app named like a month of a partitioned table that are no partition: a drop half done."""
    conn.rollback()
    return [row[0] for row in conn.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'app' AND c.relkind = 'r' AND NOT c.relispartition AND c.relname ~ '_[0-9]{4}_[0-9]{2}$'")]


def run_purge(workflow_url, s3, buckets, rule: str = "sessions", *, run_id: str = "run-1", cutoff=CUTOFF,
              dry_run: bool = False, timeouts: Timeouts = FAST, batch_size: int = 100):
    settings = PurgeSettings(run_id=run_id, run_cutoff=cutoff, dry_run=dry_run, batch_size=batch_size,
                             max_rows_per_rule=1_000_000, media_bucket=buckets.media, timeouts=timeouts)
    with psycopg.connect(workflow_url, autocommit=True) as conn:
        return purge_rule(conn, s3, policy=load_retention_policy(), rule=rule, settings=settings)


def closing_entry(conn, run_id: str, workflow: str = "retention_purge") -> dict:
    conn.rollback()
    return ledger.entries_for_run(conn, workflow, run_id)[-1]


def sessions_by_month(data, user: int, months, per_month: int = 3) -> dict[datetime, list[int]]:
    """`per_month` sessions of `user` in each month, spread over it (the first instant included)."""
    return {month: [data.session(user, created_at=month + i * timedelta(days=28) / per_month) for i in range(per_month)]
            for month in months}


def test_every_month_wholly_past_the_cutoff_is_dropped_and_named_in_the_ledger_with_its_rows(
        data, conn, workflow_url, s3, buckets):
    partitioned(conn)
    user = data.user()
    expired = sessions_by_month(data, user, EXPIRED_MONTHS)
    straddling_due = data.session(user, created_at=RULE_CUTOFF - SECOND)
    straddling_kept = data.session(user, created_at=RULE_CUTOFF)
    recent = data.session(user, created_at=CUTOFF - timedelta(days=3))
    in_default = data.session(user, created_at=datetime(2023, 5, 1, tzinfo=UTC))  # before the first month
    data.commit()

    outcome = run_purge(workflow_url, s3, buckets)

    names = partition_names(conn)
    assert not names & {f"sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS}
    assert {"sessions_2025_10", "sessions_2025_11", "sessions_2026_12", "sessions_default"} <= names
    remaining = {row[0] for row in conn.execute("SELECT session_id FROM app.sessions")}
    assert remaining == {straddling_kept, recent}
    assert {straddling_due, in_default}.isdisjoint(remaining)
    assert outcome.counts["rows_deleted"] == 3 * len(EXPIRED_MONTHS) + 2
    entry = closing_entry(conn, "run-1")
    assert entry["action"] == "purge_completed"
    dropped = entry["details"]["partitions_dropped"]
    assert [item["partition"] for item in dropped] == [f"app.sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS]
    assert all((item["rows_deleted"], item["held_rows_moved"]) == (3, 0) for item in dropped)
    assert dropped[0]["range_from"] == "2024-10-01T00:00:00+00:00"
    assert dropped[0]["range_to"] == "2024-11-01T00:00:00+00:00"
    # The ledger's count is the rows that went: the drops' plus the walk's, nothing else.
    assert entry["counts"]["rows_deleted"] == sum(item["rows_deleted"] for item in dropped) + 2
    assert sum(len(keys) for keys in expired.values()) == sum(item["rows_deleted"] for item in dropped)
    assert detached_leftovers(conn) == []
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


@pytest.mark.parametrize(("rule_cutoff", "september_dropped"), [
    (datetime(2025, 10, 1, tzinfo=UTC), True),  # September ends exactly at the cutoff: wholly past it
    (datetime(2025, 10, 1, tzinfo=UTC) - SECOND, False),  # it ends a second after the cutoff: it straddles
])
def test_a_month_ending_exactly_at_the_cutoff_is_dropped_and_one_ending_a_second_after_it_is_walked(
        data, conn, workflow_url, s3, buckets, rule_cutoff, september_dropped):
    partitioned(conn)
    user = data.user()
    october = datetime(2025, 10, 1, tzinfo=UTC)
    first_instant = data.session(user, created_at=datetime(2025, 9, 1, tzinfo=UTC))
    due_either_way = data.session(user, created_at=october - 1.5 * SECOND)
    in_the_last_second = data.session(user, created_at=october - SECOND / 2)
    data.commit()

    run_purge(workflow_url, s3, buckets, cutoff=rule_cutoff + relativedelta(months=13))

    assert ("sessions_2025_09" not in partition_names(conn)) == september_dropped
    remaining = {row[0] for row in conn.execute("SELECT session_id FROM app.sessions")}
    assert first_instant not in remaining
    assert due_either_way not in remaining
    # The row in September's last second is due only when the cutoff is at its end; otherwise the walk keeps it.
    assert (in_the_last_second in remaining) == (not september_dropped)


def test_held_rows_in_a_dropped_month_stay_readable_through_the_table_until_the_hold_is_released(
        data, conn, workflow_url, s3, buckets):
    partitioned(conn)
    user, held_person = data.user(), data.user()
    data.hold(held_person)
    sessions_by_month(data, user, EXPIRED_MONTHS[:3])
    held = sessions_by_month(data, held_person, EXPIRED_MONTHS[1:3], per_month=2)
    held_keys = sorted(key for keys in held.values() for key in keys)
    data.commit()
    before = conn.execute("SELECT t::text FROM app.sessions AS t WHERE user_id = %s ORDER BY session_id",
                          (held_person,)).fetchall()
    conn.rollback()  # an open transaction would hold a lock the drop waits for

    outcome = run_purge(workflow_url, s3, buckets)

    assert {"sessions_2024_10", "sessions_2024_11", "sessions_2024_12"}.isdisjoint(partition_names(conn))
    after = conn.execute("SELECT t::text FROM app.sessions AS t WHERE user_id = %s ORDER BY session_id",
                         (held_person,)).fetchall()
    assert after == before  # the same rows, column for column
    assert conn.execute("SELECT array_agg(session_id ORDER BY session_id) FROM app.sessions_default").fetchone() == (
        held_keys,)
    assert (outcome.counts["rows_deleted"], outcome.held) == (9, 4)
    dropped = closing_entry(conn, "run-1")["details"]["partitions_dropped"]
    assert len(dropped) == len(EXPIRED_MONTHS)  # the empty months too
    moved = {item["partition"]: (item["rows_deleted"], item["held_rows_moved"]) for item in dropped[:4]}
    assert moved == {"app.sessions_2024_10": (3, 0), "app.sessions_2024_11": (3, 2), "app.sessions_2024_12": (3, 2),
                     "app.sessions_2025_01": (0, 0)}

    conn.execute("UPDATE governance.legal_holds SET released_at = %s WHERE user_id = %s", (CUTOFF, held_person))
    conn.commit()
    run_purge(workflow_url, s3, buckets, run_id="run-2")
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE user_id = %s", (held_person,)).fetchone() == (0,)


def test_a_dry_run_names_the_months_it_would_drop_and_drops_nothing(data, conn, workflow_url, s3, buckets):
    partitioned(conn)
    sessions_by_month(data, data.user(), EXPIRED_MONTHS)
    data.commit()
    names = partition_names(conn)
    conn.rollback()

    outcome = run_purge(workflow_url, s3, buckets, dry_run=True)

    assert partition_names(conn) == names
    assert outcome.details["partitions_to_drop"] == [f"app.sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS]
    assert outcome.details["partitions_to_walk"] == ["app.sessions_2025_10", "app.sessions_default"]
    assert outcome.details["partitions_after_cutoff"] == 14  # November 2025 to December 2026
    assert outcome.eligible == 36


def test_a_concurrent_writer_inserting_into_the_current_month_throughout_loses_no_row_and_sees_no_error(
        data, conn, db_url, workflow_url, s3, buckets):
    partitioned(conn)
    user = data.user()
    sessions_by_month(data, user, EXPIRED_MONTHS, per_month=50)
    data.commit()
    inserted, errors = [], []
    stop = threading.Event()

    def writer():
        with psycopg.connect(db_url, autocommit=True) as app:
            key = 10**9
            while not stop.is_set():
                try:
                    app.execute("INSERT INTO app.sessions (session_id, user_id, ip_hash, created_at) "
                                "VALUES (%s, %s, %s, %s)", (key, user, "1" * 64, CUTOFF - timedelta(hours=1)))
                    inserted.append(key)
                except psycopg.Error as exc:
                    errors.append(type(exc).__name__)
                key += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        outcome = run_purge(workflow_url, s3, buckets)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(inserted) > 100
    conn.rollback()
    current = {row[0] for row in conn.execute("SELECT session_id FROM app.sessions WHERE session_id >= %s", (10**9,))}
    assert current == set(inserted)
    assert outcome.counts["rows_deleted"] == 50 * len(EXPIRED_MONTHS)
    assert not partition_names(conn) & {f"sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS}


def test_a_long_reader_makes_the_drop_wait_and_retry_without_queueing_the_application_behind_it(
        data, conn, db_url, workflow_url, s3, buckets, caplog):
    """A report reading the table for long holds a lock the drop's DETACH must wait for. The drop waits
    50 ms at a time, so the application's inserts, which queue behind a waiting DETACH, go through between
    its attempts; when the reader finishes, the month is dropped."""
    caplog.set_level(logging.INFO)
    partitioned(conn)
    user = data.user()
    sessions_by_month(data, user, EXPIRED_MONTHS[:2])
    data.commit()
    reader = psycopg.connect(db_url)
    reader.execute("SELECT count(*) FROM app.sessions").fetchone()  # its transaction stays open: ACCESS SHARE held
    outcomes, failures = [], []

    def purge():
        try:
            outcomes.append(run_purge(workflow_url, s3, buckets))
        except Exception as exc:  # reported by the assertions below
            failures.append(exc)

    thread = threading.Thread(target=purge)
    thread.start()
    try:
        with psycopg.connect(db_url, autocommit=True) as app:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not app.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'").fetchone()[0]:
                time.sleep(0.005)  # until the drop is waiting on the reader
            app.execute("SET statement_timeout = '5s'")  # an insert stuck behind the DETACH would fail here
            for key in range(10**9, 10**9 + 20):
                app.execute("INSERT INTO app.sessions (session_id, user_id, ip_hash, created_at) VALUES "
                            "(%s, %s, %s, %s)", (key, user, "1" * 64, CUTOFF))
            assert thread.is_alive(), "the drop should still be waiting for the reader"
    finally:
        reader.close()
        thread.join(60)
    assert failures == []
    assert "retrying" in caplog.text
    assert "LockNotAvailable (55P03)" in caplog.text
    assert {"sessions_2024_10", "sessions_2024_11"}.isdisjoint(partition_names(conn))
    assert outcomes[0].counts["rows_deleted"] == 6
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE session_id >= %s", (10**9,)).fetchone() == (20,)


def test_a_reader_that_never_lets_go_leaves_the_month_to_the_block_walk_and_the_ledger_says_why(
        data, conn, db_url, workflow_url, s3, buckets):
    partitioned(conn)
    user = data.user()
    sessions_by_month(data, user, EXPIRED_MONTHS[:2])
    data.commit()
    with psycopg.connect(db_url) as reader:
        reader.execute("SELECT count(*) FROM app.sessions").fetchone()
        outcome = run_purge(workflow_url, s3, buckets, timeouts=Timeouts(
            partition_lock_timeout_ms=20, partition_attempts=3, retry_pause_s=0.01))
    assert {"sessions_2024_10", "sessions_2024_11"} <= partition_names(conn)
    assert conn.execute("SELECT count(*) FROM app.sessions").fetchone() == (0,)
    assert outcome.counts["rows_deleted"] == 6
    details = closing_entry(conn, "run-1")["details"]
    assert details["partitions_dropped"] == []
    # The reader holds the whole table: after the first month's three attempts, the others get one each.
    assert details["partitions_walked_instead"] == {
        "app.sessions_2024_10": "another session kept the table locked through 3 attempts of 20 ms",
        **{f"app.sessions_{month:%Y_%m}": "another session kept the table locked through 1 attempt of 20 ms"
           for month in EXPIRED_MONTHS[1:]}}


def test_a_month_holding_another_rules_rows_is_walked_and_dropped_once_they_are_gone(
        data, conn, workflow_url, s3, buckets):
    """moderation_logs_standard deletes standard events at 90 days; a month past them that still holds
    critical events (not yet archived) is not its to drop: its standard rows go in batches. Once the critical
    ones are gone, the next night drops the month."""
    partitioned(conn, since=datetime(2026, 5, 1, tzinfo=UTC))
    user = data.user()
    standard = [data.moderation(user, created_at=datetime(2026, 6, 2 + day, tzinfo=UTC)) for day in range(3)]
    critical = data.moderation(user, severity="critical", created_at=datetime(2026, 6, 9, tzinfo=UTC))
    data.commit()

    first = run_purge(workflow_url, s3, buckets, "moderation_logs_standard")

    assert "moderation_events_2026_06" in partition_names(conn, "moderation_events")
    assert [row[0] for row in conn.execute("SELECT event_id FROM app.moderation_events")] == [critical]
    assert first.counts["rows_deleted"] == len(standard)
    walked = closing_entry(conn, "run-1", "moderation_log_archival")["details"]["partitions_walked_instead"]
    assert walked["app.moderation_events_2026_06"] == "it holds 1 row that this rule does not delete"

    conn.execute("DELETE FROM app.moderation_events WHERE event_id = %s", (critical,))  # archived, say
    conn.commit()
    run_purge(workflow_url, s3, buckets, "moderation_logs_standard", run_id="run-2")
    assert "moderation_events_2026_06" not in partition_names(conn, "moderation_events")


def test_held_rows_without_a_default_partition_to_keep_them_leave_the_month_to_the_walk(
        data, conn, workflow_url, s3, buckets):
    partitioned(conn)
    conn.execute("DROP TABLE app.sessions_default")
    conn.commit()
    user, held_person = data.user(), data.user()
    data.hold(held_person)
    sessions_by_month(data, user, EXPIRED_MONTHS[:2])
    held = data.session(held_person, created_at=EXPIRED_MONTHS[0] + timedelta(days=1))
    data.commit()

    outcome = run_purge(workflow_url, s3, buckets)

    names = partition_names(conn)
    assert "sessions_2024_10" in names
    assert "sessions_2024_11" not in names
    assert [row[0] for row in conn.execute("SELECT session_id FROM app.sessions")] == [held]
    assert outcome.counts["rows_deleted"] == 6
    walked = closing_entry(conn, "run-1")["details"]["partitions_walked_instead"]
    assert walked == {"app.sessions_2024_10": "it holds 1 row of people under a legal hold, and the table has no "
                                              "DEFAULT partition to keep them in"}


def test_a_role_that_may_not_drop_deletes_the_expired_months_in_batches_and_says_why(
        data, conn, workflow_url, s3, buckets):
    partitioned(conn)
    conn.execute("REVOKE EXECUTE ON FUNCTION governance.drop_partition_keeping_held(regclass, name) "
                 "FROM governance_workflow")
    conn.commit()
    sessions_by_month(data, data.user(), EXPIRED_MONTHS[:2])
    data.commit()

    outcome = run_purge(workflow_url, s3, buckets)

    assert {"sessions_2024_10", "sessions_2024_11"} <= partition_names(conn)
    assert outcome.counts["rows_deleted"] == 6
    assert "may not execute governance.drop_partition_keeping_held" in outcome.details[
        "partitions_not_dropped_because"]


def test_the_drop_function_grants_no_more_than_deleting(data, conn, workflow_url):
    """It runs as the tables' owner: a caller that may not delete from a partition cannot drop it through it,
    nor anything that is not an attached partition of application data."""
    partitioned(conn)
    conn.execute("REVOKE DELETE ON app.sessions_2024_10 FROM governance_workflow")
    conn.commit()
    with psycopg.connect(workflow_url, autocommit=True) as caller:
        for target, refused in [("app.sessions_2024_10", psycopg.errors.InsufficientPrivilege),
                                ("app.users", psycopg.errors.WrongObjectType),
                                ("governance.audit_ledger", psycopg.errors.WrongObjectType)]:
            with pytest.raises(refused):
                caller.execute("SELECT governance.drop_partition_keeping_held(%s::regclass, 'user_id')", (target,))
    assert "sessions_2024_10" in partition_names(conn)


def test_a_table_partitioned_on_something_other_than_the_rules_clock_is_walked_in_batches(
        data, conn, workflow_url, s3, buckets):
    conn.execute("""
        ALTER TABLE app.sessions RENAME TO sessions_plain;
        CREATE TABLE app.sessions (LIKE app.sessions_plain INCLUDING DEFAULTS) PARTITION BY RANGE (session_id);
        CREATE TABLE app.sessions_low PARTITION OF app.sessions FOR VALUES FROM (0) TO (1100);
        CREATE TABLE app.sessions_high PARTITION OF app.sessions FOR VALUES FROM (1100) TO (MAXVALUE);
        DROP TABLE app.sessions_plain;
        GRANT SELECT, DELETE ON app.sessions, app.sessions_low, app.sessions_high TO governance_workflow;
    """)
    user = data.user()
    old = [data.session(user, created_at=RULE_CUTOFF - timedelta(days=40)) for _ in range(3)]
    kept = data.session(user, created_at=CUTOFF)
    data.commit()

    outcome = run_purge(workflow_url, s3, buckets)

    assert "partitions_to_drop" not in outcome.details
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'app.sessions'::regclass").fetchone() == (
        2,)
    assert [row[0] for row in conn.execute("SELECT session_id FROM app.sessions")] == [kept]
    assert outcome.counts["rows_deleted"] == len(old)


# -- a kill at each step of a drop, then a rerun ------------------------------------------------------------

KILLING_WORKER = """
import os, signal, sys
from datetime import datetime
import psycopg
sys.path.insert(0, "plugins")
from governance.lifecycle import Timeouts
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.storage import client_from_env

marker, occurrence = sys.argv[2], int(sys.argv[3])
seen = 0
execute = psycopg.Connection.execute

def execute_then_die(self, query, *args, **kwargs):
    global seen
    result = execute(self, query, *args, **kwargs)
    text = query if isinstance(query, str) else query.as_string(self)
    if marker in text:
        seen += 1
        if seen == occurrence:
            os.kill(os.getpid(), signal.SIGKILL)
    return result

psycopg.Connection.execute = execute_then_die
run = PurgeSettings(run_id="killed-run", run_cutoff=datetime.fromisoformat(sys.argv[1]), dry_run=False,
                    batch_size=100, max_rows_per_rule=100000, media_bucket=os.environ["MEDIA_BUCKET"],
                    timeouts=Timeouts(partition_lock_timeout_ms=200))
with psycopg.connect(os.environ["WORKFLOW_URL"], autocommit=True) as conn:
    purge_rule(conn, client_from_env(), policy=load_retention_policy(), rule="sessions", settings=run)
"""


# Killed at the statement naming `marker` (its `occurrence`-th); the killed run had committed `committed` drops.
@pytest.mark.parametrize(("marker", "occurrence", "committed"), [
    ("FROM pg_inherits AS inheritance", 2, 1),  # checked the second month is attached, nothing else yet
    ("IN EXCLUSIVE MODE", 2, 1),  # locked it
    ("AS not_due", 2, 1),  # counted it
    ("SELECT governance.drop_partition_keeping_held(", 2, 1),  # detached it, moved its held rows, dropped it
    ("INSERT INTO governance.partition_drops", 2, 1),  # recorded it, not committed
    ("FROM pg_inherits AS inheritance", 3, 2),  # the second month's drop committed; the third not begun
    ("DELETE FROM", 1, len(EXPIRED_MONTHS)),  # every month dropped, the block walk begun
], ids=["attached", "locked", "counted", "dropped", "recorded", "committed", "walking"])
def test_a_kill_at_each_step_of_a_drop_then_a_rerun_loses_no_held_row_and_leaves_no_detached_table(
        data, conn, db_url, workflow_url, buckets, s3, marker, occurrence, committed):
    partitioned(conn)
    user, held_person = data.user(), data.user()
    data.hold(held_person)
    sessions_by_month(data, user, EXPIRED_MONTHS[:4])
    sessions_by_month(data, held_person, EXPIRED_MONTHS[:4], per_month=1)
    straddling = [data.session(user, created_at=RULE_CUTOFF - timedelta(days=day)) for day in (1, 2)]
    data.commit()
    held_rows = conn.execute("SELECT t::text FROM app.sessions AS t WHERE user_id = %s ORDER BY 1",
                             (held_person,)).fetchall()
    conn.rollback()
    due = 3 * 4 + len(straddling)
    worker = subprocess.run([sys.executable, "-c", KILLING_WORKER, CUTOFF.isoformat(), marker, str(occurrence)],
                            env={**os.environ, "WORKFLOW_URL": workflow_url}, cwd=Path(__file__).resolve().parents[3],
                            timeout=120)
    assert worker.returncode == -signal.SIGKILL, "the worker should have been killed at the step"

    outcome = run_purge(workflow_url, s3, buckets, run_id="rerun")

    assert conn.execute("SELECT t::text FROM app.sessions AS t WHERE user_id = %s ORDER BY 1",
                        (held_person,)).fetchall() == held_rows
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE user_id = %s", (user,)).fetchone() == (0,)
    assert detached_leftovers(conn) == []
    assert not partition_names(conn) & {f"sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS}
    killed = ledger.entries_for_run(conn, "retention_purge", "killed-run")
    assert [entry["action"] for entry in killed] == ["purge_started", "purge_interrupted"]
    # The ledger's counts are the rows that went, each once: the killed run's committed drops, then the rerun's.
    assert killed[-1]["counts"]["rows_deleted"] + outcome.counts["rows_deleted"] == due
    by_killed_run = killed[-1]["details"]["partitions_dropped"]
    assert len(by_killed_run) == committed
    dropped = [item["partition"] for item in by_killed_run + closing_entry(conn, "rerun")["details"][
        "partitions_dropped"]]
    assert sorted(dropped) == [f"app.sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS]  # each once
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok



def test_the_purge_report_lists_each_month_dropped_with_its_rows_and_the_held_rows_it_kept(
        data, conn, db_url, workflow_url, s3, buckets):
    """From real runs: the preview names the months it would drop; the report of the run lists each dropped month
    with its range, rows, held rows kept and lock time (the same figures as governance.partition_drops), and the
    month a reader kept locked as deleted row by row, with why."""
    from governance.ledger_audit import ledger_state
    from governance.lifecycle import run_outcomes
    from governance.partition_purge import dropped_in_run
    from governance.purge_report import build_purge_report
    from governance.reports import render_html

    partitioned(conn)
    user, held_person = data.user(), data.user()
    data.hold(held_person)
    sessions_by_month(data, user, EXPIRED_MONTHS[:2])
    data.session(held_person, created_at=EXPIRED_MONTHS[1] + timedelta(days=2))
    data.commit()
    policy = load_retention_policy()

    def report(run_id: str, outcome, dry_run: bool) -> tuple[dict, str]:
        with psycopg.connect(workflow_url, autocommit=True) as reader:
            document = build_purge_report(
                policy=policy, run_id=run_id, run_type="manual", run_cutoff=CUTOFF, dry_run=dry_run,
                planned_rules=["sessions"], outcomes=[outcome.as_dict()],
                recorded=[] if dry_run else run_outcomes(reader, "retention_purge", run_id),
                ledger_state=ledger_state(reader, s3, workflow="retention_purge", run_id=run_id),
                partitions_dropped={} if dry_run else {"sessions": [
                    item.as_dict() for item in dropped_in_run(reader, "retention_purge", run_id, "sessions")]})
        return document, render_html("purge_report.html.j2", report=document).decode()

    preview, html = report("preview-1", run_purge(workflow_url, s3, buckets, run_id="preview-1", dry_run=True), True)
    assert preview["rules"][0]["notes"] == ["It would drop 12 monthly partitions whole (listed below)."]
    assert html.count("to be dropped whole, unless by then it holds rows this rule does not delete") == 12

    with psycopg.connect(db_url) as other:  # a long read of one month: that month cannot be detached meanwhile
        other.execute("SELECT count(*) FROM app.sessions_2024_11").fetchone()
        outcome = run_purge(workflow_url, s3, buckets, timeouts=Timeouts(
            partition_lock_timeout_ms=20, partition_attempts=2, retry_pause_s=0.01))
    document, html = report("run-1", outcome, False)
    partitions = document["rules"][0]["partitions"]
    assert [item["partition"] for item in partitions["dropped"]] == [
        f"app.sessions_{month:%Y_%m}" for month in EXPIRED_MONTHS if month != EXPIRED_MONTHS[1]]
    assert (partitions["dropped"][0]["rows_deleted"], partitions["dropped"][0]["held_rows_moved"]) == (3, 0)
    assert list(partitions["walked_instead"]) == ["app.sessions_2024_11"]
    assert document["rules"][0]["notes"] == [
        "3 rows of these went with 11 monthly partitions dropped whole (listed below)."]
    assert 'data-partition="app.sessions_2024_10"' in html
    assert "2024-10-01 00:00:00 UTC" in html
    assert ("not dropped by this rule: another session kept the table locked through 2 attempts of 20 ms; its rows "
            "that were due, if any, were deleted row by row") in html
    assert "stays locked" not in html  # not a preview

    # The walk left the held person's row in that month; once the hold is released, the next run drops it whole.
    conn.execute("UPDATE governance.legal_holds SET released_at = %s WHERE user_id = %s", (CUTOFF, held_person))
    conn.commit()
    _, again = report("run-2", run_purge(workflow_url, s3, buckets, run_id="run-2"), False)
    assert "<h2>Months dropped whole</h2>" in again
    assert 'data-partition="app.sessions_2024_11"' in again  # the empty month goes now
    _, third = report("run-3", run_purge(workflow_url, s3, buckets, run_id="run-3"), False)
    assert "nothing was dropped whole" in third


def test_a_partitioned_month_past_90_days_is_archived_then_its_held_rows_kept_then_it_is_dropped(
        data, conn, workflow_url, s3, buckets):
    """The archival's night, in its order (archive_tasks.night_order), on app.moderation_events partitioned by
    month: the critical events of a month past 90 days are archived and verified, the held person's events
    stay, and the standard rule then drops the month whole, keeping them; one code path per step."""
    import io

    import pyarrow.parquet as pq

    from governance.airflow.archive_tasks import night_order
    from governance.archive import ArchiveSettings, archive_rule

    partitioned(conn, since=datetime(2026, 6, 1, tzinfo=UTC))
    user, held_person = data.user(), data.user()
    data.hold(held_person)
    june = datetime(2026, 6, 1, tzinfo=UTC)
    critical = [data.moderation(user, severity="critical", created_at=june + timedelta(days=day)) for day in (1, 2)]
    standard = [data.moderation(user, created_at=june + timedelta(days=day)) for day in (3, 4, 5)]
    held = [data.moderation(held_person, severity=severity, created_at=june + timedelta(days=6))
            for severity in ("standard", "critical")]
    recent = data.moderation(user, created_at=CUTOFF - timedelta(days=10))
    data.commit()
    policy = load_retention_policy()

    for rule in night_order(policy.model.rules_for("moderation_log_archival")):
        with psycopg.connect(workflow_url, autocommit=True) as worker:
            if rule.action == "archive_then_delete":
                archive_rule(worker, s3, policy=policy, rule=rule.name, settings=ArchiveSettings(
                    run_id="night-1", run_cutoff=CUTOFF, dry_run=False, batch_size=100,
                    archive_bucket=buckets.archive, timeouts=FAST))
            else:
                purge_rule(worker, s3, policy=policy, rule=rule.name, settings=PurgeSettings(
                    run_id="night-1", run_cutoff=CUTOFF, dry_run=False, batch_size=100, max_rows_per_rule=10_000,
                    media_bucket=buckets.media, timeouts=FAST))

    listing = s3.list_objects_v2(Bucket=buckets.archive, Prefix="moderation/critical/")["Contents"]
    archived = [event for item in listing if item["Key"].endswith(".parquet") for event in pq.read_table(io.BytesIO(
        s3.get_object(Bucket=buckets.archive, Key=item["Key"])["Body"].read())).column("event_id").to_pylist()]
    assert sorted(archived) == critical
    assert "moderation_events_2026_06" not in partition_names(conn, "moderation_events")
    remaining = {row[0] for row in conn.execute("SELECT event_id FROM app.moderation_events")}
    assert remaining == {*held, recent}
    assert conn.execute("SELECT array_agg(event_id ORDER BY event_id) FROM app.moderation_events_default").fetchone() \
        == (held,)
    dropped = closing_entry(conn, "night-1", "moderation_log_archival")["details"]["partitions_dropped"]
    assert [(item["partition"], item["rows_deleted"], item["held_rows_moved"]) for item in dropped] == [
        ("app.moderation_events_2026_06", 3, 2), ("app.moderation_events_2026_07", 0, 0)]  # July: past 90 days
    assert [item for item in standard if item in remaining] == []
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok
