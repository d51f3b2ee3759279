"""Policy files: the shipped ones validate, and a bad file fails with file, key path, rule and reason."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from governance.policy import ACTION_MEANINGS, Period, load_retention_policy
from governance.policy_files import PolicyError
from governance.register import load_transfer_register
from governance.settings import policy_dir

RETENTION = policy_dir() / "retention.yaml"
TRANSFERS = policy_dir() / "transfers.yaml"


def write_variant(tmp_path: Path, source: Path, change) -> Path:
    """A copy of a shipped policy file with one change applied to its parsed YAML."""
    data = yaml.safe_load(source.read_text())
    change(data)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_shipped_retention_policy_restates_section_5():
    """Every retention period of the policy's section 5 is a rule with that period."""
    policy = load_retention_policy().model
    assert str(policy.rule("deleted_accounts").period) == "P30D"
    # Moderation logs: standard ones deleted at 90 days, never archived; critical ones archived at 90 days and
    # kept there 7 years under COMPLIANCE lock; critical ones already older than 7 years deleted.
    standard, critical = policy.rule("moderation_logs_standard"), policy.rule("moderation_logs_critical")
    assert (standard.action, str(standard.period), standard.where.equals) == ("delete", "P90D", "standard")
    assert (critical.action, str(critical.period), critical.where.equals) == ("archive_then_delete", "P90D", "critical")
    assert (critical.archive.object_lock, str(critical.archive.retain_for)) == ("compliance", "P7Y")
    assert "user_id" not in critical.archive.columns
    expired = policy.rule("moderation_logs_critical_expired")
    assert (expired.action, str(expired.period), expired.where.equals) == ("delete", "P7Y", "critical")
    assert policy.rule("payments").period_by.column == "billing_country"
    assert policy.rule("prohibited_content").action == "delete_media"
    assert {rule.workflow for rule in policy.rules} == {"retention_purge", "moderation_log_archival"}


def test_shipped_register_covers_every_recipient_category_of_section_8():
    """The register lists AI model providers, payment processors, cloud providers and authorities."""
    register = load_transfer_register().model
    categories = {recipient.category for recipient in register.recipients}
    assert categories == {"ai_model_provider", "payment_processor", "cloud_provider", "law_enforcement"}


def test_policy_version_is_the_file_sha256(tmp_path):
    """The ledger records a policy version that changes whenever the file's bytes change."""
    first = load_retention_policy()
    copy = tmp_path / "retention.yaml"
    copy.write_text(RETENTION.read_text() + "\n# edited\n")
    assert load_retention_policy(copy).sha256 != first.sha256
    assert len(first.sha256) == 64


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["rules"][0].update(period="P-3D"),
         "rules[0] (deleted_accounts).period: 'P-3D' is not a non-negative ISO 8601"),
        (lambda d: d["rules"][0].update(period="30 days"), "rules[0] (deleted_accounts).period: '30 days' is not"),
        (lambda d: d["rules"][1].update(colour="red"),
         "rules[1] (deleted_generations).colour: Extra inputs are not permitted"),
        (lambda d: d["rules"][2].update(table="Uploads; DROP TABLE x"),
         "rules[2] (deleted_uploads).table: String should match"),
        (lambda d: d["rules"][0].update(category="secrets"), "rules[0] (deleted_accounts).category: Input should be"),
        (lambda d: d["rules"][3].update(flagged_by=None),
         "rules[3] (prohibited_content): action 'delete_media' needs flagged_by"),
        (lambda d: d["rules"][4].update(period="P1Y"), "exactly one of period and period_by"),
        (lambda d: d["rules"][4]["period_by"]["periods"].update(de="P1Y"), "rules[4] (payments).period_by.periods.de"),
        (lambda d: d["rules"][5].update(period="P99999Y"),
         "rules[5] (sessions).period: 'P99999Y' is longer than P100Y"),
        (lambda d: d["rules"][4]["period_by"]["periods"].update(RU="P101Y"), "periods.RU: 'P101Y' is longer than"),
        (lambda d: d["rules"][5].pop("subject_column"), "rules[5] (sessions): subject_column is required"),
        (lambda d: d["rules"][5].update(personal_data=False), "personal_data: false contradicts subject_column"),
        (lambda d: d["rules"][1].update(name="deleted_accounts"), "rule name 'deleted_accounts' is used twice"),
        (lambda d: d.pop("subject"), "subject: Field required"),
        (lambda d: d["defaults"].update(batch_size=0), "defaults.batch_size: Input should be greater than"),
        (lambda d: d["rules"][-1]["archive"]["columns"].remove("created_at"),
         "rules[9] (moderation_logs_critical): archive.columns must include the rule's key and clock (missing: "
         "created_at)"),
    ],
)
def test_bad_retention_file_names_file_key_and_reason(tmp_path, change, expected):
    """A bad retention file raises PolicyError whose message names the file, the key path and why."""
    path = write_variant(tmp_path, RETENTION, change)
    with pytest.raises(PolicyError) as caught:
        load_retention_policy(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # An unknown mechanism, an unknown ISO country code, SCCs without a module or a date, a 152-FZ
        # notification later than the first transfer: each names the entry and the field.
        (lambda d: d["recipients"][0]["destinations"][0]["gdpr"].update(mechanism="handshake"),
         "recipients[0] (openai).destinations[0].gdpr.mechanism"),
        (lambda d: d["recipients"][0]["destinations"][0].update(country="XY"),
         "recipients[0] (openai).destinations[0].country: 'XY' is not an ISO 3166-1 alpha-2 country code"),
        (lambda d: d["recipients"][0]["destinations"][0].update(country="usa"),
         "recipients[0] (openai).destinations[0].country"),
        (lambda d: d["recipients"][0]["destinations"][0]["gdpr"].pop("module"),
         "recipients[0] (openai).destinations[0].gdpr: sccs needs module"),
        (lambda d: d["recipients"][0]["destinations"][0]["gdpr"].pop("date"),
         "recipients[0] (openai).destinations[0].gdpr: sccs needs date"),
        (lambda d: d["recipients"][0]["destinations"][0]["gdpr"].update(module=5),
         "recipients[0] (openai).destinations[0].gdpr.module"),
        (lambda d: d["recipients"][0]["ru_152fz"]["notification"].update(date="2024-04-02"),
         "recipients[0] (openai): ru_152fz.notification.date: 2024-04-02 is later than the first transfer"),
        (lambda d: d["recipients"][0].update(transfers_since="2024-03-01"),
         "recipients[0] (openai): ru_152fz.notification.date: 2024-03-12 is later than the first transfer"),
        (lambda d: d["recipients"][1].update(code="openai"), "recipient code used twice: openai"),
        (lambda d: d["recipients"][0].update(category="friends"), "recipients[0] (openai).category"),
        (lambda d: d["recipients"][0]["shows_up_in"][0].update(column="Model-Provider"), "shows_up_in[0].column"),
        (lambda d: d["recipients"][0]["shows_up_in"][0].update(data_categories=["payment_data"]),
         "shows_up_in[0].data_categories: payment_data not in the recipient's data_categories"),
        (lambda d: d["recipients"][11]["destinations"].append({"country": "DE", "access": ["access"]}),
         "recipients 'foreign_authorities' and 'ru_authorities' both claim disclosures.country = DE"),
        (lambda d: d["recipients"][0]["destinations"].append(d["recipients"][0]["destinations"][0]),
         "destinations: a country is listed twice"),
    ],
)
def test_bad_register_names_file_key_and_reason(tmp_path, change, expected):
    """A bad recipient register raises PolicyError naming the key path and the reason."""
    path = write_variant(tmp_path, TRANSFERS, change)
    with pytest.raises(PolicyError, match=f"^{path}: ") as caught:
        load_transfer_register(path)
    assert expected in str(caught.value)


def test_invalid_yaml_names_the_line(tmp_path):
    """A YAML syntax error is reported with its line, not as a bare traceback."""
    path = tmp_path / "retention.yaml"
    path.write_text("version: 1\nrules: [\n  {name: x\n")
    with pytest.raises(PolicyError, match=r"line \d+, column \d+: invalid YAML"):
        load_retention_policy(path)


def test_duplicate_key_is_refused(tmp_path):
    """A key given twice is an error, not a silent override of the first value."""
    path = tmp_path / "retention.yaml"
    path.write_text(RETENTION.read_text().replace("version: 1\n", "version: 1\nversion: 1\n", 1))
    with pytest.raises(PolicyError, match="duplicate key 'version'"):
        load_retention_policy(path)


def test_missing_file_and_non_mapping_are_clear_errors(tmp_path):
    """A missing file or a file that is not a mapping gives a PolicyError, not a crash."""
    with pytest.raises(PolicyError, match="cannot read"):
        load_retention_policy(tmp_path / "absent.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_retention_policy(listing)


@pytest.mark.parametrize(
    ("text", "moment", "expected"),
    [
        ("P30D", datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        ("P1M", datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),
        ("P13M", datetime(2026, 11, 25, 2, tzinfo=UTC), datetime(2025, 10, 25, 2, tzinfo=UTC)),
        ("P7Y", datetime(2028, 2, 29, tzinfo=UTC), datetime(2021, 2, 28, tzinfo=UTC)),
        ("P0D", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        ("P1Y6M", datetime(2026, 7, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_period_counts_back_in_calendar_units(text, moment, expected):
    """Periods are calendar periods: 13 months is not 395 days, and leap days clamp."""
    assert Period.parse(text).before(moment) == expected


@pytest.mark.parametrize("text", ["P", "", "30D", "P-1D", "PT5H", "P1.5Y", "p30d"])
def test_unparseable_periods_are_refused(text):
    """Only non-negative Y/M/D periods are accepted."""
    with pytest.raises(ValueError, match="ISO 8601"):
        Period.parse(text)


def test_a_rule_without_a_subject_column_may_only_say_it_holds_no_personal_data(tmp_path):
    """A rule whose rows cannot be traced to a person could not honour legal holds, so it is refused;
    only a table declared free of personal data may go without one."""
    def no_subject(data):
        data["rules"][5].pop("subject_column")
        data["rules"][5]["personal_data"] = False

    policy = load_retention_policy(write_variant(tmp_path, RETENTION, no_subject)).model
    assert policy.rule("sessions").subject_column is None


def test_period_bound_is_inclusive():
    """P100Y is the longest period a rule may have; its cutoff is still a real date."""
    assert Period.parse("P100Y").before(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(1926, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="longer than P100Y"):
        Period.parse("P1200M1D")


def test_a_destination_without_a_transfer_tool_is_a_finding_not_an_error(tmp_path):
    """A register may list a destination whose tool is still missing: the report flags it (not the loader)."""
    path = write_variant(tmp_path, TRANSFERS, lambda d: d["recipients"][0]["destinations"][0].pop("gdpr"))
    assert load_transfer_register(path).model.recipients[0].destinations[0].gdpr is None


def test_shipped_adequacy_lists_are_iso_codes():
    """jurisdictions.yaml loads (every code is ISO 3166-1), and the lists say what the report relies on."""
    from governance.register import load_jurisdictions

    lists = load_jurisdictions().model
    assert lists.gdpr_adequate("DE")
    assert lists.gdpr_adequate("GB")
    assert not lists.gdpr_adequate("CN")
    assert lists.ru_adequate("GB")
    assert lists.ru_adequate("KZ")
    assert not lists.ru_adequate("US")


@pytest.mark.parametrize(("text", "words"), [("P30D", "30 days"), ("P1D", "1 day"), ("P13M", "13 months"),
                                             ("P1Y6M", "1 year and 6 months"), ("P0D", "0 days")])
def test_a_period_in_words(text, words):
    assert Period.parse(text).words() == words


def test_each_rule_states_its_period_as_the_policy_does():
    """Reports say each rule's period in the policy's words, from the period and the moment its clock starts, so
    the words cannot drift from the configured period."""
    policy = load_retention_policy().model
    words = {rule.name: rule.period_words() for rule in policy.rules}
    assert words["deleted_accounts"] == "30 days after the account is deleted"
    assert words["deleted_generations"] == "at the first nightly run after the user deletes the generation"
    assert words["sessions"] == "13 months after the sign-in"
    assert words["payments"] == ("5 years (KZ, RU), 6 years (GB), 7 years (NL, US) or 10 years (DE, FR, any other) "
                                 "after the payment, by billing country")
    assert words["moderation_logs_critical"] == ("90 days after the moderation event, then in the write-once archive "
                                                 "until 7 years after the moderation event")
    assert set(ACTION_MEANINGS) == {rule.action for rule in policy.rules}


def test_a_rule_without_clock_words_names_its_clock_column(tmp_path):
    """clock_starts is optional: without it the period is said against the column that starts the clock."""
    document = yaml.safe_load(RETENTION.read_text())
    rule = next(rule for rule in document["rules"] if rule["name"] == "sessions")
    del rule["clock_starts"]
    path = tmp_path / "retention.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load_retention_policy(path).model.rule("sessions").period_words() == (
        "13 months after the time in sessions.created_at")
