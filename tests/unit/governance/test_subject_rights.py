"""subject_rights.yaml: deadlines per law, and what the file refuses."""

from datetime import UTC, date, datetime

import pytest
import yaml

from governance.dsr import Duration, load_subject_rights_policy
from governance.policy_files import PolicyError

RIGHTS = load_subject_rights_policy().model


def test_working_days_skip_weekends_and_holidays_and_end_at_midnight_after_the_last():
    """Received on a Friday: the 10th working day after it is the second Friday after; with a holiday on the
    Monday between, the Monday after that. The deadline is the end of that day."""
    friday = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
    ten = Duration(working_days=10)
    assert ten.after(friday, frozenset()) == datetime(2026, 3, 21, tzinfo=UTC)
    assert ten.after(friday, frozenset({date(2026, 3, 9)})) == datetime(2026, 3, 24, tzinfo=UTC)
    # An extension of 5 counts on from the last day, not the day after it.
    assert Duration(working_days=5).extend(datetime(2026, 3, 21, tzinfo=UTC), frozenset()) == datetime(
        2026, 3, 28, tzinfo=UTC)


def test_a_152fz_deadline_ends_at_midnight_in_moscow():
    """Working days are Moscow's: a request received at 22:30 UTC on a Friday is received on Saturday there."""
    fz152 = RIGHTS.jurisdictions["fz152"]
    friday_late = datetime(2026, 3, 13, 22, 30, tzinfo=UTC)  # Saturday 01:30 in Moscow
    assert fz152.due(friday_late) == datetime(2026, 3, 27, 21, 0, tzinfo=UTC)  # end of Friday 27 March, Moscow


def test_calendar_months_and_days():
    assert Duration(months=1).after(datetime(2026, 1, 31, 9, tzinfo=UTC), frozenset()) == datetime(
        2026, 2, 28, 9, tzinfo=UTC)
    assert Duration(days=45).after(datetime(2026, 1, 1, tzinfo=UTC), frozenset()) == datetime(2026, 2, 15, tzinfo=UTC)


def test_the_law_follows_the_accounts_country_with_the_default_for_the_rest():
    assert RIGHTS.jurisdiction_of("NO") == "gdpr"  # quoted in the file: YAML reads a bare NO as false
    assert RIGHTS.jurisdiction_of("us") == "ccpa"
    assert RIGHTS.jurisdiction_of("RU") == "fz152"
    assert RIGHTS.jurisdiction_of("BR") == RIGHTS.default_jurisdiction
    assert RIGHTS.jurisdiction_of(None) == RIGHTS.default_jurisdiction


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["jurisdictions"]["ccpa"]["countries"].append("DE"), "country DE is in both"),
    (lambda d: d.update(default_jurisdiction="mars"), "default_jurisdiction 'mars' is not one of"),
    (lambda d: d["jurisdictions"]["gdpr"].update(respond_within={"months": 1, "days": 2}),
     "give exactly one of months, days and working_days"),
    (lambda d: d["export"].update(link_expires_after_days=8), "less than or equal to 7"),
])
def test_a_bad_file_is_refused_naming_the_key(tmp_path, change, message):
    from governance import settings

    data = yaml.safe_load((settings.policy_dir() / "subject_rights.yaml").read_text())
    change(data)
    path = tmp_path / "subject_rights.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyError, match=message):
        load_subject_rights_policy(path)
