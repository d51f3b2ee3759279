"""Data-subject requests against the real PostgreSQL and S3 server: registration, the export bundle,
the erasure's certificate, deadlines and expiry."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tracemalloc
import urllib.request
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from botocore.config import Config
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.archive import ArchiveSettings, archive_rule
from governance.data_map import load_data_map
from governance.dsr import (
    InvalidRequest,
    RequestForm,
    UnknownSubject,
    deadline_flags,
    expire_bundles,
    extend_deadline,
    find_subject,
    load_subject_rights_policy,
    read_request,
    register,
)
from governance.dsr_erasure import (
    IncompleteCascade,
    erased_counts,
    lifecycle_run_id,
    require_complete_cascade,
    retained_rows,
)
from governance.dsr_export import ExportSettings, IncompleteDataMap, upload_bundle, write_bundle
from governance.errors import StepFailed
from governance.policy import load_retention_policy
from governance.pseudonyms import pseudonym
from governance.storage import client_from_env
from tests.conftest import LEDGER_KEY, PSEUDONYM_KEY, arrow_filesystem, wait_for
from tests.factories import CUTOFF, SECOND
from tests.integration.governance.test_erasure import columns_holding, erase, everything_of
from tests.s3_faults import faulty_s3

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
KEY = PSEUDONYM_KEY.encode()
RETENTION = load_retention_policy()
DATA_MAP = load_data_map(retention=RETENTION)
RIGHTS = load_subject_rights_policy()


def form(request_id="DSR-1", kind="export", **fields) -> RequestForm:
    return RequestForm(request_id=request_id, kind=kind, received_at=fields.pop("received_at", CUTOFF), **fields)


def subject_of(conn, **fields):
    return find_subject(conn, form(**fields), retention=RETENTION.model, rights=RIGHTS.model, pseudonym_key=KEY)


def registered(workflow_url, request_form: RequestForm):
    with psycopg.connect(workflow_url, autocommit=True) as work:
        subject = find_subject(work, request_form, retention=RETENTION.model, rights=RIGHTS.model, pseudonym_key=KEY)
        return register(work, request_form, subject, rights=RIGHTS.model, workflow="dsr_export", run_id="run-1",
                        received_at=request_form.received_at)


# -- registration ------------------------------------------------------------------------------------


def test_the_email_finds_the_person_and_is_never_stored(data, conn, workflow_url):
    """By email (any case): the person is found, and kept by user id (for the work) and keyed hashes; the email
    is in neither the request's row nor its ledger entry, and the ledger holds no user id either."""
    person = data.user()
    data.commit()
    request, new = registered(workflow_url, form(email=f"USER{person}@Example.com"))
    assert new
    assert request.subject_pseudonym == pseudonym(KEY, "users", person)
    assert request.subject_user_id == person
    assert request.jurisdiction == "gdpr"  # the factory's accounts are in DE
    stored = json.dumps([list(row) for row in conn.execute("SELECT * FROM governance.dsr_requests")], default=str)
    entries = json.dumps([dict(e) for e in ledger.entries_for_run(conn, "dsr_export", "run-1")], default=str)
    assert "example.com" not in stored.lower()
    assert "example.com" not in entries.lower()
    assert str(person) not in entries


def test_the_same_request_id_registers_once_and_may_not_name_someone_else(data, conn, workflow_url):
    """A second submission of a request id finds the first; for another person or another kind it is refused."""
    person, other = data.user(), data.user()
    data.commit()
    first, new = registered(workflow_url, form(user_id=person))
    again, new_again = registered(workflow_url, form(email=f"user{person}@example.com"))
    assert new
    assert not new_again
    assert again == first
    with pytest.raises(InvalidRequest, match="already registered for a different person"):
        registered(workflow_url, form(user_id=other))
    with pytest.raises(InvalidRequest, match="already registered for a different kind"):
        registered(workflow_url, form(user_id=person, kind="erasure"))
    received = [e for e in ledger.entries_for_run(conn, "dsr_export", "run-1") if e["action"] == "dsr_request_received"]
    assert len(received) == 1


def test_an_unknown_person_or_contradicting_fields_are_refused_and_nothing_is_registered(data, conn):
    """An email or user id of nobody, and a user id and email of two different people, are clear errors; the
    error never repeats the email."""
    person, other = data.user(), data.user()
    data.commit()
    with pytest.raises(UnknownSubject) as unknown:
        subject_of(conn, email="nobody@example.org")
    assert "nobody" not in str(unknown.value)
    with pytest.raises(UnknownSubject, match="no account has the user_id given") as by_id:
        subject_of(conn, user_id=987654321)
    assert "987654321" not in str(by_id.value)  # it may be an erased person's
    with pytest.raises(InvalidRequest, match="user_id and email name different accounts"):
        subject_of(conn, user_id=person, email=f"user{other}@example.com")
    for bad, message in ((form(email="not-an-email"), "email: not a valid email address"),
                         (form(request_id="bad id!", user_id=person), "request_id"),
                         (form(), "give the person's user_id or email"),
                         (form(user_id=person, channel="fax"), "channel"),
                         (form(user_id=person, jurisdiction="mars"), "jurisdiction")):
        with pytest.raises(InvalidRequest, match=message):
            bad.check(RIGHTS.model)
    assert conn.execute("SELECT count(*) FROM governance.dsr_requests").fetchone()[0] == 0


# -- the export --------------------------------------------------------------------------------------


def archive_old_critical_events(workflow_url, s3, buckets):
    settings = ArchiveSettings(run_id="archive-1", run_cutoff=CUTOFF, dry_run=False, batch_size=1000,
                               archive_bucket=buckets.archive)
    with psycopg.connect(workflow_url, autocommit=True) as work:
        archive_rule(work, s3, policy=RETENTION, rule="moderation_logs_critical", settings=settings)


def export(conn, s3, stack_env, buckets, subject, tmp_path, *, generated_at=None) -> zipfile.ZipFile:
    generated_at = generated_at or datetime.now(UTC)
    settings = ExportSettings(request_id="DSR-1", generated_at=generated_at, media_bucket=buckets.media,
                              archive_bucket=buckets.archive, link_expires_after=timedelta(days=7),
                              bundle_expires_at=generated_at + timedelta(days=30))
    presigner = client_from_env(config=Config(signature_version="s3v4"))
    bundle = write_bundle(conn, presigner, arrow_filesystem(stack_env), data_map=DATA_MAP.model,
                          retention=RETENTION.model, subject=subject, settings=settings, work_dir=tmp_path)
    upload_bundle(s3, bundle, bucket=buckets.exports, key="dsr-exports/DSR-1/DSR-1.zip",
                  expires_at=settings.bundle_expires_at)
    body = s3.get_object(Bucket=buckets.exports, Key="dsr-exports/DSR-1/DSR-1.zip")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == bundle.sha256
    return zipfile.ZipFile(io.BytesIO(body))


def rows_of(bundle: zipfile.ZipFile, category: str) -> list[dict]:
    return json.loads(bundle.read(f"data/{category}.json"))["rows"]


def test_the_bundle_holds_every_category_of_the_person_and_nothing_about_anyone_else(
    data, conn, workflow_url, s3, buckets, stack_env, tmp_path
):
    """One JSON and one CSV per category of the data map, the archived critical events read from the archive
    in place, media with working links that expire, a README for every field, and SHA256SUMS that
    `sha256sum -c` accepts. Another person's rows, even on the same generation, are in none of it."""
    person, other = data.user(), data.user()
    mine, theirs = everything_of(data, person), everything_of(data, other)
    archived = data.moderation(person, severity="critical", created_at=CUTOFF - relativedelta(months=5))
    data.moderation(other, severity="critical", created_at=CUTOFF - relativedelta(months=5))
    data.moderation(other, generation_id=mine["generation"])  # about the person's generation, but another's event
    data.commit()
    archive_old_critical_events(workflow_url, s3, buckets)
    assert theirs
    with psycopg.connect(workflow_url, autocommit=True) as work:
        bundle = export(work, s3, stack_env, buckets, subject_of(conn, user_id=person), tmp_path)

    names = set(bundle.namelist())
    for category in DATA_MAP.model.file_categories:
        assert {f"data/{category}.json", f"data/{category}.csv"} <= names, category
    assert [row["user_id"] for row in rows_of(bundle, "account_data")] == [person]
    assert len(rows_of(bundle, "generations")) == 1
    assert len(rows_of(bundle, "uploads")) == 1
    assert len(rows_of(bundle, "moderation_logs")) == 2
    assert [row["event_id"] for row in rows_of(bundle, "moderation_logs_archived")] == [archived]
    media = rows_of(bundle, "media_objects")
    assert sorted(row["category"] for row in media) == ["generations", "uploads"]
    with urllib.request.urlopen(media[0]["download_url"]) as reply:  # a presigned URL of the local S3
        assert reply.read() == b"media"
    assert "X-Amz-Expires=604800" in media[0]["download_url"]

    everything = b"".join(bundle.read(name) for name in names).decode()
    assert f"user{other}@example.com" not in everything
    assert pseudonym(KEY, "users", other) not in everything
    for category in DATA_MAP.model.file_categories:
        for row in json.loads(bundle.read(f"data/{category}.json"))["rows"]:
            assert row.get("user_id") in (None, person), category
    readme = bundle.read("README.md").decode()
    for entry in DATA_MAP.model.categories:
        for meaning in entry.fields.values():
            assert meaning in readme
    assert "(not described in the data map yet)" not in readme
    bundle.extractall(tmp_path / "unpacked")
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "unpacked", capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "unpacked" / "data" / "account_data.csv").write_text("tampered\n")
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path / "unpacked",
                          capture_output=True).returncode != 0


def test_a_table_that_names_people_but_is_not_in_the_data_map_refuses_the_export_and_the_erasure(
    data, conn, db_url, workflow_url, s3, buckets, stack_env, tmp_path
):
    """A new table with a user_id column that nobody added to the data map: the export would be incomplete and
    the erasure would leave it, so both are refused, naming the table, before anything is written or erased."""
    person = data.user()
    everything_of(data, person)
    data.commit()
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("CREATE TABLE app.referrals (referral_id bigint PRIMARY KEY, user_id bigint)")
        admin.execute("GRANT SELECT, UPDATE, DELETE ON app.referrals TO governance_workflow")
    with psycopg.connect(workflow_url, autocommit=True) as work:
        with pytest.raises(IncompleteDataMap, match=r"app.referrals has a user_id column but are not in data_map"):
            export(work, s3, stack_env, buckets, subject_of(conn, user_id=person), tmp_path)
        with pytest.raises(IncompleteCascade, match=r"app.referrals: a user_id column"):
            require_complete_cascade(work, DATA_MAP.model, RETENTION.model)
    assert "users.user_id" in columns_holding(conn, person)
    assert not list(s3.list_objects_v2(Bucket=buckets.exports).get("Contents", []))


def test_an_erasure_is_not_completed_while_a_table_outside_the_cascade_still_names_the_person(
    data, conn, db_url, workflow_url, s3, buckets
):
    """Even past the up-front check, the erasure's last step proves from the catalog that no table still holds
    the person's id: here one does, so the run fails and is not recorded as completed."""
    person = data.user()
    data.commit()
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("CREATE TABLE app.referrals (referral_id bigint PRIMARY KEY, user_id bigint)")
        admin.execute("INSERT INTO app.referrals VALUES (1, %s)", (person,))
    with pytest.raises(StepFailed, match=r"ErasureIncomplete in step verify: after the erasure, referrals still hold"):
        erase(workflow_url, s3, buckets, [person], run_id=lifecycle_run_id("DSR-5"))
    actions = [e["action"] for e in ledger.entries_for_run(conn, "dsr_erasure", lifecycle_run_id("DSR-5"))]
    assert actions == ["erasure_started", "erasure_failed"]


def test_memory_stays_bounded_for_a_person_with_many_generations(data, conn, workflow_url, s3, buckets, stack_env,
                                                                 tmp_path):
    """30,000 generations stream through the bundle: past what a first export loads once (S3 models, imports),
    the peak of Python allocations stays a few MB, where the rows held at once would take about 30 MB.
    (At 100,000 generations the peak is the same; benchmarks/README.md.)"""
    person, small = data.user(), data.user()
    data.conn.execute("""
        INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, media_key, created_at)
        SELECT 10000000 + n, %s, 'image', repeat('a', 64), 'openai', 'generations/' || n || '.png', %s
        FROM generate_series(1, 30000) AS n""", (person, CUTOFF - timedelta(days=3)))
    data.commit()
    generated_at = datetime.now(UTC)
    settings = ExportSettings(request_id="DSR-1", generated_at=generated_at, media_bucket=buckets.media,
                              archive_bucket=buckets.archive, link_expires_after=timedelta(days=7),
                              bundle_expires_at=generated_at + timedelta(days=30))
    presigner, filesystem = client_from_env(config=Config(signature_version="s3v4")), arrow_filesystem(stack_env)
    with psycopg.connect(workflow_url, autocommit=True) as work:
        def bundle_of(who, directory):
            return write_bundle(work, presigner, filesystem, data_map=DATA_MAP.model, retention=RETENTION.model,
                                subject=subject_of(conn, user_id=who), settings=settings, work_dir=directory)

        bundle_of(small, tmp_path / "warm-up")
        tracemalloc.start()
        try:
            written = bundle_of(person, tmp_path / "measured")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    bundle = zipfile.ZipFile(written.path)
    assert len(rows_of(bundle, "generations")) == 30_000
    assert len(rows_of(bundle, "media_objects")) == 30_000
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MB of Python allocations"


# -- the erasure and its certificate -------------------------------------------------------------------------


def test_kept_rows_are_counted_with_the_latest_end_of_their_retention(data, conn, workflow_url, s3, buckets):
    """After an erasure, what the law keeps is found by pseudonym: payments until the billing country's period
    after the newest one, critical moderation events until 7 years after, standard ones 90 days."""
    person = data.user()
    data.payment(person, country="DE", created_at=CUTOFF - timedelta(days=60))
    data.payment(person, country="RU", created_at=CUTOFF - timedelta(days=10))
    data.moderation(person, severity="critical", created_at=CUTOFF - timedelta(days=20))
    data.moderation(person, severity="standard", created_at=CUTOFF - timedelta(days=5))
    data.commit()
    with psycopg.connect(workflow_url, autocommit=True) as work:
        erase(workflow_url, s3, buckets, [person], run_id=lifecycle_run_id("DSR-9"))
        kept = {item.table: item for item in retained_rows(work, RETENTION.model, pseudonym(KEY, "users", person))}
        totals, by_table = erased_counts(work, workflow="dsr_erasure", request_id="DSR-9")
    assert kept["payments"].rows == 2
    # DE: 10 years after 60 days ago is later than RU: 5 years after 10 days ago.
    assert kept["payments"].until == CUTOFF - timedelta(days=60) + relativedelta(years=10)
    assert kept["moderation_events"].rows == 2
    assert kept["moderation_events"].until == CUTOFF - timedelta(days=20) + relativedelta(years=7)
    assert kept["disclosures"].rows == 0
    assert kept["disclosures"].until is None
    assert totals["subjects_erased"] == 1
    assert by_table == {"users.rows_deleted": 1, "payments.rows_pseudonymised": 2,
                        "moderation_events.rows_pseudonymised": 2}


KILLED_WORKER = """
import os, sys
import psycopg
sys.path[:0] = ["plugins", "."]
from governance.erasure import erase_subjects
from governance.errors import StepFailed
from governance.policy import load_retention_policy
from tests.s3_faults import client_for
with psycopg.connect(os.environ["WORKFLOW_URL"], autocommit=True) as conn:
    erase_subjects(conn, client_for(sys.argv[2]), policy=load_retention_policy(), subjects=[int(sys.argv[1])],
                   workflow="dsr_erasure", run_id="request:DSR-7", media_bucket=os.environ["MEDIA_BUCKET"],
                   pseudonym_key=os.environ["GOVERNANCE_PSEUDONYM_KEY"].encode())
"""


@pytest.mark.parametrize("rerun", ["the same request again", "after another request accounted for it"])
def test_a_kill_in_the_middle_of_an_erasure_then_a_rerun_completes_it_counting_each_row_once(
    rerun, data, conn, workflow_url, s3, buckets, stack_env
):
    """SIGKILL while the second chunk of media is being deleted; the rerun finishes the erasure, and the
    request's ledger entries (interrupted, if another run found it dead, and completed) count each row once."""
    person = data.user()
    for _ in range(450):  # three chunks of media rows
        data.generation(person, created_at=CUTOFF - timedelta(days=3))
    everything_of(data, person)
    bystander = data.user()
    everything_of(data, bystander)
    data.commit()
    with faulty_s3(stack_env["S3_ENDPOINT_URL"]) as proxy:
        # Uploads go first (one chunk), then the first chunk of 200 generations; both are committed.
        proxy.mode, proxy.deletes_before_pause = "pause", 2
        worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(person), proxy.endpoint],
                                  env={**os.environ, "WORKFLOW_URL": workflow_url}, cwd=ROOT)
        try:
            assert proxy.paused.wait(60), "the worker should reach its first deletion"
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            proxy.release(forward=False)
    assert conn.execute("SELECT count(*) FROM app.generations WHERE user_id = %s", (person,)).fetchone()[0] == 251
    conn.rollback()
    with psycopg.connect(workflow_url, autocommit=True) as work:
        if rerun == "after another request accounted for it":
            other = data.user()
            data.commit()
            erase(workflow_url, s3, buckets, [other], run_id=lifecycle_run_id("DSR-8"))
        outcome = erase(workflow_url, s3, buckets, [person], run_id=lifecycle_run_id("DSR-7"))
        totals, by_table = erased_counts(work, workflow="dsr_erasure", request_id="DSR-7")
    assert outcome.state == "completed"
    assert columns_holding(conn, person) == []
    assert by_table["generations.rows_deleted"] == 451
    assert totals["subjects_erased"] == 1
    assert totals["objects_deleted"] == 452  # 451 generations and one upload
    actions = [e["action"] for e in ledger.entries_for_run(conn, "dsr_erasure", lifecycle_run_id("DSR-7"))]
    assert actions[-1] == "erasure_completed"
    assert ("erasure_interrupted" in actions) == (rerun == "after another request accounted for it")
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def test_a_kill_after_the_last_batch_then_another_request_then_a_rerun_completes_counting_once(
    data, conn, db_url, workflow_url, s3, buckets
):
    """The worker dies after the account's last batch committed, while it proves the erasure; another request
    then records it as interrupted. The rerun must not take the person for unknown (their row is gone): it
    completes, and the request's entries count the account and each row once."""
    person, other = data.user(), data.user()
    everything_of(data, person)
    data.commit()
    with psycopg.connect(db_url, autocommit=True) as admin:  # the proof reads this view last, and it is slow
        # OFFSET 0 keeps the planner from folding the sleep away under a filter that is always false.
        admin.execute("CREATE VIEW app.zz_slow AS SELECT user_id FROM"
                      " (SELECT NULL::bigint AS user_id, pg_sleep(60) AS slept OFFSET 0) AS s")
        admin.execute("GRANT SELECT ON app.zz_slow TO governance_workflow")
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(person), stack_endpoint()],
                              env={**os.environ, "WORKFLOW_URL": workflow_url}, cwd=ROOT)
    try:
        wait_for(lambda: not user_exists(db_url, person), "the last batch to commit")
        wait_for(lambda: proving(db_url), "the proof to read the slow view")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    with psycopg.connect(db_url, autocommit=True) as admin:
        # The dead worker's session would sleep on; end it as the server does once it sees the client gone.
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%%zz_slow%%'"
                      " AND pid <> pg_backend_pid()")
        admin.execute("DROP VIEW app.zz_slow")
    with psycopg.connect(workflow_url, autocommit=True) as work:
        erase(workflow_url, s3, buckets, [other], run_id=lifecycle_run_id("DSR-8"))
        outcome = erase(workflow_url, s3, buckets, [person], run_id=lifecycle_run_id("DSR-7"))
        totals, by_table = erased_counts(work, workflow="dsr_erasure", request_id="DSR-7")
    assert outcome.state == "completed"
    actions = [e["action"] for e in ledger.entries_for_run(conn, "dsr_erasure", lifecycle_run_id("DSR-7"))]
    assert actions[:2] == ["erasure_started", "erasure_interrupted"]
    assert actions[-1] == "erasure_completed"
    assert totals["subjects_erased"] == 1
    assert by_table["users.rows_deleted"] == 1
    assert by_table["generations.rows_deleted"] == 1
    assert columns_holding(conn, person) == []


def proving(db_url) -> bool:
    with psycopg.connect(db_url) as watcher:
        return bool(watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%zz_slow%%'"
                                    " AND pid <> pg_backend_pid()").fetchone()[0])


def stack_endpoint() -> str:
    return os.environ["S3_ENDPOINT_URL"]


def user_exists(db_url, user_id) -> bool:
    with psycopg.connect(db_url) as watcher:
        return watcher.execute("SELECT count(*) FROM app.users WHERE user_id = %s", (user_id,)).fetchone()[0] == 1


# -- deadlines and expiry ------------------------------------------------------------------------------------


def test_deadlines_follow_each_law_and_the_check_flags_requests_near_or_past_them(data, conn, workflow_url):
    """GDPR one month, CCPA 45 days, 152-FZ 10 working days (weekends and holidays skipped); a request is
    flagged from warn_days_before_due before its deadline, and a completed one never."""
    people = {country: data.user() for country in ("DE", "US", "RU")}
    for country, person in people.items():
        conn.execute("UPDATE app.users SET country = %s WHERE user_id = %s", (country, person))
    data.commit()
    received = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)  # a Thursday, before the May holidays in Russia
    due = {}
    for country, person in people.items():
        request, _ = registered(workflow_url, form(request_id=f"DSR-{country}", user_id=person, received_at=received))
        due[country] = request.due_at
    assert due["DE"] == datetime(2026, 5, 30, 12, 0, tzinfo=UTC)
    assert due["US"] == datetime(2026, 6, 14, 12, 0, tzinfo=UTC)
    # 1, 11 May are holidays: May 4-8, 12-15 are 9 working days, the 10th is 18 May; due at its end, in Moscow.
    assert due["RU"] == datetime(2026, 5, 18, 21, 0, tzinfo=UTC)

    open_count, flags = deadline_flags(conn, rights=RIGHTS.model, now=datetime(2026, 5, 10, tzinfo=UTC))
    assert open_count == 3
    assert [f.request_id for f in flags] == []
    _, flags = deadline_flags(conn, rights=RIGHTS.model, now=datetime(2026, 5, 15, tzinfo=UTC))
    assert [f.request_id for f in flags] == ["DSR-RU"]
    _, flags = deadline_flags(conn, rights=RIGHTS.model, now=datetime(2026, 5, 26, tzinfo=UTC))
    assert [(f.request_id, f.overdue) for f in flags] == [("DSR-RU", True), ("DSR-DE", False)]
    conn.execute("UPDATE governance.dsr_requests SET status = 'completed' WHERE request_id = 'DSR-RU'")
    conn.commit()
    _, flags = deadline_flags(conn, rights=RIGHTS.model, now=datetime(2026, 5, 26, tzinfo=UTC))
    assert [f.request_id for f in flags] == ["DSR-DE"]


def test_a_deadline_is_extended_once_as_its_law_allows(data, conn, workflow_url):
    """152-FZ: 5 more working days after the first 10; a second extension is refused; the ledger records it."""
    person = data.user()
    conn.execute("UPDATE app.users SET country = 'RU' WHERE user_id = %s", (person,))
    data.commit()
    received = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    request, _ = registered(workflow_url, form(user_id=person, received_at=received))
    with psycopg.connect(workflow_url, autocommit=True) as work:
        extended = extend_deadline(work, request, rights=RIGHTS.model, reason="the bundle needs the archive",
                                   workflow="dsr_export", run_id="run-2")
        with pytest.raises(InvalidRequest, match="extended already"):
            extend_deadline(work, extended, rights=RIGHTS.model, reason="again", workflow="dsr_export",
                            run_id="run-3")
    assert extended.due_at == datetime(2026, 5, 18, 21, tzinfo=UTC)  # the end of 18 May in Moscow
    assert extended.deadline == datetime(2026, 5, 25, 21, tzinfo=UTC)  # 19-22 and 25 May: five working days
    [entry] = [e for e in ledger.entries_for_run(conn, "dsr_export", "run-2") if e["action"] == "dsr_deadline_extended"]
    assert entry["details"]["extended_due_at"] == "2026-05-25T21:00:00+00:00"


def test_an_expired_bundle_is_deleted_every_version_with_a_ledger_row(data, conn, workflow_url, s3, buckets):
    """Past its expiry, every version of a bundle's key goes, once, with a ledger row; a bundle not yet expired
    stays."""
    person = data.user()
    data.commit()
    request, _ = registered(workflow_url, form(user_id=person))
    for body in (b"first", b"second"):  # a rerun after a crash may have left an older version
        s3.put_object(Bucket=buckets.exports, Key="dsr-exports/DSR-1/DSR-1.zip", Body=body)
    conn.execute("UPDATE governance.dsr_requests SET status = 'completed', bundle_bucket = %s, bundle_key = %s, "
                 "bundle_expires_at = %s", (buckets.exports, "dsr-exports/DSR-1/DSR-1.zip", CUTOFF))
    conn.commit()
    with psycopg.connect(workflow_url, autocommit=True) as work:
        assert expire_bundles(work, s3, now=CUTOFF - SECOND, workflow="dsr_deadlines", run_id="d-0") == []
        assert expire_bundles(work, s3, now=CUTOFF, workflow="dsr_deadlines", run_id="d-1") == ["DSR-1"]
        assert expire_bundles(work, s3, now=CUTOFF + SECOND, workflow="dsr_deadlines", run_id="d-2") == []
    versions = s3.list_object_versions(Bucket=buckets.exports)
    assert not versions.get("Versions")
    assert not versions.get("DeleteMarkers")
    [entry] = ledger.entries_for_run(conn, "dsr_deadlines", "d-1")
    assert entry["action"] == "dsr_export_expired"
    assert entry["counts"] == {"object_versions_deleted": 2}
    assert read_request(conn, request.request_id).status == "completed"

