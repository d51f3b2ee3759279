"""The retention purge against the real PostgreSQL and S3 server: what section 5 promises."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.errors import StepFailed
from governance.policy import load_retention_policy
from governance.pseudonyms import pseudonym
from governance.purge import PurgeSettings, purge_rule
from governance.schema_check import RuleConfigurationError
from governance.storage import list_keys
from tests.conftest import LEDGER_KEY, PSEUDONYM_KEY
from tests.factories import CUTOFF, SECOND, Data

pytestmark = pytest.mark.integration

KEY = PSEUDONYM_KEY


@pytest.fixture
def purge(workflow_url, s3, buckets):
    """Run one rule on this test's database and buckets, as the workflows' role; returns its outcome."""
    policy = load_retention_policy()

    def run(rule, *, run_id="run-1", dry_run=False, batch_size=2, max_rows=10_000, client=None, cutoff=CUTOFF):
        settings = PurgeSettings(run_id=run_id, run_cutoff=cutoff, dry_run=dry_run, batch_size=batch_size,
                                 max_rows_per_rule=max_rows, media_bucket=buckets.media)
        with psycopg.connect(workflow_url, autocommit=True) as conn:
            return purge_rule(conn, client or s3, policy=policy, rule=rule, settings=settings)

    return run


def exists(conn, table: str, key_column: str, key: int) -> bool:
    conn.rollback()  # a fresh snapshot: the purge commits on its own connection
    return conn.execute(f"SELECT 1 FROM app.{table} WHERE {key_column} = %s", (key,)).fetchone() is not None  # noqa: S608


def table_digest(conn) -> dict[str, str]:
    """A content hash of every reference table, to show that a rerun changes nothing."""
    conn.rollback()
    digests = {}
    for table in ("users", "sessions", "usage_events", "cookie_consents", "generations", "uploads",
                  "moderation_events", "payments", "disclosures"):
        row = conn.execute(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM app.{table} t")  # noqa: S608
        digests[table] = row.fetchone()[0]
    return digests


# -- the boundary of each rule, one second either side ---------------------------------

BOUNDARIES = [
    ("sessions", "sessions", "session_id", lambda d, u, at: d.session(u, created_at=at),
     CUTOFF - relativedelta(months=13)),
    ("usage_events", "usage_events", "event_id", lambda d, u, at: d.usage_event(u, created_at=at),
     CUTOFF - relativedelta(months=13)),
    ("deleted_generations", "generations", "generation_id", lambda d, u, at: d.generation(u, deleted_at=at), CUTOFF),
    ("deleted_uploads", "uploads", "upload_id", lambda d, u, at: d.upload(u, deleted_at=at), CUTOFF),
    ("payments", "payments", "payment_id", lambda d, u, at: d.payment(u, country="RU", created_at=at),
     CUTOFF - relativedelta(years=5)),
    ("payments", "payments", "payment_id", lambda d, u, at: d.payment(u, country="DE", created_at=at),
     CUTOFF - relativedelta(years=10)),
    ("payments", "payments", "payment_id", lambda d, u, at: d.payment(u, country="BR", created_at=at),
     CUTOFF - relativedelta(years=10)),
]


@pytest.mark.parametrize(("rule", "table", "key_column", "insert", "boundary"), BOUNDARIES,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BOUNDARIES)])
def test_rule_removes_a_row_one_second_past_its_period_and_keeps_one_a_second_short(
    shape, purge, data, conn, rule, table, key_column, insert, boundary
):
    """A row one second older than the period is removed; one second younger, or exactly at it, stays."""
    user = data.user()
    expired = insert(data, user, boundary - SECOND)
    kept_young = insert(data, user, boundary + SECOND)
    kept_exact = insert(data, user, boundary)
    data.commit()
    outcome = purge(rule)
    assert not exists(conn, table, key_column, expired)
    assert exists(conn, table, key_column, kept_young)
    assert exists(conn, table, key_column, kept_exact)
    assert outcome.counts["rows_deleted"] == 1


def test_deleted_account_boundary_is_thirty_days_after_deletion(purge, data, conn):
    """An account deleted 30 days and one second before the cutoff is erased; one deleted a second later is not."""
    erased = data.user(deleted_at=CUTOFF - timedelta(days=30) - SECOND)
    kept = data.user(deleted_at=CUTOFF - timedelta(days=30) + SECOND)
    living = data.user()
    data.commit()
    outcome = purge("deleted_accounts")
    assert not exists(conn, "users", "user_id", erased)
    assert exists(conn, "users", "user_id", kept)
    assert exists(conn, "users", "user_id", living)
    assert outcome.counts["rows_deleted"] == 1


def test_erasure_removes_personal_data_and_media_and_pseudonymises_what_must_outlive_it(
    shape, purge, data, conn, s3, buckets
):
    """An erased account loses every personal row and media object; payments and moderation
    events stay, pseudonymised, for their own periods."""
    user = data.user(deleted_at=CUTOFF - timedelta(days=31))
    other = data.user(deleted_at=CUTOFF - timedelta(days=40))
    data.session(user, created_at=CUTOFF - timedelta(days=2))
    data.usage_event(user, created_at=CUTOFF - timedelta(days=2))
    conn.execute("INSERT INTO app.cookie_consents (user_id, category, granted) VALUES (%s, 'analytics', true)", (user,))
    generation = data.generation(user, created_at=CUTOFF - timedelta(days=3))
    data.upload(user)
    payment = data.payment(user, country="DE", created_at=CUTOFF - timedelta(days=60))
    other_payment = data.payment(other, country="DE", created_at=CUTOFF - timedelta(days=60))
    critical = data.moderation(user, severity="critical", action="account_suspended", generation_id=generation)
    standard = data.moderation(user, severity="standard")
    data.commit()

    outcome = purge("deleted_accounts")

    conn.rollback()
    for table in ("sessions", "usage_events", "cookie_consents", "generations", "uploads"):
        assert conn.execute(f"SELECT count(*) FROM app.{table} WHERE user_id = %s", (user,)).fetchone() == (0,)  # noqa: S608
    assert not exists(conn, "users", "user_id", user)
    assert not [key for key in list_keys(s3, buckets.media) if f"/{user}/" in key]
    expected = pseudonym(KEY.encode(), "users", user)
    assert conn.execute("SELECT user_id, user_pseudonym FROM app.payments WHERE payment_id = %s",
                        (payment,)).fetchone() == (None, expected)
    assert conn.execute("SELECT user_id, user_pseudonym FROM app.moderation_events WHERE event_id = %s",
                        (critical,)).fetchone() == (None, expected)
    # Standard events are kept for their own 90 days too, without the person (the archival deletes them).
    assert conn.execute("SELECT user_id, user_pseudonym FROM app.moderation_events WHERE event_id = %s",
                        (standard,)).fetchone() == (None, expected)
    other_pseudonym = conn.execute("SELECT user_pseudonym FROM app.payments WHERE payment_id = %s",
                                   (other_payment,)).fetchone()[0]
    assert other_pseudonym != expected
    assert outcome.counts["rows_pseudonymised"] == 4
    assert outcome.counts["objects_deleted"] == 2
    assert outcome.counts["subjects_erased"] == 2


def test_pseudonyms_keep_no_link_to_the_person(purge, data, conn):
    """Without the secret key, a pseudonym cannot be recomputed from the user id, and it holds neither id nor email."""
    user = data.user(deleted_at=CUTOFF - timedelta(days=31), user_id=424242)
    payment = data.payment(user, country="DE", created_at=CUTOFF - timedelta(days=60))
    data.commit()
    purge("deleted_accounts")
    conn.rollback()
    row = conn.execute("SELECT * FROM app.payments WHERE payment_id = %s", (payment,)).fetchone()
    text = " ".join(str(value) for value in row)
    assert "424242" not in text.replace(str(payment), "")
    assert "example.com" not in text
    stored = conn.execute("SELECT user_pseudonym FROM app.payments WHERE payment_id = %s", (payment,)).fetchone()[0]
    # It is the keyed hash made with the deployment's secret key, and no unkeyed hash anyone could recompute.
    assert stored == pseudonym(KEY.encode(), "users", user)
    unkeyed = {hashlib.sha256(text).hexdigest() for text in (b"424242", b"users:424242", b"user424242@example.com")}
    assert stored not in unkeyed


def test_legal_hold_exempts_every_rule_until_released(shape, purge, data, conn):
    """A person under an active hold keeps their account and old rows, counted as held; a released hold does not."""
    held = data.user(deleted_at=CUTOFF - timedelta(days=400))
    released = data.user(deleted_at=CUTOFF - timedelta(days=400))
    data.hold(held)
    data.hold(released, released=True)
    old_session = data.session(held, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    sessions = purge("sessions")
    accounts = purge("deleted_accounts")
    assert exists(conn, "users", "user_id", held)
    assert exists(conn, "sessions", "session_id", old_session)
    assert not exists(conn, "users", "user_id", released)
    assert (sessions.held, sessions.counts["rows_deleted"]) == (1, 0)
    assert (accounts.held, accounts.eligible) == (1, 1)


def test_prohibited_content_media_is_deleted_whatever_its_age_and_the_row_records_it(purge, data, conn, s3, buckets):
    """A generation with a content_deleted moderation event loses its media object at once; the row stays, marked."""
    user = data.user()
    flagged = data.generation(user, created_at=CUTOFF - timedelta(minutes=5))
    clean = data.generation(user, created_at=CUTOFF - timedelta(minutes=5))
    data.moderation(user, severity="critical", action="content_deleted", generation_id=flagged)
    data.moderation(user, severity="standard", action="warning", generation_id=clean)
    data.commit()
    outcome = purge("prohibited_content")
    keys = set(list_keys(s3, buckets.media))
    assert f"generations/{user}/{flagged}.png" not in keys
    assert f"generations/{user}/{clean}.png" in keys
    conn.rollback()
    marks = dict(conn.execute("SELECT generation_id, media_deleted_at IS NOT NULL FROM app.generations").fetchall())
    assert marks == {flagged: True, clean: False}
    assert (outcome.counts["rows_media_marked"], outcome.counts["objects_deleted"]) == (1, 1)
    assert purge("prohibited_content", run_id="run-2").counts["rows_media_marked"] == 0


def seed_everything(data: Data) -> None:
    """Rows due under every rule, rows not due, and a held person."""
    for index in range(4):
        user = data.user(deleted_at=CUTOFF - timedelta(days=31 + index))
        data.generation(user)
        data.session(user, created_at=CUTOFF - timedelta(days=1))
        data.payment(user, country="RU", created_at=CUTOFF - relativedelta(years=6))
        data.moderation(user, severity="critical")
    living = data.user()
    data.generation(living, deleted_at=CUTOFF - timedelta(days=1))
    flagged = data.generation(living)
    data.moderation(living, action="content_deleted", generation_id=flagged)
    data.session(living, created_at=CUTOFF - relativedelta(years=2))
    data.usage_event(living, created_at=CUTOFF - relativedelta(years=2))
    held = data.user(deleted_at=CUTOFF - timedelta(days=90))
    data.hold(held)
    data.commit()


RULES = ["deleted_accounts", "deleted_generations", "deleted_uploads", "prohibited_content", "payments",
         "sessions", "usage_events"]


def test_second_run_of_the_same_date_changes_nothing(shape, purge, data, conn, s3, buckets):
    """Rerunning the same cutoff (as a retry, or as a new run) deletes nothing more and leaves every table as it was."""
    seed_everything(data)
    first = [purge(rule) for rule in RULES]
    assert sum(outcome.counts["rows_deleted"] for outcome in first) > 0
    digest, objects = table_digest(conn), set(list_keys(s3, buckets.media))
    retry = [purge(rule) for rule in RULES]
    rerun = [purge(rule, run_id="run-2") for rule in RULES]
    assert table_digest(conn) == digest
    assert set(list_keys(s3, buckets.media)) == objects
    # A rerun of a run that completed does nothing more, and says so; it reports the run's totals.
    assert [o.state for o in retry] == ["already_completed"] * len(RULES)
    assert [o.counts for o in retry] == [o.counts for o in first]
    assert not any(o.counts for o in rerun)
    assert ledger.verify(conn).ok


def test_every_rule_leaves_a_ledger_entry_with_its_counts(purge, data, conn):
    """Each rule records its start and its totals: rule, table, cutoff, counts, policy SHA-256 and run id."""
    seed_everything(data)
    policy = load_retention_policy()
    outcome = purge("sessions")
    conn.rollback()
    entries = ledger.entries_for_run(conn, "retention_purge", "run-1")
    assert [entry["action"] for entry in entries] == ["purge_started", "purge_completed"]
    completed = entries[-1]
    assert completed["rule"] == "sessions"
    assert completed["target_table"] == "app.sessions"
    assert completed["policy_sha256"] == policy.sha256
    assert completed["cutoff"] == CUTOFF - relativedelta(months=13)
    assert completed["counts"]["rows_deleted"] == outcome.counts["rows_deleted"] == 1
    assert entries[0]["counts"] == {"eligible": 1, "held": 0}
    assert completed["details"] == {}
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def test_dry_run_deletes_nothing_and_previews_the_counts(purge, data, conn, s3, buckets):
    """A dry run counts what is due and held, and touches no row, object or ledger entry."""
    seed_everything(data)
    digest, objects = table_digest(conn), set(list_keys(s3, buckets.media))
    previews = {rule: purge(rule, dry_run=True) for rule in RULES}
    assert table_digest(conn) == digest
    assert set(list_keys(s3, buckets.media)) == objects
    assert previews["deleted_accounts"].eligible == 4
    assert previews["deleted_accounts"].held == 1
    assert previews["sessions"].eligible == 1
    assert ledger.entries_for_run(conn, "retention_purge", "run-1") == []


def test_safety_cap_stops_a_rule_before_it_deletes_anything(purge, data, conn):
    """A rule with more rows due than max_rows_per_rule fails, names the cap, and deletes nothing."""
    user = data.user()
    sessions = [data.session(user, created_at=CUTOFF - relativedelta(years=2)) for _ in range(5)]
    data.commit()
    with pytest.raises(StepFailed, match=r"'sessions': 5 rows are due, more than max_rows_per_rule=3"):
        purge("sessions", max_rows=3)
    assert all(exists(conn, "sessions", "session_id", session) for session in sessions)


def test_rule_naming_a_missing_column_fails_by_name_and_others_still_run(purge, data, conn):
    """A rule whose column is gone fails with an error naming rule and column, before deleting; other rules run."""
    user = data.user()
    event = data.usage_event(user, created_at=CUTOFF - relativedelta(years=2))
    session = data.session(user, created_at=CUTOFF - relativedelta(years=2))
    conn.execute("ALTER TABLE app.usage_events RENAME COLUMN created_at TO occurred_at")
    data.commit()
    with pytest.raises(StepFailed, match=r"'usage_events'.*column app.usage_events.created_at") as refused:
        purge("usage_events")
    assert refused.value.permanent
    assert exists(conn, "usage_events", "event_id", event)
    purge("sessions")
    assert not exists(conn, "sessions", "session_id", session)
    state, failure = conn.execute(
        "SELECT state, error FROM governance.rule_runs WHERE rule = 'usage_events'").fetchone()
    assert state == "refused"
    assert failure["step"] == "check"
    assert "does not exist" in failure["reason"]


def test_unreachable_s3_fails_clearly_and_keeps_the_rows(purge, data, conn):
    """When the S3 server cannot be reached, the rule fails saying so, and no row loses its media record."""
    import boto3
    from botocore.config import Config

    user = data.user()
    generation = data.generation(user, deleted_at=CUTOFF - timedelta(days=1))
    data.commit()
    dead = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    with pytest.raises(StepFailed, match=r"S3 failed while reading the bucket.s versioning .*EndpointConnectionError"):
        purge("deleted_generations", client=dead)
    assert exists(conn, "generations", "generation_id", generation)


def test_rows_inserted_by_a_concurrent_writer_survive(shape, purge, data, conn, db_url):
    """While a purge runs in many batches, an application keeps inserting rows; every one of them survives."""
    user = data.user()
    with conn.cursor().copy("COPY app.sessions (session_id, user_id, ip_hash, created_at) FROM STDIN") as copy:
        for session_id in range(1, 3001):
            copy.write_row((session_id, user, "0" * 64, CUTOFF - relativedelta(years=2)))
    data.commit()
    inserted: list[int] = []
    stop = threading.Event()

    def writer():
        with psycopg.connect(db_url, autocommit=True) as app:
            next_id = 10_000_000
            while not stop.is_set() and next_id < 10_005_000:
                app.execute("INSERT INTO app.sessions (session_id, user_id, ip_hash, created_at) VALUES (%s,%s,%s,%s)",
                            (next_id, user, "1" * 64, CUTOFF - relativedelta(years=2) if next_id % 2 else CUTOFF))
                inserted.append(next_id)
                next_id += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        outcome = purge("sessions", batch_size=50)
    finally:
        stop.set()
        thread.join()
    conn.rollback()
    surviving = {row[0] for row in conn.execute("SELECT session_id FROM app.sessions WHERE session_id >= 10000000")}
    assert len(inserted) > 0
    # New rows behind the key walk survive; old-dated ones the walk had not reached yet may go, as they are due.
    assert {key for key in inserted if key % 2 == 0} <= surviving
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE session_id < 10000000").fetchone() == (0,)
    assert outcome.counts["rows_deleted"] >= 3000


WORKER = """
import os, sys
from datetime import datetime
import psycopg
sys.path.insert(0, "plugins")
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.storage import client_from_env
run = PurgeSettings(run_id="killed-run", run_cutoff=datetime.fromisoformat(sys.argv[1]), dry_run=False,
                    batch_size=5, max_rows_per_rule=100000, media_bucket=os.environ["MEDIA_BUCKET"])
with psycopg.connect(os.environ["WORKFLOW_URL"], autocommit=True) as conn:
    purge_rule(conn, client_from_env(), policy=load_retention_policy(), rule="deleted_generations", settings=run)
"""


def batches_of(watcher, run_id: str) -> int:
    row = watcher.execute("SELECT batches FROM governance.rule_runs WHERE run_id = %s", (run_id,)).fetchone()
    return row[0] if row else 0


def test_purge_killed_midway_then_rerun_loses_nothing_and_orphans_nothing(
    purge, data, conn, db_url, workflow_url, s3, buckets
):
    """SIGKILL in the middle of a rule, then a rerun: every due row and object is gone, every other one stays,
    no row points at a missing object, and the ledger accounts for the killed run's deletions."""
    user = data.user()
    due = {data.generation(user, deleted_at=CUTOFF - timedelta(days=1)) for _ in range(400)}
    kept = {data.generation(user) for _ in range(20)}
    data.commit()
    root = Path(__file__).resolve().parents[3]
    worker = subprocess.Popen([sys.executable, "-c", WORKER, CUTOFF.isoformat()],
                              env={**os.environ, "WORKFLOW_URL": workflow_url}, cwd=root)
    deadline = time.monotonic() + 60
    with psycopg.connect(db_url, autocommit=True) as watcher:
        while time.monotonic() < deadline and batches_of(watcher, "killed-run") < 3:
            time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    conn.rollback()
    remaining_due = conn.execute("SELECT count(*) FROM app.generations WHERE generation_id = ANY(%s)",
                                 (list(due),)).fetchone()[0]
    assert 0 < remaining_due < len(due), "the worker should have been killed midway"

    outcome = purge("deleted_generations", run_id="rerun")

    conn.rollback()
    rows = dict(conn.execute("SELECT generation_id, media_key FROM app.generations").fetchall())
    objects = set(list_keys(s3, buckets.media))
    assert set(rows) == kept
    assert set(rows.values()) == objects  # no row without its object, no object without its row
    entries = ledger.entries_for_run(conn, "retention_purge", "killed-run")
    assert [entry["action"] for entry in entries] == ["purge_started", "purge_interrupted"]
    killed = entries[-1]["counts"]
    assert killed["rows_deleted"] + outcome.counts["rows_deleted"] == len(due)
    # Each object is counted once: by the killed run, by the rerun, or (deleted by the killed run in the batch
    # it was killed in, whose counts never committed) as already absent when the rerun deleted its row.
    assert (killed["objects_deleted"] + outcome.counts["objects_deleted"] + outcome.counts["objects_already_absent"]
            == len(due))
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def test_dropped_connection_mid_rule_fails_clearly_and_the_rerun_accounts_for_it(
    purge, data, conn, db_url, workflow_url, s3, buckets
):
    """When the database connection drops mid-rule, the purge fails naming the connection error (not a
    secondary one), and the next run finishes the work and records the dropped run's counts."""
    user = data.user()
    due = {data.generation(user, deleted_at=CUTOFF - timedelta(days=1)) for _ in range(300)}
    data.commit()
    policy = load_retention_policy()
    settings = PurgeSettings(run_id="dropped-run", run_cutoff=CUTOFF, dry_run=False, batch_size=3,
                             max_rows_per_rule=10_000, media_bucket=buckets.media)
    errors: list[BaseException] = []

    def run():
        try:
            with psycopg.connect(workflow_url, autocommit=True, application_name="purge-under-test") as purge_conn:
                purge_rule(purge_conn, s3, policy=policy, rule="deleted_generations", settings=settings)
        except BaseException as exc:  # the thread reports what the caller would see
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    with psycopg.connect(db_url, autocommit=True) as admin:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and batches_of(admin, "dropped-run") < 3:
            time.sleep(0.01)
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = 'purge-under-test'")
    thread.join(60)
    assert len(errors) == 1
    # The drop itself, by class and SQLSTATE (57P01 admin_shutdown, or none when the socket reported it first);
    # never the server's message, and not a later "the connection is lost".
    assert isinstance(errors[0], StepFailed)
    assert re.search(r"(AdminShutdown \(57P01\)|OperationalError) in step ", str(errors[0]))
    assert errors[0].__cause__ is None
    assert errors[0].__suppress_context__

    outcome = purge("deleted_generations", run_id="after-drop")

    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.generations WHERE generation_id = ANY(%s)",
                        (list(due),)).fetchone() == (0,)
    assert not list(list_keys(s3, buckets.media))
    entries = ledger.entries_for_run(conn, "retention_purge", "dropped-run")
    assert [entry["action"] for entry in entries] == ["purge_started", "purge_interrupted"]
    assert entries[-1]["counts"]["rows_deleted"] + outcome.counts["rows_deleted"] == len(due)


def make_sessions_partitioned(conn) -> None:
    """app.sessions range-partitioned by month on created_at, with a DEFAULT partition, as large services run it."""
    conn.execute("""
        ALTER TABLE app.sessions RENAME TO sessions_plain;
        CREATE TABLE app.sessions (LIKE app.sessions_plain INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
        ALTER TABLE app.sessions ADD PRIMARY KEY (session_id, created_at);
        CREATE TABLE app.sessions_2024_11 PARTITION OF app.sessions
            FOR VALUES FROM ('2024-11-01') TO ('2024-12-01');
        CREATE TABLE app.sessions_2026_11 PARTITION OF app.sessions
            FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');
        CREATE TABLE app.sessions_default PARTITION OF app.sessions DEFAULT;
        DROP TABLE app.sessions_plain;
    """)


def test_a_partitioned_table_is_purged_partition_by_partition(purge, data, conn):
    """A partitioned parent has no blocks of its own; the block walk reads each partition's, so the rule
    deletes what is due in every partition (the DEFAULT one too) and keeps the rest and the held rows."""
    make_sessions_partitioned(conn)
    user, held = data.user(), data.user()
    data.hold(held)
    old = [data.session(user, created_at=CUTOFF - relativedelta(years=2) - timedelta(days=day)) for day in range(3)]
    older = data.session(user, created_at=CUTOFF - relativedelta(years=5))  # DEFAULT partition
    kept = data.session(user, created_at=CUTOFF - timedelta(days=1))
    held_session = data.session(held, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    outcome = purge("sessions", batch_size=1)
    conn.rollback()
    remaining = {row[0] for row in conn.execute("SELECT session_id FROM app.sessions")}
    assert remaining == {kept, held_session}
    assert not remaining & {*old, older}
    assert (outcome.counts["rows_deleted"], outcome.held) == (4, 1)


def test_a_rule_that_had_rows_due_and_removed_none_never_reports_success(purge, data, conn):
    """When the table's shape defeats the walk (here a trigger that silently skips every delete), rows stay
    due and the rule fails saying so, instead of reporting success with 0 deleted."""
    user = data.user()
    for _ in range(3):
        data.session(user, created_at=CUTOFF - relativedelta(years=2))
    conn.execute("""
        CREATE FUNCTION app.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER keep BEFORE DELETE ON app.sessions FOR EACH ROW EXECUTE FUNCTION app.keep();
    """)
    data.commit()
    with pytest.raises(StepFailed, match=r"3 rows are still due and the walk removed none of them"):
        purge("sessions")
    conn.rollback()
    assert conn.execute("SELECT state FROM governance.rule_runs WHERE rule = 'sessions'").fetchone() == ("failed",)


def test_a_cutoff_in_the_future_is_refused_before_anything_is_read(purge, data, conn):
    """Whatever calls the library, a run cutoff later than the database's clock is refused: it would
    delete payments years before the law allows."""
    user = data.user()
    payment = data.payment(user, country="DE", created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    with pytest.raises(StepFailed, match=r"is later than now .*a run dated in the future is refused") as refused:
        purge("payments", cutoff=CUTOFF + relativedelta(years=10))
    assert refused.value.permanent
    assert exists(conn, "payments", "payment_id", payment)


def test_the_purge_refuses_a_rule_of_the_archival(purge, data, conn):
    """Critical moderation events must be archived and verified before they are deleted: the purge refuses
    the archival's rules instead of deleting them unarchived."""
    event = data.moderation(data.user(), severity="critical")
    data.commit()
    with pytest.raises(RuleConfigurationError, match=r"'moderation_logs_critical' archives before it deletes"):
        purge("moderation_logs_critical")
    assert exists(conn, "moderation_events", "event_id", event)


def test_an_erasure_without_its_pseudonym_key_deletes_nothing(purge, data, conn, s3, buckets, monkeypatch):
    """The key that pseudonymises payments is read before anything is deleted: without it the rule is
    refused, and the account keeps its media (once, its media was gone before the key was found missing)."""
    monkeypatch.delenv("GOVERNANCE_PSEUDONYM_KEY")
    user = data.user(deleted_at=CUTOFF - timedelta(days=40))
    data.generation(user)
    data.payment(user, country="DE", created_at=CUTOFF - timedelta(days=60))
    data.commit()
    with pytest.raises(StepFailed, match=r"MissingKey in step check: no key: set GOVERNANCE_PSEUDONYM_KEY"):
        purge("deleted_accounts")
    assert exists(conn, "users", "user_id", user)
    assert len(list(list_keys(s3, buckets.media))) == 1


def test_a_partition_the_role_may_not_delete_from_is_refused_before_anything_is_deleted(purge, data, conn):
    """A month made later by another role may lack the workflows' grant: the rule names the partition and
    deletes nothing, rather than failing halfway through the walk."""
    make_sessions_partitioned(conn)
    conn.execute("REVOKE DELETE ON app.sessions_default FROM governance_workflow")
    user = data.user()
    session = data.session(user, created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    with pytest.raises(StepFailed, match=r"no delete privilege on partition app.sessions_default"):
        purge("sessions")
    assert exists(conn, "sessions", "session_id", session)


# -- the run report, rendered from real runs -------------------------------------------


def test_the_run_report_of_real_runs_opens_with_its_figures_and_never_adds_up_units(purge, data, conn, workflow_url,
                                                                                     s3, buckets):
    """From a real night on this database: the summary's figures are the report's own counts, accounts, rows and
    media files are totalled apart, what the erasure kept is listed with the policy's reason, the generation
    without a media file is explained, and no email or IP address appears anywhere in the report."""
    from governance.ledger_audit import ledger_state
    from governance.lifecycle import run_outcomes
    from governance.purge_report import build_purge_report
    from governance.reports import publish_document, render_html, report_prefix
    from tests.report_checks import escape, mixed_unit_totals, opens_with_summary

    erased = data.user(deleted_at=CUTOFF - timedelta(days=45))
    data.generation(erased)
    data.upload(erased)
    data.session(erased, created_at=CUTOFF - timedelta(days=50))
    data.payment(erased, country="DE", created_at=CUTOFF - timedelta(days=100))
    data.moderation(erased)
    living = data.user()
    deleted = [data.generation(living, deleted_at=CUTOFF - timedelta(days=2)) for _ in range(4)]
    conn.execute("UPDATE app.generations SET media_key = NULL WHERE generation_id = %s", (deleted[0],))
    held = data.user(deleted_at=CUTOFF - timedelta(days=45))
    data.hold(held)
    data.commit()
    rules = ["deleted_accounts", "deleted_generations", "sessions"]
    outcomes = [purge(rule).as_dict() for rule in rules]
    with psycopg.connect(workflow_url, autocommit=True) as reader:
        recorded = run_outcomes(reader, "retention_purge", "run-1")
        state = ledger_state(reader, s3, workflow="retention_purge", run_id="run-1")
    document = build_purge_report(policy=load_retention_policy(), run_id="run-1", run_type="scheduled",
                                  run_cutoff=CUTOFF, dry_run=False, planned_rules=rules, outcomes=outcomes,
                                  recorded=recorded, ledger_state=state)
    totals, by_rule = document["totals"], {rule["rule"]: rule for rule in document["rules"]}
    assert (totals["subjects_erased"], by_rule["deleted_accounts"]["held"]) == (1, 1)
    assert by_rule["deleted_generations"]["rows_deleted"] == 4
    assert totals["objects_deleted"] == 5  # the account's generation and upload, and three deleted generations
    summary = document["summary"]
    assert f"erased {totals['subjects_erased']} account, and deleted {totals['rows_deleted']} rows" in summary
    assert f"{totals['objects_deleted']} image or video files" in summary
    assert f"kept {totals['rows_pseudonymised']} rows that the law requires" in summary
    assert by_rule["deleted_generations"]["notes"][0].startswith(
        "4 rows deleted, 3 media files deleted or already gone: 1 row named no media file")
    kept = {item["table"]: item["rows"] for item in by_rule["deleted_accounts"]["kept_by_law"]}
    assert kept == {"app.payments": 1, "app.moderation_events": 1, "app.disclosures": 0}
    html = render_html("purge_report.html.j2", report=document).decode()
    assert opens_with_summary(document, html)
    assert mixed_unit_totals(document, html) == []
    assert escape("Tax and accounting law requires payment records") in html
    assert "30 days after the account is deleted<br><small>due if before 2026-10-26 02:00:00 UTC" in html
    keys = publish_document(conn, s3, workflow="retention_purge", run_id="run-1", report_type="retention_purge",
                            prefix=report_prefix("retention_purge", CUTOFF.date(), "run-1"), document=document,
                            template="purge_report.html.j2", summary={"ledger_head": state["head"]})
    published = "\n".join(s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read().decode() for key in keys)
    for user in (erased, living, held):
        assert f"user{user}@example.com" not in published
    assert "198.51.100.7" not in published
