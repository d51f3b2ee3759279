"""The purge's report document, from what the tasks returned and what the database recorded."""

from datetime import UTC, datetime

from governance.lifecycle import COUNTERS
from governance.policy import load_retention_policy
from governance.purge_report import build_purge_report

POLICY = load_retention_policy()


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
