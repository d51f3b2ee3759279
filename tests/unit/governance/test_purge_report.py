"""The purge's report document, from what the tasks returned and what the database recorded."""

import re
from datetime import UTC, datetime

import pytest

from governance.lifecycle import COUNTERS
from governance.policy import ACTION_MEANINGS, load_retention_policy
from governance.purge_report import PURGE_COUNTERS, build_purge_report, purge_summary
from governance.reports import render_html
from tests.report_checks import escape, mixed_unit_totals, opens_with_summary

POLICY = load_retention_policy()
CUTOFF = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LEDGER = {"chain_ok": True, "head": {"seq": 4, "hash": "ab" * 32}, "head_seq": 4, "head_hash": "ab" * 32,
          "anchors_checked": 2}
# A night as the tasks return it: two accounts erased with their rows (payments and moderation events kept,
# pseudonymised), 478 user-deleted generations of which 20 had no media file, one prohibited image removed.
OUTCOMES = [
    {"rule": "deleted_accounts", "eligible": 2, "held": 1, "subjects_erased": 2, "rows_deleted": 14,
     "rows_pseudonymised": 3, "objects_deleted": 5, "object_versions_deleted": 6, "cutoff": "2026-11-01T02:00:00+00:00",
     "details": {}, "by_table": {"users.rows_deleted": 2, "generations.rows_deleted": 5, "uploads.rows_deleted": 1,
                                 "sessions.rows_deleted": 6, "payments.rows_pseudonymised": 2,
                                 "moderation_events.rows_pseudonymised": 1}},
    {"rule": "deleted_generations", "eligible": 478, "held": 2, "rows_deleted": 478, "objects_deleted": 450,
     "objects_already_absent": 8, "object_versions_deleted": 450, "cutoff": CUTOFF.isoformat(), "details": {}},
    {"rule": "prohibited_content", "eligible": 1, "rows_media_marked": 1, "objects_deleted": 1,
     "object_versions_deleted": 1, "details": {}},
]


def report(*, dry_run=False, outcomes=OUTCOMES, recorded=(), rules=None):
    return build_purge_report(
        policy=POLICY, run_id="scheduled__2026-12-01T02:00:00+00:00", run_type="scheduled", run_cutoff=CUTOFF,
        dry_run=dry_run, planned_rules=rules or [outcome["rule"] for outcome in outcomes], outcomes=outcomes,
        recorded=recorded, ledger_state=LEDGER)


def test_report_marks_a_rule_whose_task_failed_even_without_an_outcome():
    """A rule that failed before returning anything still appears in the report, as failed, with its
    error class, SQLSTATE and step; the totals add like with like only."""
    document = build_purge_report(
        policy=POLICY, run_id="r", run_type="manual", run_cutoff=datetime(2026, 1, 1, tzinfo=UTC), dry_run=False,
        planned_rules=["sessions", "payments"],
        outcomes=[{"rule": "sessions", "eligible": 3, "rows_deleted": 3, "held": 0, "cutoff": "x", "details": {}}],
        recorded=[{"rule": "payments", "state": "failed", "rows_deleted": 0,
                   "failure": {"step": "delete rows", "error_class": "CheckViolation", "code": "23514"}}],
        ledger_state={"chain_ok": True, "head": None},
    )
    statuses = {rule["rule"]: (rule["status"], rule["error"]) for rule in document["rules"]}
    assert statuses == {
        "sessions": ("completed", None),
        "payments": ("failed", "CheckViolation (23514) in step delete rows"),
    }
    assert document["status"] == "failed"
    assert document["totals"]["rows_deleted"] == 3
    assert set(document["totals"]) == set(COUNTERS)  # no total of "due", which counts accounts for an erasure
    assert [counter["name"] for counter in document["counters"]] == list(COUNTERS)
    assert "1 rule failed (payments)" in document["summary"]


def test_the_summary_says_what_went_and_what_was_kept_with_the_reports_own_figures():
    """The summary opens the report; every figure in it is a total or a sum of the report's own columns, and each
    is said with its unit: accounts, rows and files apart."""
    document = report()
    totals = document["totals"]
    summary = document["summary"]
    assert f"erased {totals['subjects_erased']} accounts" in summary
    assert f"deleted {totals['rows_deleted']} rows (14 of them the erased accounts')" in summary
    assert f"{totals['objects_deleted']} image or video files, every stored version" in summary
    assert f"kept {totals['rows_pseudonymised']} rows that the law requires" in summary
    assert f"{totals['rows_media_marked']} row whose prohibited image or video was deleted" in summary
    assert "1 account and 2 rows belonging to people under a legal hold" in summary
    assert "periods counted back from 2026-12-01 02:00:00 UTC" in summary
    assert len(re.findall(r"[.!?](?:\s|$)", summary)) <= 3
    html = render_html("purge_report.html.j2", report=document).decode()
    assert opens_with_summary(document, html)


def test_a_preview_says_nothing_was_deleted_and_what_a_real_run_would_remove():
    """In a dry run the counters are all zero: the summary speaks of what is due, per unit, and the table shows
    due and held only."""
    outcomes = [{"rule": "deleted_accounts", "eligible": 2, "held": 1, "details": {}},
                {"rule": "sessions", "eligible": 40, "held": 0, "details": {}}]
    document = report(dry_run=True, outcomes=outcomes)
    assert "nothing was deleted: 2 accounts and 40 rows had passed their retention period" in document["summary"]
    assert "1 account belonging to people under a legal hold" in document["summary"]
    html = render_html("purge_report.html.j2", report=document).decode()
    assert "data-total=" not in html
    assert "data-counter=" not in html


def test_no_total_adds_up_different_units():
    """Each total is one counter over the rules, shown with that counter's unit; due and held, which count accounts
    for the account rule and rows for the others, have none."""
    document = report()
    html = render_html("purge_report.html.j2", report=document).decode()
    assert mixed_unit_totals(document, html) == []
    assert '<td class="n" data-total="subjects_erased">2 accounts</td>' in html
    assert '<td class="n" data-total="rows_deleted">492 rows</td>' in html
    assert '<td class="n" data-total="objects_deleted">456 media files</td>' in html
    assert 'data-total="eligible"' not in html
    assert 'data-total="held"' not in html


@pytest.mark.parametrize("planted", ["accounts added to rows", "files added to rows", "unit of another counter"])
def test_a_total_that_mixes_units_is_caught(planted):
    """The check above would fail on a report that adds accounts or files to rows, or labels a total wrongly."""
    document = report()
    html = render_html("purge_report.html.j2", report=document).decode()
    if planted == "accounts added to rows":
        document["totals"]["rows_deleted"] += document["totals"]["subjects_erased"]
        html = render_html("purge_report.html.j2", report=document).decode()
    elif planted == "files added to rows":
        html = html.replace('data-total="rows_deleted">492 rows', 'data-total="rows_deleted">948 rows')
    else:
        html = html.replace('data-total="objects_deleted">456 media files', 'data-total="objects_deleted">456 rows')
    assert mixed_unit_totals(document, html)


def test_rows_and_files_that_differ_say_why():
    """478 generations deleted and 458 files deleted or already gone: the report says 20 rows named no file,
    and says that this is worked out from the counts; where they agree it says nothing."""
    by_rule = {rule["rule"]: rule for rule in report()["rules"]}
    [note] = by_rule["deleted_generations"]["notes"]
    assert note.startswith("478 rows deleted, 458 media files deleted or already gone: 20 rows named no media file")
    assert "rows less files" in note
    assert by_rule["prohibited_content"]["notes"] == []
    erased, media = by_rule["deleted_accounts"]["notes"]
    assert erased == ("The 2 accounts erased had 14 rows deleted: generations 5, sessions 6, uploads 1, users 2.")
    assert media.startswith("6 rows of uploads and generations deleted with the accounts, 5 media files deleted or "
                            "already gone: 1 row named no media file")


def test_what_was_kept_says_why_in_the_policys_words():
    """The rows an erasure pseudonymised are listed per table with the reason retention.yaml gives."""
    document = report()
    kept = {item["table"]: item for item in document["rules"][0]["kept_by_law"]}
    steps = {f"app.{step.table}": step for step in POLICY.model.rule("deleted_accounts").cascade
             if step.action == "pseudonymise"}
    assert set(kept) == set(steps)
    assert kept["app.payments"]["rows"] == 2
    assert all(item["why"] == steps[table].retained_because for table, item in kept.items())
    html = render_html("purge_report.html.j2", report=document).decode()
    assert escape(steps["app.payments"].retained_because) in html


def test_every_column_and_action_is_explained_in_the_words_of_their_one_definition():
    """The report explains each column it shows and each rule's action, with the words of lifecycle.COUNTERS and
    policy.ACTION_MEANINGS (written once), and says each period as the policy does, beside its cutoff."""
    document = report(outcomes=[*OUTCOMES, {"rule": "payments", "eligible": 0, "details": {
        "cutoffs_by_value": {"RU": "2021-12-01T02:00:00+00:00"}}, "cutoff": "2016-12-01T02:00:00+00:00"}])
    html = render_html("purge_report.html.j2", report=document).decode()
    assert [column["name"] for column in document["columns"]] == list(PURGE_COUNTERS)
    for name in PURGE_COUNTERS:
        assert escape(COUNTERS[name].meaning) in html
    for rule in document["rules"]:
        assert escape(ACTION_MEANINGS[rule["action"]]) in html
    assert "30 days after the account is deleted<br><small>due if before 2026-11-01 02:00:00 UTC" in html
    assert "after the payment, by billing country" in html
    assert "RU 2021-12-01 02:00:00 UTC" in html


def test_the_summary_helper_takes_the_document_alone():
    """purge_summary reads only the document, so a reader can recompute it from the JSON."""
    document = report()
    assert purge_summary(document) == document["summary"]
