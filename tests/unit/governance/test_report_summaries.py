"""Every report opens with a summary in plain words, made from its own document: its figures are the
document's, its times are written the one way, and the HTML shows it first."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from governance.archive_report import build_archival_report
from governance.archive_retrieval import Retrieval, Retrieved, retrieval_report
from governance.dsr import DeadlineFlag, load_subject_rights_policy
from governance.dsr_erasure import certificate_summary
from governance.dsr_reports import deadline_report, export_receipt
from governance.ledger_audit import verification_summary
from governance.lifecycle import COUNTERS
from governance.policy import load_retention_policy
from governance.quality_remediation import ACTION_MEANINGS, Remediation, remediation_report
from governance.quality_report import quality_summary
from governance.reports import render_html
from tests.report_checks import escape, mixed_unit_totals, opens_with_summary

NOW = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
RIGHTS = load_subject_rights_policy().model


def test_archival_summary_counts_what_moved_what_went_and_what_stayed():
    """Archived, deleted and held events, and the new archive files, as the document counts them; the table's
    totals stay one unit each, and the archive files' lock is written the one way."""
    planned = [{"rule": name} for name in ("moderation_logs_standard", "moderation_logs_critical_expired",
                                           "moderation_logs_critical")]
    objects = [{"partition_key": "month=2026-08", "object_key": "moderation/critical/month=2026-08/a.parquet",
                "version_id": "v1", "state": "complete", "row_count": 120, "rows_removed": 120, "min_key": 1,
                "max_key": 120, "sha256": "cd" * 32, "retain_until": "2033-08-31T10:00:00+00:00", "legal_hold": False}]
    outcomes = [
        {"rule": "moderation_logs_standard", "eligible": 300, "held": 4, "rows_deleted": 300,
         "months": {"2026-08": {"due": 300, "held": 4}}},
        {"rule": "moderation_logs_critical_expired", "eligible": 2, "held": 0, "rows_deleted": 2},
        {"rule": "moderation_logs_critical", "eligible": 120, "held": 1, "rows_archived": 120, "objects_written": 1,
         "objects": objects, "cutoff": "2026-09-02T02:30:00+00:00"},
    ]
    document = build_archival_report(
        policy=load_retention_policy(), run_id="r", run_type="scheduled", run_cutoff=NOW, dry_run=False,
        planned=planned, outcomes=outcomes, recorded=[], ledger_state={"chain_ok": True, "head": None, "head_seq": None,
                                                                       "head_hash": None, "anchors_checked": 0},
        archive_bucket="b")
    summary = document["summary"]
    assert "moved 120 critical events to the write-once archive (1 new locked file)" in summary
    assert "deleted 302 events whose period had ended, without archiving them" in summary
    assert "5 events of people under a legal hold stayed in the table" in summary
    assert "periods counted back from 2026-12-01 02:30:00 UTC" in summary
    html = render_html("archival_report.html.j2", report=document).decode()
    assert opens_with_summary(document, html)
    assert mixed_unit_totals(document, html) == []
    assert "2033-08-31 10:00:00 UTC" in html
    assert "until 7 years after the moderation event<br><small>due if before 2026-09-02 02:30:00 UTC" in html
    for column in document["columns"]:
        assert escape(COUNTERS[column["name"]].meaning) in html


def test_verification_summary_names_how_many_heads_and_reports_it_checked_against():
    """The ledger report says what was checked and against how many anchored heads, recorded by how many reports;
    a broken chain says where, and what follows from it."""
    written = datetime(2026, 11, 30, 4, 30, 1, tzinfo=UTC)
    document = {
        "report": "audit_ledger_verification", "generated_at": NOW.isoformat(), "run_id": "r", "status": "ok",
        "entries_checked": 1234, "head": {"seq": 1234, "hash": "ab" * 32}, "ledger_head": None,
        "anchors_checked": 2, "anchor_bucket": "b", "anchor_written": None, "signatures_checked": True,
        "foreign_objects_under_anchor_prefix": 0, "first_broken_seq": None, "reason": None,
        "checked_against": [
            {"seq": 1200, "hash": "cd" * 32, "anchored_at": written, "reports": [
                {"report_id": 7, "workflow": "retention_purge", "run_id": "p", "created_at": written,
                 "object_key": "retention_purge/2026-11-30/p/retention_purge.json"},
                {"report_id": 8, "workflow": "retention_purge", "run_id": "p", "created_at": written,
                 "object_key": "retention_purge/2026-11-30/p/retention_purge.html"}]},
            {"seq": 900, "hash": "ef" * 32, "anchored_at": written, "reports": []}],
    }
    document["summary"] = verification_summary(document)
    assert document["summary"] == (
        "The audit ledger was checked at 2026-12-01 02:30:00 UTC and found intact: 1,234 entries up to entry #1,234, "
        "each with its signature. It matched 2 verified heads kept outside the database, recorded by 2 reports listed "
        "below: no entry was changed, none was added without the key, and none of the anchored entries was removed.")
    html = render_html("ledger_verification.html.j2", report=document).decode()
    assert opens_with_summary(document, html)
    assert ("retention_purge, report 7 <code>retention_purge/2026-11-30/p/retention_purge.json</code>, written "
            "2026-11-30 04:30:01 UTC") in html
    assert "no indexed report records this head" in html
    broken = {**document, "status": "failed", "first_broken_seq": 4, "reason": "row missing: seq 4"}
    assert verification_summary(broken).startswith(
        "The audit ledger was checked at 2026-12-01 02:30:00 UTC and found broken at entry #4: row missing: seq 4. "
        "It was compared with 2 verified heads")


def test_retrieval_summary_says_what_was_asked_what_was_found_and_that_nothing_was_restored():
    request = Retrieval(start=datetime(2026, 3, 1).date(), end=datetime(2026, 4, 1).date(), user_id=42,
                        category="violence")
    found = Retrieved(rows=3, objects_read=2, by_month={"2026-03": 3}, by_category={"violence": 3})
    document = retrieval_report(workflow="moderation_archive_retrieval", run_id="r", request=request, found=found,
                                csv_key="k/events.csv")
    assert document["summary"].startswith(
        "An auditor asked for one person's critical moderation events in category violence from 2026-03-01 to "
        "2026-03-31 (UTC, both days included). 3 events matched, read from 2 archive files")
    assert "42" not in document["summary"]  # the person is never named, not even by user id
    html = render_html("archive_retrieval.html.j2", report=document).decode()
    assert opens_with_summary(document, html)


def test_quality_summary_counts_the_checks_and_what_failed():
    suites = [{"suite": "no_raw_prompts", "promise": "Prompts are stored only as SHA-256 hashes (privacy policy, "
               "sections 2.2 and 4)", "about": "", "suite_sha256": "x", "ran": True, "checks": 3, "failed": 1,
               "results": []},
              {"suite": "hashed_ips", "promise": "IP addresses are kept only hashed", "about": "", "suite_sha256": "x",
               "ran": True, "checks": 2, "failed": 0, "results": []}]
    document = {"workflow": "data_quality_checks", "run_id": "r", "run_cutoff": NOW, "full_scan": False,
                "scan": "incremental night", "status": "failed", "checks": 5, "failed_checks": 1,
                "suites_not_run": [], "suites": suites, "data_docs": []}
    document["summary"] = quality_summary(document)
    assert document["summary"].startswith(
        "The data-quality checks ran 5 checks in 2 suites at 2026-12-01 02:30:00 UTC, reading only the rows added "
        "since the last successful run")
    assert "1 check failed, in no_raw_prompts (1)" in document["summary"]
    html = render_html("data_quality_report.html.j2", report=document).decode()
    assert opens_with_summary(document, html)
    passed = {**document, "status": "passed", "failed_checks": 0,
              "suites": [{**suite, "failed": 0} for suite in suites]}
    assert quality_summary(passed).endswith(
        "All passed, so the promises they test held: Prompts are stored only as SHA-256 hashes; IP addresses are "
        "kept only hashed.")


def test_remediation_summary_counts_rows_hashed_and_findings_left_to_others():
    done = [Remediation(1, "no_raw_prompts", "c", "app.generations.prompt_hash", "hashed_in_place", rows=4),
            Remediation(2, "retention_compliance", "c", "app.sessions", "left_to_the_purge"),
            Remediation(3, "no_raw_prompts", "c", "app.users.display_name", "not_automatic")]
    preview = remediation_report(run_id="r", dry_run=True, done=done)
    assert preview["summary"] == (
        "This was a preview of the remediation of 3 data-quality findings, and nothing was changed: 4 rows would have "
        "a raw value replaced by its SHA-256 hash. 1 finding of rows past their period is left to the nightly purge; "
        "1 finding needs a person to decide.")
    html = render_html("data_quality_remediation.html.j2", report=preview).decode()
    assert opens_with_summary(preview, html)
    assert all(escape(meaning) in html for action, meaning in ACTION_MEANINGS.items() if action != "nothing_to_do")


def test_deadline_summary_separates_late_requests_from_those_due_soon():
    flags = [DeadlineFlag("DSR-1", "erasure", "gdpr", "in_progress", NOW - timedelta(days=40), NOW - timedelta(days=2),
                          False, -2.0),
             DeadlineFlag("DSR-2", "export", "ccpa", "received", NOW - timedelta(days=41), NOW + timedelta(days=4),
                          False, 4.0)]
    document = deadline_report(run_id="r", now=NOW, open_requests=5, flags=flags, rights=RIGHTS)
    assert document["summary"] == (
        "On 2026-12-01 02:30:00 UTC, 5 data-subject requests (to see, take away or erase a person's data) were open. "
        "1 request is past the deadline the law sets and 1 request is due within 5 days: each is listed below, and "
        "this daily check fails until they are answered.")
    html = render_html("dsr_deadlines.html.j2", report=document).decode()
    assert opens_with_summary(document, html)
    assert "2026-11-29 02:30:00 UTC" in html
    quiet = deadline_report(run_id="r", now=NOW, open_requests=1, flags=[], rights=RIGHTS)
    assert quiet["summary"].endswith("was open. None is within 5 days of its legal deadline, so none needs attention "
                                     "yet.")


def test_export_receipt_summary_says_what_was_written_whether_on_time_and_when_it_goes():
    request = SimpleNamespace(request_id="DSR-9", jurisdiction="gdpr", received_at=NOW - timedelta(days=3),
                              deadline=NOW + timedelta(days=27))
    outcome = {"bundle": {"bucket": "e", "key": "k.zip", "version_id": "v", "sha256": "ab" * 32, "size_bytes": 2048,
                          "expires_at": (NOW + timedelta(days=30)).isoformat()},
               "counts": {"account_data": 1, "generations": 12}}
    document = export_receipt(request=request, outcome=outcome, completed_at=NOW)
    assert document["summary"] == (
        "For request DSR-9 (the rights of access and portability, GDPR Art. 15 and 20), a copy of the person's data "
        "was written on 2026-12-01 02:30:00 UTC: 13 records in 2 kinds of data, on time (due 2026-12-28 02:30:00 UTC). "
        "The copy is deleted on 2026-12-31 02:30:00 UTC, every stored version; this receipt holds no personal data.")
    html = render_html("dsr_export_receipt.html.j2", report=document).decode()
    assert opens_with_summary(document, html)


def test_certificate_summary_writes_its_time_the_one_way():
    erased = [{"rows_deleted": 3}, {"rows_deleted": 0}]
    kept = [{"rows": 2}]
    summary = certificate_summary({"objects_deleted": 2}, erased, kept, NOW)
    assert summary.startswith("On 2026-12-01 02:30:00 UTC the account was erased: 3 database records deleted across 1 "
                              "category, and 2 image or video files deleted")
    assert "2 records that the law requires us to keep were kept" in summary
