"""The shared run lifecycle against the real PostgreSQL and S3 server: one run per rule at a time, no
deadlocks between rules, nothing done twice, every deleted object counted, and every wait bounded."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.errors import StepFailed
from governance.lifecycle import Counts, Timeouts
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.storage import list_keys
from tests.conftest import LEDGER_KEY
from tests.factories import CUTOFF

pytestmark = pytest.mark.integration

FAST = Timeouts(lock_timeout_ms=300, batch_attempts=3, retry_pause_s=0.05)


def run_rule(url, s3, bucket, rule, *, run_id="run-1", batch_size=50, timeouts=None, connection_name="purge"):
    settings = PurgeSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=batch_size,
                             max_rows_per_rule=100_000, media_bucket=bucket, timeouts=timeouts or Timeouts())
    with psycopg.connect(url, autocommit=True, application_name=connection_name) as conn:
        return purge_rule(conn, s3, policy=load_retention_policy(), rule=rule, settings=settings)


def actions(conn, run_id: str) -> list[str]:
    conn.rollback()
    return [entry["action"] for entry in ledger.entries_for_run(conn, "retention_purge", run_id)]


def test_counters_are_named_once_and_a_typo_is_refused():
    """A counter that is not one of COUNTERS is an error, not a new silent column."""
    assert (Counts(rows_deleted=2) + Counts(rows_deleted=3, objects_deleted=1)).nonzero() == {
        "rows_deleted": 5, "objects_deleted": 1}
    with pytest.raises(ValueError, match=r"unknown counters \['rows_delted'\]"):
        Counts(rows_delted=1)


def test_a_second_run_of_a_rule_fails_at_once_and_the_first_is_not_called_interrupted(
    data, conn, db_url, workflow_url, s3, buckets
):
    """While run A of a rule waits on a row an application has locked, run B of the same rule fails at once,
    naming A; it neither records A as interrupted nor deletes anything. A then finishes, and the ledger's
    counts are exactly what went."""
    user = data.user()
    sessions = [data.session(user, created_at=CUTOFF - relativedelta(years=2)) for _ in range(20)]
    data.commit()
    results: dict[str, object] = {}
    with psycopg.connect(db_url) as application:
        application.execute("SELECT 1 FROM app.sessions WHERE session_id = %s FOR UPDATE", (sessions[0],))

        def first():
            try:
                results["a"] = run_rule(workflow_url, s3, buckets.media, "sessions", run_id="run-a",
                                        timeouts=Timeouts(lock_timeout_ms=20_000))
            except BaseException as exc:
                results["a"] = exc

        thread = threading.Thread(target=first)
        thread.start()
        wait_for_lock_wait(db_url, "purge")
        with pytest.raises(StepFailed, match=r"rule 'sessions' is already running in run 'run-a' \(started "):
            run_rule(workflow_url, s3, buckets.media, "sessions", run_id="run-b", connection_name="second")
        application.rollback()
    thread.join(60)
    assert results["a"].counts["rows_deleted"] == 20
    assert actions(conn, "run-a") == ["purge_started", "purge_completed"]
    assert actions(conn, "run-b") == []
    assert conn.execute("SELECT count(*) FROM governance.rule_runs WHERE run_id = 'run-b'").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM app.sessions").fetchone() == (0,)


def wait_for_lock_wait(db_url: str, application_name: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                               " AND wait_event_type = 'Lock'", (application_name,)).fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError(f"{application_name} never waited on a lock")


def test_rules_that_touch_the_same_tables_run_in_parallel_without_deadlocks(data, conn, workflow_url, s3, buckets):
    """The erasure, the generations, prohibited-content and sessions rules share tables; run all at once, as
    the mapped tasks do, with small batches, they all succeed, PostgreSQL detects no deadlock (a retried one
    would hide in the results), and together they delete exactly what is due."""
    erased, living = [], []
    for index in range(30):
        user = data.user(deleted_at=CUTOFF - timedelta(days=40) if index % 2 else None)
        (erased if index % 2 else living).append(user)
        for _ in range(4):
            data.session(user, created_at=CUTOFF - relativedelta(years=2))
            generation = data.generation(user, deleted_at=CUTOFF - timedelta(days=1))
            data.moderation(user, action="content_deleted", generation_id=generation)
    data.commit()
    outcomes, errors = {}, []

    def run(rule):
        try:
            outcomes[rule] = run_rule(workflow_url, s3, buckets.media, rule, batch_size=3)
        except BaseException as exc:
            errors.append((rule, exc))

    rules = ["deleted_accounts", "deleted_generations", "prohibited_content", "sessions"]
    deadlocks = database_deadlocks(conn)
    threads = [threading.Thread(target=run, args=(rule,)) for rule in rules]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert database_deadlocks(conn) == deadlocks
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users WHERE user_id = ANY(%s)", (erased,)).fetchone() == (0,)
    for table in ("sessions", "generations"):
        assert conn.execute(f"SELECT count(*) FROM app.{table}").fetchone() == (0,)  # noqa: S608
    assert not list(list_keys(s3, buckets.media))
    deleted = sum(outcome.counts["rows_deleted"] for outcome in outcomes.values())
    assert deleted == len(erased) + 30 * 4 * 2  # the erased accounts, every session and generation, once each


def test_a_batch_waits_for_another_rules_batch_on_a_shared_table_before_locking_any_row(
    data, conn, db_url, workflow_url, s3, buckets, stack_env
):
    """Batches take their tables' batch locks in name order before any row lock. While an erasure's batch
    stalls in S3 holding its rows, a generations batch waits on that batch lock, holding no row, so the two
    cannot deadlock whatever order their rows are in; once S3 answers, both finish."""
    from tests.s3_faults import client_for, faulty_s3

    user = data.user(deleted_at=CUTOFF - timedelta(days=40))
    for _ in range(3):
        data.generation(user, deleted_at=CUTOFF - timedelta(days=1))
    data.commit()
    errors = []
    with faulty_s3(stack_env["S3_ENDPOINT_URL"]) as proxy:
        proxy.mode = "pause"

        def erase():
            try:
                run_rule(workflow_url, client_for(proxy.endpoint), buckets.media, "deleted_accounts")
            except BaseException as exc:
                errors.append(exc)

        eraser = threading.Thread(target=erase)
        eraser.start()
        assert proxy.paused.wait(30)

        def purge_generations():
            try:
                run_rule(workflow_url, s3, buckets.media, "deleted_generations", connection_name="generations")
            except BaseException as exc:
                errors.append(exc)

        other = threading.Thread(target=purge_generations)
        other.start()
        with psycopg.connect(db_url, autocommit=True) as watcher:
            deadline, waiting = time.monotonic() + 20, None
            while time.monotonic() < deadline and waiting != "advisory":
                waiting = watcher.execute("SELECT wait_event FROM pg_stat_activity WHERE application_name ="
                                          " 'generations' AND wait_event_type = 'Lock'").fetchone()
                waiting = waiting and waiting[0]
                time.sleep(0.02)
            held = watcher.execute("SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid)"
                                   " WHERE a.application_name = 'generations' AND l.locktype = 'tuple'").fetchone()[0]
        assert waiting == "advisory"
        assert held == 0
        proxy.mode = None
        proxy.release()
        eraser.join(60)
        other.join(60)
    assert not errors, errors
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.generations").fetchone() == (0,)


def database_deadlocks(conn) -> int:
    conn.rollback()
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def test_a_cleared_task_of_a_completed_run_does_nothing_and_says_so(data, conn, workflow_url, s3, buckets):
    """Clearing a finished task reruns it with the same run id: it reports the run's totals, deletes nothing
    more, and appends no second purge_completed."""
    user = data.user()
    data.session(user, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    first = run_rule(workflow_url, s3, buckets.media, "sessions")
    data.session(user, created_at=CUTOFF - relativedelta(years=2))  # due too, but this run is over
    data.commit()
    again = run_rule(workflow_url, s3, buckets.media, "sessions")
    assert again.state == "already_completed"
    assert again.counts == first.counts
    assert actions(conn, "run-1") == ["purge_started", "purge_completed"]
    assert conn.execute("SELECT count(*) FROM app.sessions").fetchone() == (1,)


def test_objects_deleted_by_a_batch_that_then_fails_are_accounted_for(data, conn, workflow_url, s3, buckets):
    """A batch's objects go before its rows; when the rows' transaction then fails, the rows stay and the
    objects that went are still counted, in the run's record and in the ledger. The rerun deletes the rows,
    and counts their objects as already absent, not twice."""
    user = data.user()
    due = [data.generation(user, deleted_at=CUTOFF - timedelta(days=1)) for _ in range(5)]
    conn.execute("""
        CREATE FUNCTION app.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'no'; END $$;
        CREATE TRIGGER refuse BEFORE DELETE ON app.generations FOR EACH ROW EXECUTE FUNCTION app.refuse();
    """)
    data.commit()
    with pytest.raises(StepFailed, match=r"RaiseException \(P0001\) in step delete rows"):
        run_rule(workflow_url, s3, buckets.media, "deleted_generations")
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.generations").fetchone() == (5,)
    assert not list(list_keys(s3, buckets.media))
    state, counts = conn.execute("SELECT state, counts FROM governance.rule_runs").fetchone()
    assert (state, counts["objects_deleted"], counts.get("rows_deleted", 0)) == ("failed", 5, 0)
    failed = ledger.entries_for_run(conn, "retention_purge", "run-1")[-1]
    assert failed["action"] == "purge_failed"
    assert failed["counts"]["objects_deleted"] == 5
    assert failed["details"]["failure"] == {"step": "delete rows", "error_class": "RaiseException", "code": "P0001"}

    conn.execute("DROP TRIGGER refuse ON app.generations")
    conn.commit()
    rerun = run_rule(workflow_url, s3, buckets.media, "deleted_generations", run_id="run-2")
    assert rerun.counts.nonzero() == {"rows_deleted": 5, "objects_already_absent": 5}
    assert conn.execute("SELECT count(*) FROM app.generations WHERE generation_id = ANY(%s)", (due,)).fetchone() == (0,)


def test_batch_settings_are_local_to_each_transaction(data, conn, workflow_url, s3, buckets):
    """synchronous_commit, lock_timeout and statement_timeout are set for each batch only, so a pooled session
    keeps its own settings after a purge, whether it succeeded or failed."""
    user = data.user()
    for _ in range(5):
        data.session(user, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    settings = PurgeSettings(run_id="run-1", run_cutoff=CUTOFF, dry_run=False, batch_size=2, max_rows_per_rule=100,
                             media_bucket=buckets.media)
    with psycopg.connect(workflow_url, autocommit=True) as pooled:
        before = session_settings(pooled)
        purge_rule(pooled, s3, policy=load_retention_policy(), rule="sessions", settings=settings)
        assert session_settings(pooled) == before
        data.session(user, created_at=CUTOFF - relativedelta(years=2))
        conn.execute("""
            CREATE FUNCTION app.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;
            CREATE TRIGGER refuse BEFORE DELETE ON app.sessions FOR EACH ROW EXECUTE FUNCTION app.refuse();
        """)
        data.commit()
        with pytest.raises(StepFailed, match="in step delete rows"):
            purge_rule(pooled, s3, policy=load_retention_policy(), rule="sessions",
                       settings=PurgeSettings(**{**settings.__dict__, "run_id": "run-2"}))
        assert session_settings(pooled) == before == ("on", "0", "0")


def session_settings(conn) -> tuple[str, str, str]:
    return tuple(conn.execute("SELECT current_setting('synchronous_commit'), current_setting('lock_timeout'),"
                              " current_setting('statement_timeout')").fetchone())


def test_a_lock_the_application_holds_is_waited_on_for_a_bounded_time_then_retried(
    data, conn, db_url, workflow_url, s3, buckets
):
    """A batch never queues behind an application's lock for long: it gives up after lock_timeout and retries.
    When the lock is released between attempts, the rule succeeds; when it is never released, the rule fails
    naming LockNotAvailable (55P03), and deletes nothing it could not lock."""
    user = data.user()
    sessions = [data.session(user, created_at=CUTOFF - relativedelta(years=2)) for _ in range(3)]
    data.commit()
    with psycopg.connect(db_url) as application:
        application.execute("SELECT 1 FROM app.sessions WHERE session_id = %s FOR UPDATE", (sessions[0],))
        started = time.monotonic()
        with pytest.raises(StepFailed, match=r"LockNotAvailable \(55P03\) in step delete rows"):
            run_rule(workflow_url, s3, buckets.media, "sessions", timeouts=FAST)
        assert time.monotonic() - started < 10
        application.rollback()
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.sessions").fetchone() == (3,)

    with psycopg.connect(db_url) as application:
        application.execute("SELECT 1 FROM app.sessions WHERE session_id = %s FOR UPDATE", (sessions[0],))
        timer = threading.Timer(0.4, application.rollback)
        timer.start()
        outcome = run_rule(workflow_url, s3, buckets.media, "sessions", run_id="run-2",
                           timeouts=Timeouts(lock_timeout_ms=300, batch_attempts=5, retry_pause_s=0.2))
        timer.join()
    assert outcome.counts["rows_deleted"] == 3
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def test_a_run_accounted_as_interrupted_and_then_retried_counts_nothing_twice(data, conn, db_url, workflow_url, s3,
                                                                              buckets):
    """Run B records run A, whose worker died, as interrupted with A's committed counts. When A's task is then
    retried, A starts from zero: summed over the ledger's closing entries, every row is counted once."""
    user = data.user()
    for _ in range(4):
        data.session(user, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    with psycopg.connect(db_url, autocommit=True) as admin:  # what a worker killed after 7 rows leaves behind
        admin.execute("INSERT INTO governance.rule_runs (workflow, run_id, rule, counts, batches)"
                      " VALUES ('retention_purge', 'run-a', 'sessions', '{\"rows_deleted\": 7}', 1)")
    run_rule(workflow_url, s3, buckets.media, "sessions", run_id="run-b")
    data.session(user, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    retried = run_rule(workflow_url, s3, buckets.media, "sessions", run_id="run-a")
    assert retried.counts["rows_deleted"] == 1
    conn.rollback()
    closing = conn.execute("SELECT run_id, action, (counts->>'rows_deleted')::int FROM governance.audit_ledger"
                           " WHERE action IN ('purge_completed', 'purge_interrupted') ORDER BY seq").fetchall()
    assert closing == [("run-a", "purge_interrupted", 7), ("run-b", "purge_completed", 4),
                       ("run-a", "purge_completed", 1)]


def test_a_batch_retried_after_deleting_its_objects_does_not_count_them_twice(data, conn, workflow_url, s3, buckets):
    """A batch that deleted its objects and then hit a retryable error is retried; the objects it deleted are
    counted once, as deleted, and not again as already absent."""
    user = data.user()
    for _ in range(3):
        data.generation(user, deleted_at=CUTOFF - timedelta(days=1))
    conn.execute("""
        CREATE SEQUENCE app.fault_calls;  -- nextval outlives the rollback it is called in
        GRANT USAGE ON SEQUENCE app.fault_calls TO governance_workflow;
        CREATE FUNCTION app.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('app.fault_calls') = 1 THEN
                RAISE EXCEPTION 'injected' USING ERRCODE = 'lock_not_available';
            END IF;
            RETURN OLD;
        END $$;
        CREATE TRIGGER fail_once BEFORE DELETE ON app.generations FOR EACH ROW EXECUTE FUNCTION app.fail_once();
    """)
    data.commit()
    outcome = run_rule(workflow_url, s3, buckets.media, "deleted_generations", timeouts=FAST)
    assert outcome.counts.nonzero() == {"rows_deleted": 3, "objects_deleted": 3, "object_versions_deleted": 3}
    assert not list(list_keys(s3, buckets.media))
