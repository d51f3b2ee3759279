"""Media deletion against the real S3 server: every version goes, only confirmed deletions count, and a
legal hold placed while S3 stalls still protects the person's media."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest

from governance.errors import StepFailed
from governance.lifecycle import Batch
from governance.media import MediaBucket, MediaDeletionError
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.storage import list_keys
from tests.factories import CUTOFF
from tests.s3_faults import client_for, faulty_s3

pytestmark = pytest.mark.integration


@pytest.fixture
def versioned(s3) -> str:
    bucket = f"versioned-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def versions(s3, bucket: str) -> list[tuple[str, str]]:
    listing = s3.list_object_versions(Bucket=bucket)
    return sorted((item["Key"], item["VersionId"]) for item in listing.get("Versions", []) + listing.get(
        "DeleteMarkers", []))


def purge_generations(workflow_url, s3_client, bucket, *, run_id="run-1", batch_size=100):
    settings = PurgeSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=batch_size,
                             max_rows_per_rule=10_000, media_bucket=bucket)
    with psycopg.connect(workflow_url, autocommit=True) as conn:
        return purge_rule(conn, s3_client, policy=load_retention_policy(), rule="deleted_generations",
                          settings=settings)


def test_every_version_and_delete_marker_of_a_key_is_deleted_and_counted(s3, versioned):
    """In a versioned bucket a plain delete only hides an object; here each version is deleted by its id.
    Objects and versions removed are counted, and keys that had no object left are counted apart."""
    for body in (b"v1", b"v2", b"v3"):
        s3.put_object(Bucket=versioned, Key="generations/1/a.png", Body=body)
    s3.put_object(Bucket=versioned, Key="generations/1/b.png", Body=b"only")
    s3.put_object(Bucket=versioned, Key="generations/1/b.png.thumb", Body=b"not asked for")
    s3.put_object(Bucket=versioned, Key="generations/1/hidden.png", Body=b"x")
    s3.delete_object(Bucket=versioned, Key="generations/1/hidden.png")  # a marker hides it; its version remains
    s3.put_object(Bucket=versioned, Key="generations/1/gone.png", Body=b"x")
    s3.delete_objects(Bucket=versioned, Delete={"Objects": [
        {"Key": "generations/1/gone.png", "VersionId": v} for k, v in versions(s3, versioned)
        if k == "generations/1/gone.png"]})
    batch = Batch()
    MediaBucket(s3, versioned, subject="test").delete(
        ["generations/1/a.png", "generations/1/b.png", "generations/1/hidden.png", "generations/1/gone.png",
         "generations/1/never.png"], batch)
    assert [key for key, _ in versions(s3, versioned)] == ["generations/1/b.png.thumb"]
    assert batch.irrevocable.nonzero() == {"objects_deleted": 3, "object_versions_deleted": 5,
                                           "objects_already_absent": 2}


def test_an_unversioned_bucket_works_the_same_way(s3, buckets):
    """Keys of a bucket without versioning have the single version "null"; they go, and are counted."""
    s3.put_object(Bucket=buckets.media, Key="uploads/1/a.jpg", Body=b"x")
    batch = Batch()
    MediaBucket(s3, buckets.media, subject="test").delete(["uploads/1/a.jpg", "uploads/1/a.jpg"], batch)
    assert list(list_keys(s3, buckets.media)) == []
    assert batch.irrevocable.nonzero() == {"objects_deleted": 1, "object_versions_deleted": 1}


def test_a_reply_that_names_an_object_in_errors_fails_and_names_the_code(s3, buckets):
    """An object under COMPLIANCE retention cannot be deleted: S3 answers with Errors, which fail the call."""
    key = "locked/a.bin"
    s3.put_object(Bucket=buckets.archive, Key=key, Body=b"x", ChecksumAlgorithm="SHA256",
                  ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=CUTOFF + timedelta(days=3650))
    batch = Batch()
    with pytest.raises(MediaDeletionError, match=r"not confirm the deletion of 1 of 1 objects .*errors: AccessDenied"):
        MediaBucket(s3, buckets.archive, subject="test").delete([key], batch)
    assert not batch.irrevocable


@pytest.mark.parametrize("fault", ["empty_result", "headers_only"])
def test_a_reply_without_per_key_results_is_not_success_and_keeps_the_rows(fault, data, conn, workflow_url, buckets,
                                                                           stack_env):
    """A DeleteObjects answer cut short (no Deleted, no Errors) or dropped after its headers used to count as
    success: the rows went and nothing pointed at the objects any more. Now the batch fails and the rows stay."""
    user = data.user()
    due = [data.generation(user, deleted_at=CUTOFF - timedelta(days=1)) for _ in range(3)]
    data.commit()
    with faulty_s3(stack_env["S3_ENDPOINT_URL"]) as proxy:
        proxy.mode = fault
        with pytest.raises(StepFailed, match=r"named in neither Deleted nor Errors: 3\); their rows were kept"):
            purge_generations(workflow_url, client_for(proxy.endpoint), buckets.media)
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.generations WHERE generation_id = ANY(%s)", (due,)).fetchone() == (3,)
    state, counts = conn.execute("SELECT state, counts FROM governance.rule_runs").fetchone()
    assert state == "failed"
    assert counts.get("rows_deleted", 0) == 0


def test_a_hold_placed_while_s3_stalls_protects_the_persons_media(data, conn, db_url, workflow_url, s3, buckets,
                                                                  stack_env):
    """A batch's objects are deleted only after its rows are locked and the holds re-checked, and no hold
    can be placed while a batch runs. So a hold placed while S3 stalls either waits for the batch (whose
    person it does not protect yet) or protects every later batch; no held person's row ever loses its media."""
    first = data.user()
    second = data.user()
    first_generation = data.generation(first, deleted_at=CUTOFF - timedelta(days=1))
    second_generation = data.generation(second, deleted_at=CUTOFF - timedelta(days=1))
    data.commit()
    errors: list[BaseException] = []
    with faulty_s3(stack_env["S3_ENDPOINT_URL"]) as proxy:
        proxy.mode = "pause"

        def run():
            try:
                purge_generations(workflow_url, client_for(proxy.endpoint), buckets.media, batch_size=1)
            except BaseException as exc:
                errors.append(exc)

        purge = threading.Thread(target=run)
        purge.start()
        assert proxy.paused.wait(30), "the first batch should reach S3"
        holds = []
        placing = [threading.Thread(target=place_hold, args=(db_url, user, holds)) for user in (first, second)]
        for thread in placing:
            thread.start()
        with psycopg.connect(db_url, autocommit=True) as watcher:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hold-desk'"
                                          " AND wait_event_type = 'Lock'").fetchone()[0]
                if waiting == 2:
                    break
                time.sleep(0.05)
        assert waiting == 2, "placing a hold must wait for the batch in flight"
        proxy.mode = None
        proxy.release()
        purge.join(60)
        for thread in placing:
            thread.join(30)
    assert not errors, errors
    assert sorted(holds) == sorted([first, second])
    conn.rollback()
    rows = dict(conn.execute("SELECT generation_id, media_key FROM app.generations").fetchall())
    objects = set(list_keys(s3, buckets.media))
    # The batch in flight finished before the holds: its row and object went together.
    assert first_generation not in rows
    # The later batch saw the hold: the row and its object both stay.
    assert rows == {second_generation: f"generations/{second}/{second_generation}.png"}
    assert set(rows.values()) <= objects


def place_hold(db_url: str, user: int, placed: list[int]) -> None:
    with psycopg.connect(db_url, autocommit=True, application_name="hold-desk") as desk:
        desk.execute("INSERT INTO governance.legal_holds (user_id, reason, placed_by) VALUES (%s, 'case', 'legal')",
                     (user,))
        placed.append(user)
