"""The purge's form: bad input gets a clear error that names the field; nothing is silently changed."""

import pytest

from governance.airflow.purge_tasks import InvalidRunParameters, resolve_parameters
from governance.policy import load_retention_policy

POLICY = load_retention_policy()
PURGE_RULES = [rule.name for rule in POLICY.model.rules_for("retention_purge")]


def resolve(params, kind="manual", conf=None):
    return resolve_parameters(POLICY.model, params, conf=params if conf is None else conf, kind=kind)


def test_empty_form_runs_every_purge_rule_with_policy_defaults():
    """No rules chosen means all of the purge's rules (never the archival's), with the policy's defaults."""
    resolved = resolve({"dry_run": True})
    assert resolved["rules"] == PURGE_RULES
    assert "moderation_logs_standard" not in resolved["rules"]
    assert resolved["batch_size"] == POLICY.model.defaults.batch_size
    assert resolved["dry_run"] is True


def test_the_forms_default_previews_and_a_scheduled_run_purges(monkeypatch):
    """The form's dry_run default (true, in params but not in the run's conf) previews a manual run; a
    scheduled run, whose conf is empty, purges in a deployment that enabled scheduled deletes."""
    monkeypatch.setenv("GOVERNANCE_SCHEDULED_DELETES", "enabled")
    assert resolve({"dry_run": True}, kind="manual", conf={})["dry_run"] is True
    assert resolve({"dry_run": True}, kind="scheduled", conf={})["dry_run"] is False
    assert resolve({"dry_run": True}, kind="scheduled", conf={"dry_run": True})["dry_run"] is True
    assert resolve({"dry_run": True}, kind="operator_triggered", conf={})["dry_run"] is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rules": ["sessions", "nope"]}, r"rules: unknown \['nope'\]; choose from"),
        ({"rules": ["moderation_logs_standard"]}, r"unknown \['moderation_logs_standard'\]"),
        ({"rules": "sessions"}, r"rules: 'sessions' must be a list of rule names"),
        ({"batch_size": 0}, r"batch_size: 0 must be an integer from 1 to 100000"),
        ({"batch_size": 2.0}, r"batch_size: 2.0 must be an integer from 1 to 100000"),
        ({"batch_size": 1_000_000}, r"batch_size: 1000000 must be an integer from 1 to 100000"),
        ({"batch_size": "5000"}, r"batch_size: '5000' must be an integer"),
        ({"max_rows_per_rule": -1}, r"max_rows_per_rule: -1 must be an integer from 1"),
        ({"max_rows_per_rule": True}, r"max_rows_per_rule: True must be an integer"),
        ({"ledger_override_reason": 7}, r"ledger_override_reason: 7 must be text"),
    ],
)
def test_bad_form_parameters_are_refused_by_name(params, message):
    """An unknown rule or an out-of-range number is refused with the field's name, before anything runs;
    the error is permanent, so the task fails at once instead of being retried."""
    with pytest.raises(InvalidRunParameters, match=message) as refused:
        resolve(params)
    from governance.errors import PermanentError

    assert isinstance(refused.value, PermanentError)


def test_chosen_rules_run_in_policy_order():
    """A subset runs in the order of the policy file, whatever order the form lists it in."""
    assert resolve({"rules": ["sessions", "deleted_accounts"]})["rules"] == ["deleted_accounts", "sessions"]
