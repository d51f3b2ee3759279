"""The run's context as the workflows read it: cutoffs never come from now(), never lie in the
future, and a run's configuration names only fields the DAG has."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from governance.airflow.runs import InvalidRunParameters, dry_run, run_conf, run_cutoff

STARTED = datetime(2026, 11, 25, 2, 0, 7, tzinfo=UTC)


def context(**values):
    dag_run = SimpleNamespace(start_date=STARTED, run_after=values.pop("run_after", None),
                              conf=values.pop("conf", {}), run_type=values.pop("run_type", "manual"))
    return {"dag_run": dag_run, **values}


def test_cutoff_is_the_data_interval_end_in_utc():
    """A scheduled run counts back from the end of its data interval, converted to UTC."""
    end = datetime(2026, 11, 25, 5, 0, tzinfo=timezone(timedelta(hours=3)))
    assert run_cutoff(context(data_interval_end=end)) == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_manual_run_without_interval_falls_back_to_run_after():
    """A manual or asset-triggered run with no data interval counts back from run_after, never from now()."""
    run_after = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    values = context(data_interval_end=None, run_after=run_after)
    assert run_cutoff(values) == run_after
    assert run_cutoff(values) == run_cutoff(values)


def test_cutoff_without_any_anchor_is_an_error():
    """A run with neither field is refused instead of silently using the clock."""
    with pytest.raises(InvalidRunParameters, match="neither data_interval_end nor run_after"):
        run_cutoff(context())


def test_a_run_dated_in_the_future_is_refused():
    """`airflow dags test retention_purge 2036-01-01` must not purge ten years early: a cutoff later
    than the moment the run started is refused, naming both."""
    with pytest.raises(InvalidRunParameters, match=r"dated 2036-01-02 02:00:00 UTC, later than the moment it "
                                                   r"started \(2026-11-25 02:00:07 UTC\)"):
        run_cutoff(context(data_interval_end=datetime(2036, 1, 2, 2, 0, tzinfo=UTC)))
    assert run_cutoff(context(data_interval_end=STARTED)) == STARTED  # the very moment it started is fine


def test_unknown_configuration_keys_are_refused_with_a_suggestion():
    """A typo such as max_rows_per_rules is refused, naming the close field, instead of running with the default."""
    with pytest.raises(InvalidRunParameters, match=r"unknown field 'max_rows_per_rules' \(did you mean "
                                                   r"'max_rows_per_rule'\?\); the fields are batch_size, "):
        run_conf(context(conf={"max_rows_per_rules": 100}), ["batch_size", "max_rows_per_rule", "dry_run"])
    assert run_conf(context(conf={"dry_run": False}), ["dry_run"]) == {"dry_run": False}


@pytest.mark.parametrize("kind", ["manual", "scheduled", "backfill", "operator_triggered", "asset_triggered"])
def test_an_explicit_dry_run_is_always_honoured(kind):
    """dry_run: true previews whoever started the run: the form, the REST API, another DAG, the schedule."""
    assert dry_run(kind, {"dry_run": True}, default=True) is True
    assert dry_run(kind, {"dry_run": False}, default=True) is False


def test_without_dry_run_only_the_schedule_purges_and_only_once_the_deployment_enabled_it(monkeypatch):
    """Runs the schedule made purge once the deployment set GOVERNANCE_SCHEDULED_DELETES=enabled; any other run
    without dry_run takes the form's default, a preview."""
    monkeypatch.setenv("GOVERNANCE_SCHEDULED_DELETES", "enabled")
    assert dry_run("scheduled", {}, default=True) is False
    assert dry_run("backfill", {}, default=True) is False
    for kind in ("manual", "operator_triggered", "asset_triggered"):
        assert dry_run(kind, {}, default=True) is True


@pytest.mark.parametrize("setting", [None, "disabled"])
def test_unpausing_a_deployment_that_has_not_enabled_deletes_starts_a_preview(monkeypatch, setting):
    """The Trigger form sends its defaults (dry_run: true) and ticks "Unpause on trigger", whose unpause starts a
    scheduled run with an empty configuration: until the deployment says it is ready, that run previews too."""
    if setting is None:
        monkeypatch.delenv("GOVERNANCE_SCHEDULED_DELETES", raising=False)
    else:
        monkeypatch.setenv("GOVERNANCE_SCHEDULED_DELETES", setting)
    assert dry_run("manual", {"dry_run": True}, default=True) is True  # the form's own run
    assert dry_run("scheduled", {}, default=True) is True  # the run the unpause started
    assert dry_run("backfill", {}, default=True) is True


def test_a_misspelt_deployment_switch_is_refused(monkeypatch):
    monkeypatch.setenv("GOVERNANCE_SCHEDULED_DELETES", "enabeld")
    with pytest.raises(InvalidRunParameters, match="must be 'enabled' or 'disabled'"):
        dry_run("scheduled", {}, default=True)


def test_a_dry_run_that_is_not_a_boolean_is_refused():
    """"false" as a string is not silently read as true."""
    with pytest.raises(InvalidRunParameters, match=r"dry_run: 'false' must be true or false"):
        dry_run("manual", {"dry_run": "false"}, default=True)
