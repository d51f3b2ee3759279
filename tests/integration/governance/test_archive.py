"""The moderation-log archival against the real PostgreSQL and S3 server: critical events move to a
locked Parquet archive exactly once, and leave the table only once their object verified."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.archive import ArchiveSettings, archive_rule
from governance.errors import StepFailed
from governance.lifecycle import Timeouts
from governance.policy import load_retention_policy
from governance.pseudonyms import pseudonym
from tests.conftest import LEDGER_KEY, PSEUDONYM_KEY, arrow_filesystem, wait_for
from tests.factories import CUTOFF
from tests.s3_faults import client_for, faulty_s3

pytestmark = pytest.mark.integration

RULE = "moderation_logs_critical"
PREFIX = "moderation/critical/"
ROOT = Path(__file__).resolve().parents[3]


def run_archive(workflow_url, s3, bucket, *, run_id="run-1", cutoff=CUTOFF, batch_size=1000, dry_run=False,
                timeouts=None):
    settings = ArchiveSettings(run_id=run_id, run_cutoff=cutoff, dry_run=dry_run, batch_size=batch_size,
                               archive_bucket=bucket, timeouts=timeouts or Timeouts())
    with psycopg.connect(workflow_url, autocommit=True) as conn:
        return archive_rule(conn, s3, policy=load_retention_policy(), rule=RULE, settings=settings)


def critical_events(data, user, months_ago: list[int], *, per_month=3) -> list[int]:
    """Critical events in the months that many months before the cutoff (all past 90 days)."""
    events = []
    for months in months_ago:
        for day in range(per_month):
            moment = CUTOFF - relativedelta(months=months) + timedelta(days=day)
            events.append(data.moderation(user, severity="critical", action="account_suspended", created_at=moment))
    return events


def archived_rows(s3, bucket) -> dict[tuple[int, datetime], list[str]]:
    """Every row (event id and created_at, to the microsecond) in every object version under the archive prefix,
    with the keys that hold it."""
    import pyarrow.parquet as pq

    found: dict[tuple[int, datetime], list[str]] = {}
    listing = s3.list_object_versions(Bucket=bucket, Prefix=PREFIX)
    for version in listing.get("Versions", []):
        if not version["Key"].endswith(".parquet"):
            continue
        body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        table = pq.read_table(io.BytesIO(body), columns=["event_id", "created_at"])
        for event, moment in zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True):
            found.setdefault((event, moment), []).append(version["Key"])
    return found


def archived(s3, bucket) -> dict[int, list[str]]:
    """Every event id in every object version under the archive prefix, with the keys that hold it."""
    found: dict[int, list[str]] = {}
    for (event, _), keys in archived_rows(s3, bucket).items():
        found.setdefault(event, []).extend(keys)
    return found


def in_table(conn, events) -> set[int]:
    conn.rollback()
    return {row[0] for row in conn.execute("SELECT event_id FROM app.moderation_events WHERE event_id = ANY(%s)",
                                           (list(events),))}


def rows_in_table(conn) -> set[tuple[int, datetime]]:
    """Every moderation event in the table, by event id and created_at."""
    conn.rollback()
    rows = set(conn.execute("SELECT event_id, created_at FROM app.moderation_events").fetchall())
    conn.rollback()  # an open transaction holds a lock that dropping a month waits for
    return rows


def assert_exactly_once(conn, s3, bucket, events) -> None:
    """Every event is in the table or in exactly one archive object: never both, never neither, never twice."""
    objects, table = archived(s3, bucket), in_table(conn, events)
    for event in events:
        places = len(objects.get(event, [])) + (event in table)
        assert places == 1, f"event {event}: in the table {event in table}, in objects {objects.get(event)}"
    states = {row[0] for row in conn.execute("SELECT DISTINCT state FROM governance.archive_manifests"
                                             " WHERE state NOT IN ('abandoned')")}
    assert states <= {"complete"}, states


def test_critical_events_move_by_month_to_locked_parquet_and_leave_the_table(shape, data, conn, workflow_url, s3,
                                                                             buckets):
    """Events past 90 days are written to one object per event month, under COMPLIANCE lock until the newest event
    of the object + 7 years (to the second), verified, then deleted; younger ones and standard ones stay."""
    user = data.user()
    old = critical_events(data, user, [4, 5])
    young = data.moderation(user, severity="critical", created_at=CUTOFF - timedelta(days=89))
    standard = data.moderation(user, severity="standard", created_at=CUTOFF - relativedelta(months=5))
    data.commit()
    outcome, objects = run_archive(workflow_url, s3, buckets.archive)
    assert outcome.counts.nonzero() == {"rows_archived": 6, "objects_written": 2}
    assert in_table(conn, [*old, young, standard]) == {young, standard}
    assert sorted(obj["partition_key"] for obj in objects) == [
        f"month={(CUTOFF - relativedelta(months=5)):%Y-%m}", f"month={(CUTOFF - relativedelta(months=4)):%Y-%m}"]
    for obj in objects:
        assert obj["object_key"].startswith(f"{PREFIX}{obj['partition_key']}/")
        head = s3.head_object(Bucket=buckets.archive, Key=obj["object_key"], VersionId=obj["version_id"])
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] == obj["retain_until"]
        assert obj["state"] == "complete"
    assert_exactly_once(conn, s3, buckets.archive, old)
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def test_retain_until_is_the_newest_event_plus_seven_years_to_the_second(shape, data, conn, workflow_url, s3, buckets):
    """Retain-until is computed as a date (calendar years, leap days clamped), rounded up to the next whole second."""
    user = data.user()
    newest = datetime(2024, 2, 29, 13, 14, 15, 250_000, tzinfo=UTC)
    data.moderation(user, severity="critical", created_at=newest - timedelta(days=3))
    data.moderation(user, severity="critical", created_at=newest)
    data.commit()
    _, [obj] = run_archive(workflow_url, s3, buckets.archive)
    expected = datetime(2031, 2, 28, 13, 14, 16, tzinfo=UTC)
    assert obj["retain_until"] == expected
    head = s3.head_object(Bucket=buckets.archive, Key=obj["object_key"], VersionId=obj["version_id"])
    assert head["ObjectLockRetainUntilDate"] == expected


def test_deleting_a_locked_archive_object_is_refused(data, workflow_url, s3, buckets):
    """No one can delete an archived version before its retain-until: S3 refuses (the mechanism, not proof of
    immutability: the local server lets COMPLIANCE retention be shortened)."""
    from botocore.exceptions import ClientError

    critical_events(data, data.user(), [4], per_month=1)
    data.commit()
    _, [obj] = run_archive(workflow_url, s3, buckets.archive)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=buckets.archive, Key=obj["object_key"], VersionId=obj["version_id"])


def test_the_archive_keeps_a_pseudonym_and_never_an_id(data, conn, workflow_url, s3, buckets):
    """An erased person's events keep the pseudonym the erasure gave them; a living person's get the same keyed
    hash; no object holds a user id."""
    import pyarrow.parquet as pq

    living = data.user()
    event = critical_events(data, living, [4], per_month=1)[0]
    erased_event = critical_events(data, data.user(), [4], per_month=1)[0]
    kept = "e" * 64
    conn.execute("UPDATE app.moderation_events SET user_id = NULL, user_pseudonym = %s WHERE event_id = %s",
                 (kept, erased_event))
    data.commit()
    _, [obj] = run_archive(workflow_url, s3, buckets.archive)
    body = s3.get_object(Bucket=buckets.archive, Key=obj["object_key"])["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert "user_id" not in table.column_names
    rows = {row["event_id"]: row["user_pseudonym"] for row in table.to_pylist()}
    assert rows == {event: pseudonym(PSEUDONYM_KEY.encode(), "users", living), erased_event: kept}
    assert str(living) not in body.decode("latin-1").replace(str(event), "")


def test_a_person_under_legal_hold_keeps_their_events_in_the_table(shape, data, conn, workflow_url, s3, buckets):
    """Held events are not archived: they stay, counted as held."""
    held = data.user()
    data.hold(held)
    events = critical_events(data, held, [4], per_month=2)
    data.commit()
    outcome, objects = run_archive(workflow_url, s3, buckets.archive)
    assert (outcome.held, objects) == (2, [])
    assert in_table(conn, events) == set(events)


def test_an_s3_outage_leaves_every_row_in_place(data, conn, workflow_url, buckets):
    """With S3 unreachable the rule fails saying so, and no row is deleted."""
    import boto3
    from botocore.config import Config

    events = critical_events(data, data.user(), [4, 5])
    data.commit()
    dead = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    with pytest.raises(StepFailed, match=r"cannot reach the archive bucket .*EndpointConnectionError"):
        run_archive(workflow_url, dead, buckets.archive)
    assert in_table(conn, events) == set(events)


def test_an_archive_bucket_without_object_lock_is_refused(data, conn, workflow_url, s3, buckets):
    """A WORM archive needs Object Lock: a bucket without it is refused before anything is written."""
    events = critical_events(data, data.user(), [4])
    data.commit()
    with pytest.raises(StepFailed, match=r"bucket .* has no Object Lock"):
        run_archive(workflow_url, s3, buckets.media)
    assert in_table(conn, events) == set(events)
    assert "Contents" not in s3.list_objects_v2(Bucket=buckets.media)


def test_an_object_that_reads_back_wrong_stops_the_deletes(data, conn, workflow_url, buckets, stack_env):
    """A body that comes back changed (one byte flipped on the way) fails verification: the run stops and no row
    of that object is deleted. botocore checks the checksum S3 returns too; the product's own check, from the
    bytes, is what is tested here, so the client's is off."""
    events = critical_events(data, data.user(), [4])
    data.commit()
    with faulty_s3(stack_env["S3_ENDPOINT_URL"]) as proxy:
        proxy.corrupt_on = ("GET", ".parquet")
        with pytest.raises(StepFailed, match=r"did not verify: its SHA-256 does not match"):
            run_archive(workflow_url, client_for(proxy.endpoint, validate_checksums=False), buckets.archive)
    assert in_table(conn, events) == set(events)
    assert conn.execute("SELECT state FROM governance.archive_manifests").fetchone() == ("uploaded",)


def test_an_object_expires_by_version_id_when_its_retention_ends(data, conn, db_url, workflow_url, s3, buckets):
    """An event archived 3 seconds before the end of its 7 years gets an object locked until then; the first run
    after that deletes the object by version id, marks it expired and writes a ledger entry for it."""
    now = datetime.now(UTC).replace(microsecond=0)
    event = data.moderation(data.user(), severity="critical", created_at=now - relativedelta(years=7) + timedelta(
        seconds=3))
    data.commit()
    _, [obj] = run_archive(workflow_url, s3, buckets.archive, cutoff=now)
    assert obj["retain_until"] <= now + timedelta(seconds=4)
    outcome, _ = run_archive(workflow_url, s3, buckets.archive, run_id="run-2", cutoff=now)
    assert outcome.counts["objects_expired"] == 0  # not yet
    time.sleep(max(0.0, (obj["retain_until"] - datetime.now(UTC)).total_seconds()) + 1.5)
    later = datetime.now(UTC).replace(microsecond=0)
    outcome, _ = run_archive(workflow_url, s3, buckets.archive, run_id="run-3", cutoff=later)
    assert outcome.counts["objects_expired"] == 1
    assert "Versions" not in s3.list_object_versions(Bucket=buckets.archive, Prefix=obj["object_key"])
    conn.rollback()
    assert conn.execute("SELECT state FROM governance.archive_manifests WHERE manifest_id = %s",
                        (obj["manifest_id"],)).fetchone() == ("expired",)
    [entry] = [e for e in ledger.entries_for_run(conn, "moderation_log_archival", "run-3")
               if e["action"] == "archive_object_expired"]
    assert entry["details"]["version_id"] == obj["version_id"]
    assert entry["counts"] == {"rows": 1}
    assert event not in in_table(conn, [event])


def test_a_legal_hold_puts_the_persons_objects_under_an_s3_legal_hold_until_it_is_released(
    shape, data, conn, db_url, workflow_url, s3, buckets
):
    """Once a person whose events are archived is put under a legal hold, the next run sets an S3 legal hold on
    every object holding their events (and no other); after the release, the next run lifts it."""
    person, other = data.user(), data.user()
    critical_events(data, person, [4], per_month=1)
    critical_events(data, other, [6], per_month=1)
    data.commit()
    _, objects = run_archive(workflow_url, s3, buckets.archive)
    by_month = {obj["partition_key"]: obj for obj in objects}
    theirs = by_month[f"month={(CUTOFF - relativedelta(months=4)):%Y-%m}"]
    others = by_month[f"month={(CUTOFF - relativedelta(months=6)):%Y-%m}"]
    data.hold(person)
    data.commit()
    outcome, _ = run_archive(workflow_url, s3, buckets.archive, run_id="run-2")
    assert outcome.counts["objects_legal_held"] == 1

    def legal_hold(obj):
        from botocore.exceptions import ClientError

        try:
            return s3.get_object_legal_hold(Bucket=buckets.archive, Key=obj["object_key"],
                                            VersionId=obj["version_id"])["LegalHold"].get("Status", "OFF")
        except ClientError as exc:  # never set: S3 says there is no legal hold configuration
            return "OFF" if "NoSuchObjectLockConfiguration" in str(exc) else f"error {exc}"

    assert (legal_hold(theirs), legal_hold(others)) == ("ON", "OFF")
    conn.execute("UPDATE governance.legal_holds SET released_at = now() WHERE user_id = %s", (person,))
    conn.commit()
    outcome, _ = run_archive(workflow_url, s3, buckets.archive, run_id="run-3")
    assert outcome.counts["objects_legal_hold_released"] == 1
    assert legal_hold(theirs) == "OFF"


def test_a_rerun_of_a_finished_archival_changes_nothing(shape, data, conn, workflow_url, s3, buckets):
    """The same night again, or the next night, writes no object and deletes nothing."""
    events = critical_events(data, data.user(), [4, 5])
    data.commit()
    run_archive(workflow_url, s3, buckets.archive)
    again, objects = run_archive(workflow_url, s3, buckets.archive, run_id="run-2")
    assert not again.counts
    assert objects == []
    assert_exactly_once(conn, s3, buckets.archive, events)


# -- the partitioned shape: an event id is unique only with its created_at --------------------------------

RULE_CUTOFF = CUTOFF - timedelta(days=90)  # the moderation rules' P90D before the run's cutoff
MICROSECOND = timedelta(microseconds=1)
PARTITIONED_ONLY = pytest.mark.parametrize("shape", ["partitioned"], indirect=True)


def moderation_night(workflow_url, s3, buckets, *, run_id="night-1"):
    """One night of moderation_log_archival: each of its rules, the delete ones on the purge's engine."""
    from governance.purge import PurgeSettings, purge_rule

    policy = load_retention_policy()
    outcomes = {}
    with psycopg.connect(workflow_url, autocommit=True) as conn:
        for rule in policy.model.rules_for("moderation_log_archival"):
            if rule.action == "archive_then_delete":
                settings = ArchiveSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=1000,
                                           archive_bucket=buckets.archive)
                outcomes[rule.name], _ = archive_rule(conn, s3, policy=policy, rule=rule.name, settings=settings)
            else:
                settings = PurgeSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=1000,
                                         max_rows_per_rule=1_000_000, media_bucket=buckets.media)
                outcomes[rule.name] = purge_rule(conn, s3, policy=policy, rule=rule.name, settings=settings)
    return outcomes


def event(data, user, created_at, *, severity="critical", event_id=None) -> tuple[int, datetime]:
    """A moderation event, named as the partitioned shape's key names it: (event_id, created_at)."""
    return data.moderation(user, severity=severity, created_at=created_at, event_id=event_id), created_at


@PARTITIONED_ONLY
def test_on_the_partitioned_shape_a_night_deletes_exactly_the_rows_its_objects_hold(
    shape, data, conn, workflow_url, s3, buckets
):
    """A night of moderation_log_archival on partitioned moderation_events: critical events past 90 days are
    archived, verified and deleted; standard ones are deleted; a held person's stay. A row that shares the event id
    of an archived one but is not due stays too, even one microsecond younger than its archived twin, across the
    rule's cutoff: rows leave the table by event id and created_at as read back from the verified object, to the
    microsecond (the object keeps created_at as a Parquet timestamp in microseconds, UTC)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    person, held = data.user(), data.user()
    data.hold(held)
    odd = timedelta(microseconds=123_457)  # not a whole millisecond: a coarser clock would not match
    critical = [event(data, person, CUTOFF - relativedelta(months=months) + timedelta(days=day) + odd)
                for months in (4, 5) for day in range(3)]
    edge = event(data, person, RULE_CUTOFF - MICROSECOND)  # due by one microsecond
    twins = [event(data, person, RULE_CUTOFF, event_id=edge[0]),  # the same id, due in one microsecond
             event(data, person, CUTOFF - timedelta(days=10), event_id=critical[0][0])]  # in another partition
    standard_due = event(data, person, CUTOFF - relativedelta(months=5), severity="standard")
    standard_young = event(data, person, CUTOFF - timedelta(days=30), severity="standard")
    kept_for_hold = [event(data, held, CUTOFF - relativedelta(months=4)),
                     event(data, held, CUTOFF - relativedelta(months=4), severity="standard")]
    data.commit()
    assert len(rows_in_table(conn)) == 13

    night = moderation_night(workflow_url, s3, buckets)

    assert night["moderation_logs_critical"].counts.nonzero() == {"rows_archived": 7, "objects_written": 3}
    assert night["moderation_logs_critical"].held == 1
    assert night["moderation_logs_standard"].counts.nonzero() == {"rows_deleted": 1}
    assert rows_in_table(conn) == {*twins, standard_young, *kept_for_hold}
    assert standard_due not in rows_in_table(conn)
    objects = archived_rows(s3, buckets.archive)
    assert set(objects) == {*critical, edge}
    assert all(len(keys) == 1 for keys in objects.values())
    key = next(iter(objects.values()))[0]
    schema = pq.read_schema(io.BytesIO(s3.get_object(Bucket=buckets.archive, Key=key)["Body"].read()))
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    conn.rollback()
    assert {row[0] for row in conn.execute("SELECT state FROM governance.archive_manifests")} == {"complete"}
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok

    again = moderation_night(workflow_url, s3, buckets, run_id="night-2")
    assert not again["moderation_logs_critical"].counts
    assert rows_in_table(conn) == {*twins, standard_young, *kept_for_hold}
    assert archived_rows(s3, buckets.archive) == objects


def hold_once_verified(monkeypatch, db_url, person) -> None:
    """Put `person` under a legal hold once an archive object verified, before its rows are deleted: what a hold
    placed while the archival runs does."""
    from governance.archive import ArchiveRule

    verify = ArchiveRule.verify

    def verify_then_hold(self, run, manifest):
        rows = verify(self, run, manifest)
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("INSERT INTO governance.legal_holds (user_id, reason, placed_by) SELECT %s, 'litigation', "
                          "'legal@example.com' WHERE NOT EXISTS (SELECT FROM governance.legal_holds WHERE user_id "
                          "= %s)", (person, person))
        return rows

    monkeypatch.setattr(ArchiveRule, "verify", verify_then_hold)


def kept_back(conn) -> set[tuple[int, datetime | None]]:
    conn.rollback()
    return set(conn.execute("SELECT event_id, event_at FROM governance.archive_retained").fetchall())


def release_holds(conn) -> None:
    conn.execute("UPDATE governance.legal_holds SET released_at = now() WHERE released_at IS NULL")
    conn.commit()


def test_rows_a_hold_kept_after_their_object_was_written_leave_by_id_and_created_at_once_released(
    shape, data, conn, db_url, workflow_url, s3, buckets, monkeypatch
):
    """A hold placed after an object verified keeps its person's rows in the table: recorded by event id and
    created_at, never archived again, and deleted once the hold is released. On the partitioned shape, rows that
    share their ids are not theirs: one not due stays, one due is archived on its own once no hold keeps it."""
    person = data.user()
    archived_first = [event(data, person, CUTOFF - relativedelta(months=4) + timedelta(days=day)) for day in range(2)]
    data.commit()
    hold_once_verified(monkeypatch, db_url, person)

    outcome, [obj] = run_archive(workflow_url, s3, buckets.archive)
    assert outcome.counts.nonzero() == {"objects_written": 1, "objects_legal_held": 1}
    assert kept_back(conn) == set(archived_first)
    twins = []
    if shape == "partitioned":
        twins = [event(data, person, CUTOFF - relativedelta(months=6), event_id=archived_first[0][0]),  # due
                 event(data, person, CUTOFF - timedelta(days=3), event_id=archived_first[0][0])]  # not due
        data.commit()
    assert rows_in_table(conn) == {*archived_first, *twins}
    again, objects = run_archive(workflow_url, s3, buckets.archive, run_id="run-2")  # the hold still stands
    assert (again.counts.nonzero(), objects) == ({}, [])
    assert rows_in_table(conn) == {*archived_first, *twins}

    release_holds(conn)
    run_archive(workflow_url, s3, buckets.archive, run_id="run-3")
    assert rows_in_table(conn) == set(twins[1:])
    assert kept_back(conn) == set()
    objects = archived_rows(s3, buckets.archive)
    assert set(objects) == {*archived_first, *twins[:1]}
    assert [objects[row] for row in archived_first] == [[obj["object_key"]]] * 2
    assert all(len(keys) == 1 for keys in objects.values())


@PARTITIONED_ONLY
def test_rows_kept_back_by_id_alone_before_the_upgrade_are_recorded_again_from_their_verified_object(
    shape, data, conn, db_url, workflow_url, s3, buckets, monkeypatch
):
    """Earlier versions recorded a row a hold kept by its event id alone. The first run after the upgrade reads each
    such row's object back, verifies it, and records the row by id and created_at as the object holds them; a row
    sharing the id that the object does not hold is then archived when due and never deleted unarchived."""
    person, other = data.user(), data.user()
    archived_first = [event(data, person, CUTOFF - relativedelta(months=4) + timedelta(days=day)) for day in range(2)]
    data.commit()
    hold_once_verified(monkeypatch, db_url, person)
    run_archive(workflow_url, s3, buckets.archive)
    monkeypatch.undo()
    conn.execute("UPDATE governance.archive_retained SET event_at = NULL")  # as an earlier version recorded them
    due_twin = event(data, other, CUTOFF - relativedelta(months=5), event_id=archived_first[0][0])
    young_twin = event(data, other, CUTOFF - timedelta(days=3), event_id=archived_first[1][0])
    data.commit()
    assert kept_back(conn) == {(row[0], None) for row in archived_first}

    outcome, [second] = run_archive(workflow_url, s3, buckets.archive, run_id="run-2")
    assert outcome.counts.nonzero() == {"rows_archived": 1, "objects_written": 1}
    assert kept_back(conn) == set(archived_first)
    assert rows_in_table(conn) == {*archived_first, young_twin}
    assert archived_rows(s3, buckets.archive)[due_twin] == [second["object_key"]]

    release_holds(conn)
    run_archive(workflow_url, s3, buckets.archive, run_id="run-3")
    assert rows_in_table(conn) == {young_twin}
    assert kept_back(conn) == set()
    assert sorted(archived_rows(s3, buckets.archive)) == sorted([*archived_first, due_twin])


def test_the_upgrade_of_archive_retained_keeps_rows_recorded_by_id_alone_and_runs_again(conn):
    """governance.sql turns an earlier archive_retained (event id as its primary key) into the table a fresh
    database gets, keeping its rows with no created_at yet; applied again, it changes nothing."""
    from governance.db import apply_schemas

    def definition():
        conn.rollback()
        columns = conn.execute("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
                               "WHERE attrelid = 'governance.archive_retained'::regclass AND attnum > 0 AND NOT "
                               "attisdropped ORDER BY attnum").fetchall()
        indexes = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'governance' AND tablename = "
                               "'archive_retained' ORDER BY indexname").fetchall()
        constraints = conn.execute("SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                                   "'governance.archive_retained'::regclass ORDER BY 1, 2").fetchall()
        return columns, indexes, constraints

    fresh = definition()
    conn.execute("DROP TABLE governance.archive_retained")
    conn.execute("CREATE TABLE governance.archive_retained (event_id bigint PRIMARY KEY, manifest_id bigint NOT NULL "
                 "REFERENCES governance.archive_manifests (manifest_id))")  # as earlier versions made it
    manifest = conn.execute("INSERT INTO governance.archive_manifests (run_id, rule, source_table, partition_key, "
                            "bucket, object_key, sha256, row_count, state) VALUES ('run-0', %s, "
                            "'app.moderation_events', 'month=2026-07', 'archive', 'k', repeat('0', 64), 1, "
                            "'complete') RETURNING manifest_id", (RULE,)).fetchone()[0]
    conn.execute("INSERT INTO governance.archive_retained VALUES (7, %s)", (manifest,))
    conn.commit()
    apply_schemas(conn)
    upgraded = definition()
    apply_schemas(conn)
    assert definition() == upgraded == fresh
    assert conn.execute("SELECT event_id, manifest_id, event_at FROM governance.archive_retained").fetchall() == [
        (7, manifest, None)]


# -- a kill at each step, then a rerun ---------------------------------------------------------------

WORKER = """
import os, sys
from datetime import datetime
import psycopg
sys.path[:0] = ["plugins", "."]
from governance.archive import ArchiveSettings, archive_rule
from governance.lifecycle import Timeouts
from governance.policy import load_retention_policy
from tests.s3_faults import client_for
settings = ArchiveSettings(run_id="killed-run", run_cutoff=datetime.fromisoformat(sys.argv[1]), dry_run=False,
                           batch_size=2, archive_bucket=os.environ["ARCHIVE_BUCKET"],
                           timeouts=Timeouts(lock_timeout_ms=60_000))
with psycopg.connect(os.environ["WORKFLOW_URL"], autocommit=True) as conn:
    archive_rule(conn, client_for(sys.argv[2]), policy=load_retention_policy(), rule="moderation_logs_critical",
                 settings=settings)
"""


def start_worker(workflow_url, endpoint):
    return subprocess.Popen([sys.executable, "-c", WORKER, CUTOFF.isoformat(), endpoint],
                            env={**os.environ, "WORKFLOW_URL": workflow_url}, cwd=ROOT)


def manifest_state(db_url) -> str | None:
    with psycopg.connect(db_url) as watcher:
        row = watcher.execute("SELECT state FROM governance.archive_manifests ORDER BY manifest_id DESC LIMIT 1")
        found = row.fetchone()
    return found[0] if found else None


KILL_POINTS = ["after the intent", "during the upload", "after the upload", "after the verification",
               "in the middle of the deletes"]


@pytest.mark.parametrize(("kill_at", "shape"), [*((point, "plain") for point in KILL_POINTS),
                                                ("in the middle of the deletes", "partitioned")], indirect=["shape"])
def test_a_kill_at_each_step_then_a_rerun_archives_every_event_exactly_once(
    kill_at, shape, data, conn, db_url, workflow_url, s3, buckets, stack_env
):
    """SIGKILL at each step of an object's way, then a rerun: every event ends in the table or in exactly one
    verified object, an object already uploaded is adopted rather than written twice, and the ledger accounts
    for every row that left the table. "During the upload": S3 received the object and stored it after the
    worker died; "after the intent": the upload never arrived."""
    user = data.user()
    events = critical_events(data, user, [4], per_month=6)
    data.commit()
    blocker = None
    with faulty_s3(stack_env["S3_ENDPOINT_URL"]) as proxy:
        if kill_at in ("after the intent", "during the upload"):
            proxy.pause_on = ("PUT", ".parquet")
        elif kill_at == "after the upload":
            proxy.pause_on = ("HEAD", ".parquet")  # verification starts with a HEAD of the version
        else:  # hold one row the deletes need: the worker waits on it, holding no lock of ours
            blocker = psycopg.connect(db_url)
            row = events[0] if kill_at == "after the verification" else events[-1]
            blocker.execute("SELECT 1 FROM app.moderation_events WHERE event_id = %s FOR UPDATE", (row,))
        worker = start_worker(workflow_url, proxy.endpoint)
        try:
            if kill_at in ("after the intent", "during the upload", "after the upload"):
                assert proxy.paused.wait(60), "the worker should reach the paused request"
            else:
                wanted = "verified"
                wait_for(lambda: manifest_state(db_url) == wanted and lock_waiting(db_url), "the deletes waiting")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            proxy.release(forward=kill_at != "after the intent")
            if blocker:
                blocker.close()
    expected_state = {"after the intent": "intent", "during the upload": "intent",
                      "after the upload": "uploaded"}.get(kill_at, "verified")
    assert manifest_state(db_url) == expected_state
    if kill_at == "in the middle of the deletes":
        assert 0 < len(in_table(conn, events)) < len(events)

    run_archive(workflow_url, s3, buckets.archive, run_id="rerun")

    assert_exactly_once(conn, s3, buckets.archive, events)
    assert in_table(conn, events) == set()
    states = [row[0] for row in conn.execute("SELECT state FROM governance.archive_manifests ORDER BY manifest_id")]
    # An intent killed before its upload is abandoned and its rows archived again; every other object is adopted.
    assert states == (["abandoned", "complete"] if kill_at == "after the intent" else ["complete"])
    closing = [entry for run_id in ("killed-run", "rerun") for entry in ledger.entries_for_run(
        conn, "moderation_log_archival", run_id) if entry["action"] in ("archive_interrupted", "archive_completed")]
    assert sum(entry["counts"].get("rows_archived", 0) for entry in closing) == len(events)
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def lock_waiting(db_url) -> bool:
    with psycopg.connect(db_url) as watcher:
        return bool(watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                    " AND query LIKE '%%DELETE FROM%%'").fetchone()[0])


# -- retrieval ----------------------------------------------------------------------------------------


def test_retrieval_returns_exactly_the_selected_events_reading_only_the_periods_months(
    data, conn, workflow_url, s3, buckets, stack_env, tmp_path
):
    """By user id, period and category: exactly the matching archived events, read in place, from the objects of
    the period's months only."""
    import csv

    from governance.archive_retrieval import Retrieval, retrieve

    person, other = data.user(), data.user()
    april = CUTOFF - relativedelta(months=7)
    wanted = [data.moderation(person, severity="critical", category="violence", created_at=april + timedelta(days=d))
              for d in range(3)]
    data.moderation(person, severity="critical", category="hate", created_at=april)  # another category
    data.moderation(other, severity="critical", category="violence", created_at=april)  # another person
    data.moderation(person, severity="critical", category="violence", created_at=april - relativedelta(months=2))
    data.commit()
    run_archive(workflow_url, s3, buckets.archive)
    request = Retrieval(start=april.date().replace(day=1), end=(april + relativedelta(months=1)).date().replace(day=1),
                        user_id=person, category="violence")
    with psycopg.connect(workflow_url) as work:
        found = retrieve(work, arrow_filesystem(stack_env), policy=load_retention_policy(), rule=RULE,
                         bucket=buckets.archive, request=request, pseudonym_key=PSEUDONYM_KEY.encode(),
                         out_csv=tmp_path / "events.csv")
    with open(tmp_path / "events.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(row["event_id"]) for row in rows) == sorted(wanted)
    assert (found.rows, found.objects_read) == (3, 1)
    assert "user_id" not in rows[0]


@pytest.mark.parametrize(("request_fields", "message"), [
    ({"category": "gossip"}, r"category: unknown 'gossip'; choose from"),
    ({"start": "2026-05-01", "end": "2026-04-01"}, r"period: it ends \(2026-04-01\) before it starts"),
    ({"user_id": 1, "pseudonym": "a" * 64}, "give a user id or a pseudonym, not both"),
    ({"pseudonym": "not-a-pseudonym"}, "pseudonym: 64 lowercase hexadecimal characters expected"),
])
def test_a_bad_retrieval_is_refused_by_name(request_fields, message, conn, s3, buckets, stack_env, tmp_path):
    """An unknown category, an inverted period, or a confused person is a clear error, and nothing is read."""
    from datetime import date

    from governance.archive_retrieval import InvalidRetrieval, Retrieval, retrieve

    fields = {"start": "2026-04-01", "end": "2026-05-01", **request_fields}
    request = Retrieval(start=date.fromisoformat(fields.pop("start")), end=date.fromisoformat(fields.pop("end")),
                        **fields)
    with pytest.raises(InvalidRetrieval, match=message):
        retrieve(conn, arrow_filesystem(stack_env), policy=load_retention_policy(), rule=RULE, bucket=buckets.archive,
                 request=request, pseudonym_key=PSEUDONYM_KEY.encode(), out_csv=tmp_path / "events.csv")
