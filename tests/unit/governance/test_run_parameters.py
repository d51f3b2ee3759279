"""Form parameters and run context: bad input gets a clear error; cutoffs never come from now()."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from governance.policy import load_retention_policy
from governance.purge_report import build_purge_report
from governance.purge_tasks import InvalidRunParameters, resolve_parameters
from governance.reports import safe_path_part
from governance.runs import run_cutoff

POLICY = load_retention_policy()
PURGE_RULES = [rule.name for rule in POLICY.model.rules_for("retention_purge")]


def test_empty_form_runs_every_purge_rule_with_policy_defaults():
    """No rules chosen means all of the purge's rules (never the archival's), with the policy's defaults."""
    resolved = resolve_parameters(POLICY.model, {"dry_run": True}, "manual")
    assert resolved["rules"] == PURGE_RULES
    assert "moderation_logs_standard" not in resolved["rules"]
    assert resolved["batch_size"] == POLICY.model.defaults.batch_size
    assert resolved["dry_run"] is True


def test_dry_run_applies_only_to_manual_runs():
    """A scheduled or backfill run purges even though the form's default is a dry run."""
    for kind in ("scheduled", "backfill", "asset_triggered"):
        assert resolve_parameters(POLICY.model, {"dry_run": True}, kind)["dry_run"] is False


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rules": ["sessions", "nope"]}, r"rules: unknown \['nope'\]; choose from"),
        ({"rules": ["moderation_logs_standard"]}, r"unknown \['moderation_logs_standard'\]"),
        ({"batch_size": 0}, r"batch_size: 0 must be an integer from 1 to 100000"),
        ({"batch_size": 1_000_000}, r"batch_size: 1000000 must be an integer from 1 to 100000"),
        ({"batch_size": "5000"}, r"batch_size: '5000' must be an integer"),
        ({"max_rows_per_rule": -1}, r"max_rows_per_rule: -1 must be an integer from 1"),
        ({"max_rows_per_rule": True}, r"max_rows_per_rule: True must be an integer"),
    ],
)
def test_bad_form_parameters_are_refused_by_name(params, message):
    """An unknown rule or an out-of-range number is refused with the field's name, before anything runs."""
    with pytest.raises(InvalidRunParameters, match=message):
        resolve_parameters(POLICY.model, params, "manual")


def test_chosen_rules_run_in_policy_order():
    """A subset runs in the order of the policy file, whatever order the form lists it in."""
    resolved = resolve_parameters(POLICY.model, {"rules": ["sessions", "deleted_accounts"]}, "manual")
    assert resolved["rules"] == ["deleted_accounts", "sessions"]


def test_cutoff_is_the_data_interval_end_in_utc():
    """A scheduled run counts back from the end of its data interval, converted to UTC."""
    end = datetime(2026, 11, 25, 5, 0, tzinfo=timezone(timedelta(hours=3)))
    assert run_cutoff({"data_interval_end": end}) == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_manual_run_without_interval_falls_back_to_run_after():
    """A manual or asset-triggered run with no data interval counts back from run_after, never from now()."""
    run_after = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    context = {"data_interval_end": None, "dag_run": SimpleNamespace(run_after=run_after)}
    assert run_cutoff(context) == run_after
    assert run_cutoff(context) == run_cutoff(context)


def test_cutoff_without_any_anchor_is_an_error():
    """A run with neither field is refused instead of silently using the clock."""
    with pytest.raises(ValueError, match="neither data_interval_end nor run_after"):
        run_cutoff({"dag_run": SimpleNamespace(run_after=None)})


def test_report_marks_a_rule_whose_task_failed_even_without_an_outcome():
    """A rule that failed before recording anything still appears in the report, as failed."""
    document = build_purge_report(
        policy=POLICY, run_id="r", run_type="manual", run_cutoff=datetime(2026, 1, 1, tzinfo=UTC), dry_run=False,
        planned_rules=["sessions", "payments"],
        outcomes=[{"rule": "sessions", "eligible": 3, "rows_deleted": 3, "held": 0, "cutoff": "x"}],
        recorded=[{"rule": "payments", "error": "RuleConfigurationError: column missing", "rows_deleted": 0}],
        ledger_state={"chain_ok": True, "head": None},
    )
    statuses = {rule["rule"]: (rule["status"], rule["error"]) for rule in document["rules"]}
    assert statuses == {
        "sessions": ("completed", None),
        "payments": ("failed", "RuleConfigurationError: column missing"),
    }
    assert document["status"] == "failed"
    assert document["totals"]["rows_deleted"] == 3


def test_run_ids_become_safe_object_key_parts():
    """Run ids with ':' and '+' make object keys that every S3 tool can handle."""
    assert safe_path_part("manual__2026-11-25T20:32:34.193005+00:00") == "manual__2026-11-25T20_32_34.193005_00_00"
