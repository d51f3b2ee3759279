"""When S3 lost data anyway (a crash, a deleted .local/s3): `make services` says how many media objects and
reports are gone, `make restore-media` puts the media back, and the Governance view offers no report that
is gone. Real PostgreSQL and S3: the objects are deleted from the test's own buckets."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from governance import governance_view as view
from governance.db import sql_text
from governance.reports import publish
from scripts import s3_reconcile, stack
from tests.integration.test_seed import run_seed

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def delete_objects(s3, bucket: str, keys: list[str]) -> None:
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True})


def report(conn, s3, bucket: str, key: str, body: bytes = b"{}\n", workflow: str = "retention_purge"):
    return publish(conn, s3, workflow=workflow, run_id="run", report_type="purge_report", object_key=key, body=body,
                   summary={"status": "completed"}, bucket=bucket)


def test_missing_media_is_counted_from_one_listing_and_restored_by_the_seeders_code(conn, db_url, s3, buckets):
    summary = run_seed(conn, s3, buckets.media, scale=20)
    assert s3_reconcile.count_missing_media(conn, s3, buckets.media) == (0, summary.media_objects)
    keys = sorted(key["Key"] for key in s3.list_objects_v2(Bucket=buckets.media)["Contents"])[:7]
    delete_objects(s3, buckets.media, keys)
    s3.put_object(Bucket=buckets.media, Key="uploads/0/orphan.jpg", Body=b"x")  # no row names it
    assert s3_reconcile.count_missing_media(conn, s3, buckets.media) == (7, summary.media_objects)
    assert s3_reconcile.missing_media_keys(conn, s3, buckets.media) == keys

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "seed.py"), "--restore-media",
                           "--database-url", db_url, "--media-bucket", buckets.media],
                          capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout) == (0, f"restored 7 media objects in {buckets.media}\n"), done.stderr
    assert s3_reconcile.count_missing_media(conn, s3, buckets.media) == (0, summary.media_objects)
    body = s3.get_object(Bucket=buckets.media, Key=keys[0])["Body"].read()
    assert body.startswith((b"\x89PNG", b"\xff\xd8", b"\x00\x00\x00\x18ftyp"))  # the seed's own bodies
    # Restoring deletes nothing: the orphan is still there for the data-quality check to find.
    s3.head_object(Bucket=buckets.media, Key="uploads/0/orphan.jpg")


def test_a_report_gone_from_its_bucket_is_marked_missing_and_never_offered(conn, workflow_url, s3, buckets):
    kept = report(conn, s3, buckets.reports, "retention_purge/2026-11-29/run/purge_report.json")
    lost = report(conn, s3, buckets.reports, "retention_purge/2026-11-30/run/purge_report.json", b'{"newer": 1}\n')
    version = s3.head_object(Bucket=buckets.reports, Key=lost.object_key)["VersionId"]
    s3.delete_object(Bucket=buckets.reports, Key=lost.object_key, VersionId=version)

    # At fetch time, before any check: a plain "gone", not an S3 error.
    with pytest.raises(view.Gone, match="no longer in its bucket"):
        view.stream_object(s3, view.report_object(conn, lost.report_id))

    found = s3_reconcile.mark_missing_reports(conn, s3)
    assert (found.gone, found.indexed, found.newly, found.back) == (1, 2, 1, 0)
    assert s3_reconcile.mark_missing_reports(conn, s3).newly == 0  # missing_since is kept from the first time
    missing_since = conn.execute("SELECT missing_since FROM governance.report_index WHERE report_id = %s",
                                 (lost.report_id,)).fetchone()[0]
    assert missing_since is not None

    # The promises page's evidence is the newest report that is still there.
    latest = conn.execute(sql_text("ui/latest_reports.sql"), {}).fetchall()
    assert [(row[0], row[1]) for row in latest] == [(kept.report_id, "retention_purge")]
    # The report index lists it as gone (the template gives it no link); fetching it says so.
    listed = view.report_list(conn, workflow=None, window=None, page=1)["reports"]
    assert [(r["report_id"], r["missing_since"]) for r in listed] == [(lost.report_id, missing_since),
                                                                      (kept.report_id, None)]
    with pytest.raises(view.Gone, match=r"found gone \d{4}-\d\d-\d\d"):
        view.report_object(conn, lost.report_id)
    # An evidence pack lists it as lost rather than failing or leaving it out silently.
    now = datetime.now(UTC)
    pack = view.evidence_pack(conn, s3, (now - timedelta(days=1), now + timedelta(days=1)), who="auditor",
                              where="test", written=now)
    with zipfile.ZipFile(io.BytesIO(pack.read())) as archive:
        assert f"reports/{kept.object_key}" in archive.namelist()
        assert f"reports/{lost.object_key}" not in archive.namelist()
        gone = json.loads(archive.read("missing_reports.json"))
    assert [(g["report_id"], g["sha256"]) for g in gone] == [(lost.report_id, lost.sha256)]

    # Only the owner marks reports: the workflows' role may not change the index.
    with psycopg.connect(workflow_url) as workflow, pytest.raises(psycopg.errors.InsufficientPrivilege):
        workflow.execute("UPDATE governance.report_index SET missing_since = NULL")


def test_a_report_whose_object_is_back_is_no_longer_missing(conn, s3, buckets):
    """An unversioned bucket: the same key put back (a restored state) is the report again."""
    indexed = report(conn, s3, buckets.media, "reports/one.json")
    s3.delete_object(Bucket=buckets.media, Key=indexed.object_key)
    assert s3_reconcile.mark_missing_reports(conn, s3).gone == 1
    s3.put_object(Bucket=buckets.media, Key=indexed.object_key, Body=b"{}\n")
    found = s3_reconcile.mark_missing_reports(conn, s3)
    assert (found.gone, found.back) == (0, 1)


def test_make_services_says_plainly_what_s3_lost(conn, db_url, s3, buckets, capsys):
    summary = run_seed(conn, s3, buckets.media, scale=20)
    delete_objects(s3, buckets.media, [o["Key"] for o in s3.list_objects_v2(Bucket=buckets.media)["Contents"]][:5])
    report(conn, s3, buckets.media, "reports/gone.json")
    s3.delete_object(Bucket=buckets.media, Key="reports/gone.json")
    settings = stack.StackSettings(app_database=conn.info.dbname, media_bucket=buckets.media)
    stack.check_s3_against_database(settings)
    said = capsys.readouterr().out.splitlines()
    assert said == [
        f"[stack] WARNING: the media bucket {buckets.media} lacks 5 of the {summary.media_objects:,} objects the "
        "database's rows name (expected after a crash, or `make seed MEDIA=0`); `make restore-media` puts them back",
        "[stack] WARNING: 1 of 1 indexed reports are gone from S3 (1 found just now); the Governance view shows them "
        "as gone. A report cannot be recreated: run its workflow again for a new one",
    ]
