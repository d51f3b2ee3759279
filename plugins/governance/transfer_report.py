"""The cross-border transfer inventory of a period: the register, per recipient and destination,
with the period's volumes, the change against the previous period, and the findings.

The document holds counts and register data only. It depends on nothing but the period, the
captured aggregates and the two policy files (no run id, no clock), so the same period on the
same data gives byte-identical JSON and CSV. Its fields are documented in
docs/transfer-report-fields.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import TYPE_CHECKING, Any

from governance.policy_files import Loaded
from governance.register import (
    MECHANISM_NAMES,
    UNKNOWN_COUNTRY,
    Destination,
    Jurisdictions,
    Recipient,
    TransferRegister,
    country_name,
)
from governance.transfers import (
    SKETCH_PRECISION,
    SKETCH_STANDARD_ERROR,
    Coverage,
    Period,
    Volume,
    coverage,
    transfer_days,
    volumes,
)

if TYPE_CHECKING:
    import psycopg

WORKFLOW = "cross_border_transfer_report"
REPORT_TYPE = "transfer_inventory"
SCHEMA_VERSION = 1
SEVERITIES = ("critical", "high", "medium", "low")
STALE_MONTHS = 3

CSV_FIELDS = (
    "period_start", "period_end", "recipient_code", "recipient_name", "registered", "category", "role", "country",
    "country_name", "access", "sub_processor", "gdpr_mechanism", "scc_module", "gdpr_reference", "gdpr_date",
    "art49_derogation", "gdpr_adequate", "tia_reference", "tia_date", "ru_adequate", "ru_adequacy_basis",
    "ru_assessment_date", "rkn_notification_number", "rkn_notification_date", "ru_lawful_from", "data_subjects",
    "data_categories", "special_categories", "records", "subjects", "previous_records", "previous_subjects",
    "records_change", "review_date", "review_owner", "findings",
)


@dataclass(frozen=True)
class RussianCalendar:
    """How 152-FZ counts working days: the holidays and time zone of subject_rights.yaml's fz152."""

    holidays: frozenset[date]
    zone: tzinfo


def lawful_from(recipient: Recipient, destination: Destination, jurisdictions: Jurisdictions,
                calendar: RussianCalendar) -> date | None:
    """The first day a transfer to this destination is lawful under 152-FZ art. 12: the filing day of
    the notification for an adequate country, the day after `transfer_wait` working days for any other
    (or the register's `lawful_from`); None without a notification."""
    from governance.dsr import Duration

    if destination.lawful_from:
        return destination.lawful_from
    notification = recipient.ru_152fz.notification
    if notification is None:
        return None
    if jurisdictions.ru_adequate(destination.country):
        return notification.date
    wait = Duration(working_days=jurisdictions.ru_152fz.transfer_wait.working_days)
    filed = datetime.combine(notification.date, time(12), tzinfo=calendar.zone)
    return wait.after(filed, calendar.holidays, calendar.zone).astimezone(calendar.zone).date()


def _ru_basis(country: str, home: str, jurisdictions: Jurisdictions) -> str:
    if country == home:
        return "domestic"
    if country in jurisdictions.ru_152fz.convention_108:
        return "Convention 108 party"
    if country in jurisdictions.ru_152fz.roskomnadzor_list:
        return "on Roskomnadzor's list"
    return "not adequate"


def _change(current: int, previous: int) -> dict[str, Any]:
    return {"difference": current - previous,
            "percent": round(100 * (current - previous) / previous, 1) if previous else None}


def _volume(found: Volume | None, before: Volume | None) -> dict[str, Any]:
    records, subjects = (found.records, found.subjects) if found else (0, 0)
    previous_records, previous_subjects = (before.records, before.subjects) if before else (0, 0)
    return {"records": records, "subjects": subjects, "previous_records": previous_records,
            "previous_subjects": previous_subjects, "change": _change(records, previous_records)}


class _Findings:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, kind: str, severity: str, *, recipient: str, country: str | None, title: str, detail: str,
            action: str) -> str:
        finding_id = f"{kind}:{recipient}" + (f":{country}" if country else "")
        self.items.append({"id": finding_id, "kind": kind, "severity": severity, "recipient": recipient,
                           "country": country, "title": title, "detail": detail, "action": action})
        return finding_id

    def sorted(self) -> list[dict[str, Any]]:
        return sorted(self.items, key=lambda f: (SEVERITIES.index(f["severity"]), f["id"]))


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


def build_document(conn: psycopg.Connection, *, register: TransferRegister, register_sha256: str,
                   jurisdictions: Jurisdictions, jurisdictions_sha256: str, calendar: RussianCalendar,
                   period: Period) -> dict[str, Any]:
    """The inventory of `period`, from the captured aggregates (never from the application tables)."""
    previous = period.previous()
    now, before = volumes(conn, period), volumes(conn, previous)
    covered, covered_before = coverage(conn, period), coverage(conn, previous)
    stale_since = _months_before(period.end, STALE_MONTHS)
    seen_days = transfer_days(conn, stale_since, period.end)
    home = register.controller.country
    findings = _Findings()
    recipients = []
    for recipient in register.recipients:
        destinations = []
        for destination in recipient.destinations:
            destinations.append(_destination(recipient, destination, now, before, home, jurisdictions, calendar,
                                             findings))
        if recipient.review.date < period.end:
            findings.add("review_overdue", "medium", recipient=recipient.code, country=None,
                         title=f"{recipient.name}: review overdue",
                         detail=f"The register entry was due for review on {recipient.review.date} "
                                f"(owner: {recipient.review.owner}).",
                         action="Review the entry (mechanism, countries, sub-processors, TIA) and set the next "
                                "review date.")
        measured = bool(recipient.shows_up_in)
        last_seen = max((last for (code, _), (_, last) in seen_days.items() if code == recipient.code), default=None)
        if measured and (last_seen is None or last_seen < stale_since):
            findings.add("stale_entry", "low", recipient=recipient.code, country=None,
                         title=f"{recipient.name}: no transfers for {STALE_MONTHS} months",
                         detail=f"No transfer was captured from {stale_since} to {period.end}; the entry may be "
                                "stale.",
                         action="Confirm the recipient is still used; if not, end the contract and remove the entry "
                                "(and withdraw its Roskomnadzor notification).")
        without_basis = now.get(("recipient", recipient.code, "", ""))
        if without_basis and without_basis.records_without_basis:
            findings.add("missing_legal_basis", "high", recipient=recipient.code, country=None,
                         title=f"{recipient.name}: disclosures with no recorded legal basis",
                         detail=f"{without_basis.records_without_basis} records in the period have no legal basis.",
                         action="Record the legal basis of each disclosure (the request and the law it cites); "
                                "escalate to the DPO.")
        recipients.append(_recipient(recipient, destinations, now, before, measured))
    unregistered = _unregistered(now, before, register.codes(), findings)
    total, total_before = now.get(("total", "", "", "")), before.get(("total", "", "", ""))
    by_country = _by_country(now, before)
    document = {
        "report": "cross_border_transfer_report",
        "schema_version": SCHEMA_VERSION,
        "period": _period(period),
        "previous_period": _period(previous),
        "register": {"file": "include/policy/transfers.yaml", "sha256": register_sha256,
                     "title": register.document.title, "effective": register.document.effective},
        "jurisdictions": {"file": "include/policy/jurisdictions.yaml", "sha256": jurisdictions_sha256,
                          "as_of": jurisdictions.as_of, "gdpr_adequacy_source": jurisdictions.gdpr.source,
                          "transfer_wait_working_days": jurisdictions.ru_152fz.transfer_wait.working_days},
        "controller": register.controller.model_dump(mode="json"),
        "coverage": _coverage(covered),
        "previous_coverage": _coverage(covered_before),
        "subjects_method": {
            "method": "HyperLogLog", "precision": SKETCH_PRECISION,
            "relative_standard_error": round(SKETCH_STANDARD_ERROR, 4),
            "note": "Distinct data subjects are estimated from daily sketches that hold no ids; small counts "
                    "are exact in practice, larger ones within about 0.8 % (one standard error).",
        },
        "totals": {**_volume(total, total_before),
                   "recipients": sum(1 for r in recipients if r["volume"]["records"]) + len(unregistered),
                   "countries": sorted(row["country"] for row in by_country
                                       if row["records"] and row["country"] != UNKNOWN_COUNTRY)},
        "by_country": by_country,
        "by_recipient_category": _by_category(register, recipients, unregistered),
        "recipients": recipients,
        "unregistered": unregistered,
        "findings": findings.sorted(),
    }
    document["empty"] = not document["totals"]["records"]
    document["summary"] = summary_sentences(document)
    return document


def _period(period: Period) -> dict[str, Any]:
    return {"start": period.start, "end_exclusive": period.end, "label": period.label, "days": period.days}


def _coverage(found: Coverage) -> dict[str, Any]:
    return {"days": found.days, "captured": found.captured, "backfilled": found.backfilled,
            "missing_days": list(found.missing), "sentence": found.sentence()}


def _destination(recipient: Recipient, destination: Destination, now: dict, before: dict, home: str,
                 jurisdictions: Jurisdictions, calendar: RussianCalendar, findings: _Findings) -> dict[str, Any]:
    country, code = destination.country, recipient.code
    key = ("recipient_country", code, country, "")
    tool = destination.gdpr
    foreign = country != home
    gdpr_adequate = jurisdictions.gdpr_adequate(country)
    ids = []
    if tool is None:
        ids.append(findings.add(
            "missing_mechanism", "high", recipient=code, country=country,
            title=f"{recipient.name}: no transfer tool for {country_name(country)}",
            detail=f"The register lists {country} as a destination with no GDPR Chapter V tool.",
            action=f"Put SCCs (Decision 2021/914, the right module) or BCRs in place for {country}, or stop the "
                   "transfers there."))
    elif foreign and not gdpr_adequate and tool.mechanism not in ("sccs", "bcrs"):
        ids.append(findings.add(
            "no_sccs_or_bcrs", "medium" if tool.mechanism == "art49_derogation" else "high",
            recipient=code, country=country,
            title=f"{recipient.name}: {country_name(country)} has no adequacy decision, and neither SCCs nor BCRs",
            detail=f"The register relies on {MECHANISM_NAMES[tool.mechanism]} for {country}, which no adequacy "
                   "decision covers.",
            action="Art. 49 derogations cover occasional, necessary transfers only: document the necessity of each "
                   "one, or sign SCCs or BCRs." if tool.mechanism == "art49_derogation" else
                   "Correct the register's tool for this country, or sign SCCs or BCRs."))
    lawful = lawful_from(recipient, destination, jurisdictions, calendar) if foreign else None
    found = now.get(key)
    if foreign and found and (lawful is None or found.first_day < lawful):
        ids.append(findings.add(
            "before_lawful_date", "critical", recipient=code, country=country,
            title=f"{recipient.name}: transfers to {country_name(country)} before they were lawful under 152-FZ",
            detail=(f"Transfers were captured from {found.first_day}; the earliest lawful date is {lawful}."
                    if lawful else f"Transfers were captured from {found.first_day}, with no Roskomnadzor "
                                   "notification on record."),
            action="Stop transfers there until the notification has been filed and its waiting period has "
                   "passed; record the notification in the register."))
    notification = recipient.ru_152fz.notification
    return {
        "country": country, "country_name": country_name(country), "access": list(destination.access),
        "sub_processor": destination.sub_processor,
        "gdpr": {**(tool.model_dump(mode="json") if tool else {"mechanism": None}),
                 "mechanism_name": MECHANISM_NAMES[tool.mechanism] if tool else "none on record",
                 "adequate": gdpr_adequate,
                 "adequacy_decision": jurisdictions.gdpr.adequacy.get(country)},
        "ru_152fz": {"adequate": country == home or jurisdictions.ru_adequate(country),
                     "basis": _ru_basis(country, home, jurisdictions),
                     "notification_number": notification.number if notification and foreign else None,
                     "notification_date": notification.date if notification and foreign else None,
                     "lawful_from": lawful},
        "volume": _volume(now.get(key), before.get(key)),
        "findings": ids,
    }


def _recipient(recipient: Recipient, destinations: list[dict], now: dict, before: dict,
               measured: bool) -> dict[str, Any]:
    key = ("recipient", recipient.code, "", "")
    return {
        "code": recipient.code, "name": recipient.name, "address": recipient.address,
        "category": recipient.category, "role": recipient.role, "purpose": recipient.purpose,
        "data_subjects": list(recipient.data_subjects), "data_categories": list(recipient.data_categories),
        "special_categories": list(recipient.special_categories),
        "has_special_categories": bool(recipient.special_categories),
        "transfers_since": recipient.transfers_since,
        "tia": recipient.tia.model_dump(mode="json") if recipient.tia else None,
        "ru_152fz_assessment_date": recipient.ru_152fz.assessment_date,
        "review": {"date": recipient.review.date, "owner": recipient.review.owner},
        "measured": measured,
        "volume": _volume(now.get(key), before.get(key)),
        "by_data_category": {category: now[("recipient_category", recipient.code, "", category)].records
                             for category in recipient.data_categories
                             if ("recipient_category", recipient.code, "", category) in now},
        "destinations": destinations,
    }


def _unregistered(now: dict, before: dict, registered: set[str], findings: _Findings) -> list[dict[str, Any]]:
    found = []
    for (grain, name, _, _), volume in sorted(now.items()):
        # Not in the register when captured, or no longer in it: either way, no entry covers it.
        if grain != "recipient" or (volume.registered and name in registered):
            continue
        countries = sorted(k for (g, n, k, _) in now if g == "recipient_country" and n == name)
        finding = findings.add(
            "unregistered_transfer", "critical", recipient=name, country=None,
            title=f"Unregistered recipient {name!r}",
            detail=f"{volume.records} records went to a recipient the register does not list "
                   f"(destination {', '.join(c if c != UNKNOWN_COUNTRY else 'unknown' for c in countries)}).",
            action="Stop sending data to it, or add it to the register with its transfer tool, TIA and "
                   "Roskomnadzor notification before the next transfer.")
        found.append({"recipient": name, "countries": countries, "findings": [finding],
                      "volume": _volume(volume, before.get(("recipient", name, "", "")))})
    return found


def _by_country(now: dict, before: dict) -> list[dict[str, Any]]:
    rows = [{"country": place, "country_name": country_name(place) if place != UNKNOWN_COUNTRY else "unknown",
             **_volume(volume, before.get(("country", "", place, "")))}
            for (grain, _, place, _), volume in now.items() if grain == "country"]
    return sorted(rows, key=lambda row: (-row["records"], row["country"]))


def _by_category(register: TransferRegister, recipients: list[dict], unregistered: list[dict]) -> list[dict]:
    totals: dict[str, int] = {}
    for recipient in recipients:
        totals[recipient["category"]] = totals.get(recipient["category"], 0) + recipient["volume"]["records"]
    if unregistered:
        totals["unregistered"] = sum(u["volume"]["records"] for u in unregistered)
    return [{"category": category, "records": records} for category, records in
            sorted(totals.items(), key=lambda item: (-item[1], item[0]))]


def summary_sentences(document: dict[str, Any]) -> str:
    """Two or three sentences for someone who is not an engineer."""
    period, totals = document["period"], document["totals"]
    when = (datetime.combine(period["start"], time.min, tzinfo=UTC).strftime("%B %Y") if len(period["label"]) == 7
            else f"{period['start']} to {period['end_exclusive']} (exclusive)")
    coverage_sentence = document["coverage"]["sentence"] + "."
    counts = {s: sum(1 for f in document["findings"] if f["severity"] == s) for s in SEVERITIES}
    findings = ("No findings." if not document["findings"] else
                f"{len(document['findings'])} findings: " +
                ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ".")
    if not totals["records"]:
        return f"No transfers were recorded in {when}. {coverage_sentence} {findings}"
    abroad = [c for c in totals["countries"] if c != document["controller"]["country"]]
    unknown = sum(u["volume"]["records"] for u in document["unregistered"] if UNKNOWN_COUNTRY in u["countries"])
    where = f"{len(totals['countries'])} countries, {len(abroad)} of them outside " \
            f"{country_name(document['controller']['country'])}"
    if unknown:
        where += f" ({unknown:,} records to recipients the register lacks, destination unknown)"
    return (f"In {when}, {totals['records']:,} records about {totals['subjects']:,} people (estimated) went to "
            f"{totals['recipients']} recipients in {where}. {coverage_sentence} {findings}")


def csv_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per recipient and destination country, registered or seen in the data (CSV_FIELDS)."""
    period = document["period"]
    base = {"period_start": period["start"], "period_end": period["end_exclusive"]}
    rows = []
    for recipient in document["recipients"]:
        for destination in recipient["destinations"]:
            gdpr, ru, volume = destination["gdpr"], destination["ru_152fz"], destination["volume"]
            rows.append({
                **base, "recipient_code": recipient["code"], "recipient_name": recipient["name"], "registered": True,
                "category": recipient["category"], "role": recipient["role"], "country": destination["country"],
                "country_name": destination["country_name"], "access": ";".join(destination["access"]),
                "sub_processor": destination["sub_processor"], "gdpr_mechanism": gdpr["mechanism"],
                "scc_module": gdpr.get("module"), "gdpr_reference": gdpr.get("reference"),
                "gdpr_date": gdpr.get("date"), "art49_derogation": gdpr.get("derogation"),
                "gdpr_adequate": gdpr["adequate"],
                "tia_reference": (recipient["tia"] or {}).get("reference"),
                "tia_date": (recipient["tia"] or {}).get("date"),
                "ru_adequate": ru["adequate"], "ru_adequacy_basis": ru["basis"],
                "ru_assessment_date": recipient["ru_152fz_assessment_date"],
                "rkn_notification_number": ru["notification_number"],
                "rkn_notification_date": ru["notification_date"], "ru_lawful_from": ru["lawful_from"],
                "data_subjects": ";".join(recipient["data_subjects"]),
                "data_categories": ";".join(recipient["data_categories"]),
                "special_categories": ";".join(recipient["special_categories"]),
                "records": volume["records"], "subjects": volume["subjects"],
                "previous_records": volume["previous_records"], "previous_subjects": volume["previous_subjects"],
                "records_change": volume["change"]["difference"],
                "review_date": recipient["review"]["date"], "review_owner": recipient["review"]["owner"],
                "findings": ";".join(destination["findings"]),
            })
    for unregistered in document["unregistered"]:
        for country in unregistered["countries"]:
            volume = unregistered["volume"]
            rows.append({**base, "recipient_code": unregistered["recipient"], "registered": False, "country": country,
                         "records": volume["records"], "subjects": volume["subjects"],
                         "previous_records": volume["previous_records"],
                         "previous_subjects": volume["previous_subjects"],
                         "records_change": volume["change"]["difference"],
                         "findings": ";".join(unregistered["findings"])})
    return rows


def publish_inventory(conn: psycopg.Connection, s3: Any, *, register: Loaded[TransferRegister],
                      jurisdictions: Loaded[Jurisdictions], calendar: RussianCalendar, period: Period,
                      run_id: str) -> tuple[dict[str, Any], list[str]]:
    """Build the period's inventory and publish it under WORKFLOW/<period label>/ as JSON, CSV, HTML and
    PDF, indexed; returns the document and the object keys. A rerun of the same period on the same data
    writes the same JSON and CSV bytes (and adds no index row for them)."""
    from governance.reports import publish_document

    document = build_document(conn, register=register.model, register_sha256=register.sha256,
                              jurisdictions=jurisdictions.model, jurisdictions_sha256=jurisdictions.sha256,
                              calendar=calendar, period=period)
    start, end = period.bounds()
    keys = publish_document(conn, s3, workflow=WORKFLOW, run_id=run_id, report_type=REPORT_TYPE,
                            prefix=f"{WORKFLOW}/{period.label}", document=document,
                            template="transfer_report.html.j2", summary=summary_of(document),
                            period_start=start, period_end=end, csv_table=(CSV_FIELDS, csv_rows(document)),
                            pdf=True)
    return document, keys


def summary_of(document: dict[str, Any]) -> dict[str, Any]:
    """What the report index and the task's return value keep: counts only."""
    return {"period": document["period"]["label"], "records": document["totals"]["records"],
            "subjects": document["totals"]["subjects"], "coverage": document["coverage"]["sentence"],
            "findings": {s: sum(1 for f in document["findings"] if f["severity"] == s) for s in SEVERITIES}}
