"""Data-subject requests (section 6 of the privacy policy): who asked, under which law, by when.

A request is registered once per request id in governance.dsr_requests. The person is found
by user id or by email (the email is then forgotten) and kept only as their pseudonym, the
keyed hash that an erasure leaves on the rows the law keeps: the record outlives an erasure
and must not undo it. The same request id submitted again does the work once: it must name
the same kind and the same person, or it is refused.

Deadlines come from include/policy/subject_rights.yaml: which law applies follows the
account's country; each law says how long the controller has (months, days or working days)
and by how much that may be extended, once. `deadline_flags` finds the open requests that
are near or past their deadline, for the daily check.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from governance import ledger, settings
from governance.db import sql_text
from governance.errors import PermanentError
from governance.policy import CountryCode, Identifier, Loaded, RetentionPolicy, Strict
from governance.policy_files import load_model
from governance.pseudonyms import email_key, pseudonym

if TYPE_CHECKING:
    import psycopg

WORKFLOW_EXPORT = "dsr_export"
WORKFLOW_ERASURE = "dsr_erasure"
WORKFLOW_DEADLINES = "dsr_deadlines"
KINDS = {WORKFLOW_EXPORT: "export", WORKFLOW_ERASURE: "erasure"}

REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# An address with one @, a dot in the domain, and no spaces: enough to refuse a typo, not to prove delivery.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
CHANNELS = ("email", "web_form", "postal_mail", "phone", "in_app")


class InvalidRequest(PermanentError):
    """A request's fields are wrong, or contradict an earlier submission of the same request id."""


class UnknownSubject(PermanentError):
    """No account matches the user id or email of a request; nothing was registered or changed."""


class RequestBusy(PermanentError):
    """Another run is working on the same request; this one stopped before doing anything."""


# -- configuration ---------------------------------------------------------------------------


class Duration(Strict):
    """How long a law gives: calendar months, days, or working days (Monday to Friday, less holidays)."""

    months: int = Field(0, ge=0, le=12)
    days: int = Field(0, ge=0, le=366)
    working_days: int = Field(0, ge=0, le=250)

    @model_validator(mode="after")
    def _one_unit(self) -> Self:
        if sum(1 for value in (self.months, self.days, self.working_days) if value) != 1:
            raise ValueError("give exactly one of months, days and working_days, greater than 0")
        return self

    def after(self, moment: datetime, holidays: frozenset[date], zone: tzinfo = UTC) -> datetime:
        """The deadline this long after `moment`. Working days are days of the law's time zone `zone`,
        counted from the next day; the deadline is the end of the last one (midnight there), in UTC."""
        from dateutil.relativedelta import relativedelta

        if self.months or self.days:
            return moment + relativedelta(months=self.months, days=self.days)
        day, left = moment.astimezone(zone).date(), self.working_days
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in holidays:
                left -= 1
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)

    def extend(self, deadline: datetime, holidays: frozenset[date], zone: tzinfo = UTC) -> datetime:
        """A deadline extended by this much. A deadline in working days is the end of its last day
        (midnight after it): the extension counts on from that day, not from the next."""
        if self.working_days:
            return self.after(deadline - timedelta(microseconds=1), holidays, zone)
        return self.after(deadline, holidays, zone)

    def __str__(self) -> str:
        for unit in ("months", "days", "working_days"):
            value = getattr(self, unit)
            if value:
                name = unit.replace("_", " ")
                return f"{value} {name if value != 1 else name.removesuffix('s')}"
        return "0 days"


class Jurisdiction(Strict):
    law: str = Field(min_length=1)
    respond_within: Duration
    extension: Duration | None = None
    countries: list[CountryCode] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    timezone: str = "UTC"  # where working days and their midnight are counted

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone such as Europe/Moscow") from None
        return name

    @property
    def zone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    def due(self, received_at: datetime) -> datetime:
        return self.respond_within.after(received_at, frozenset(self.holidays), self.zone)

    def extended(self, due_at: datetime) -> datetime:
        return self.extension.extend(due_at, frozenset(self.holidays), self.zone)


class SubjectColumns(Strict):
    email_column: Identifier
    country_column: Identifier


class ExportSettings(Strict):
    bundle_expires_after_days: int = Field(ge=1, le=365)
    link_expires_after_days: int = Field(ge=1, le=7)  # SigV4 presigned URLs last at most 7 days
    prefix: str = Field(pattern=r"^[a-z0-9_-]+(/[a-z0-9_-]+)*$")


class SubjectRightsPolicy(Strict):
    version: Literal[1]
    subject: SubjectColumns
    jurisdictions: dict[Identifier, Jurisdiction] = Field(min_length=1)
    default_jurisdiction: Identifier
    warn_days_before_due: int = Field(ge=0, le=60)
    export: ExportSettings

    @model_validator(mode="after")
    def _known_default_and_countries_once(self) -> Self:
        if self.default_jurisdiction not in self.jurisdictions:
            raise ValueError(f"default_jurisdiction {self.default_jurisdiction!r} is not one of the jurisdictions")
        seen: dict[str, str] = {}
        for name, jurisdiction in self.jurisdictions.items():
            for country in jurisdiction.countries:
                if country in seen:
                    raise ValueError(f"country {country} is in both {seen[country]!r} and {name!r}")
                seen[country] = name
        return self

    def jurisdiction_of(self, country: str | None) -> str:
        for name, jurisdiction in self.jurisdictions.items():
            if country and country.strip().upper() in jurisdiction.countries:
                return name
        return self.default_jurisdiction

    def law(self, jurisdiction: str) -> str:
        """The law's name, also for a request registered under a jurisdiction the file no longer has."""
        chosen = self.jurisdictions.get(jurisdiction)
        return chosen.law if chosen else f"{jurisdiction} (no longer in subject_rights.yaml)"

    def due(self, jurisdiction: str, received_at: datetime) -> datetime:
        return self.jurisdictions[jurisdiction].due(received_at)


def load_subject_rights_policy(path=None) -> Loaded[SubjectRightsPolicy]:
    return load_model(path or settings.policy_dir() / "subject_rights.yaml", SubjectRightsPolicy)


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestForm:
    """A request as the form gives it: the person by user id or email (or both, if they agree)."""

    request_id: str
    kind: str  # export or erasure
    user_id: int | None = None
    email: str | None = None
    channel: str = "email"
    received_at: datetime | None = None  # when the request reached the privacy team; default: the run's date
    jurisdiction: str | None = None  # None: from the account's country

    def check(self, rights: SubjectRightsPolicy) -> None:
        if not isinstance(self.request_id, str) or not REQUEST_ID.fullmatch(self.request_id):
            raise InvalidRequest("request_id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
                                 "digit (for example DSR-2026-0042)")
        if self.user_id is None and not self.email:
            raise InvalidRequest("give the person's user_id or email")
        if self.user_id is not None and (not isinstance(self.user_id, int) or isinstance(self.user_id, bool)
                                         or self.user_id < 1):
            raise InvalidRequest("user_id: a positive whole number expected")
        if self.email is not None and (not isinstance(self.email, str) or not EMAIL.fullmatch(self.email)):
            raise InvalidRequest("email: not a valid email address (expected name@domain.tld)")
        if self.channel not in CHANNELS:
            raise InvalidRequest(f"channel: {self.channel!r} is not one of {', '.join(CHANNELS)}")
        if self.jurisdiction is not None and self.jurisdiction not in rights.jurisdictions:
            raise InvalidRequest(f"jurisdiction: {self.jurisdiction!r} is not one of "
                                 f"{', '.join(rights.jurisdictions)} (leave it empty to follow the account's country)")


@dataclass(frozen=True)
class Subject:
    """The person a request is about, found in the database; `user_id` never leaves the task."""

    user_id: int
    pseudonym: str
    country: str | None = None
    email_key: str | None = None


def _subject_statement(name: str, retention: RetentionPolicy, rights: SubjectRightsPolicy) -> Any:
    from psycopg import sql

    return sql.SQL(sql_text(f"dsr/{name}.sql")).format(
        schema=sql.Identifier(retention.database_schema), table=sql.Identifier(retention.subject.table),
        key=sql.Identifier(retention.subject.key), email=sql.Identifier(rights.subject.email_column),
        country=sql.Identifier(rights.subject.country_column))


def find_subject(conn: psycopg.Connection, form: RequestForm, *, retention: RetentionPolicy,
                 rights: SubjectRightsPolicy, pseudonym_key: bytes) -> Subject:
    """The person the form names. An email that names no account, or two, is refused; so is a user id
    and an email that name different people. No message repeats the email."""
    user_id = form.user_id
    if form.email:
        found = [row[0] for row in conn.execute(_subject_statement("subject_by_email", retention, rights),
                                                {"email": form.email})]
        if not found:
            raise UnknownSubject("no account has the email address given; nothing was registered or changed")
        if len(found) > 1:
            raise InvalidRequest("the email address given belongs to more than one account; give the user_id")
        if user_id is not None and user_id != found[0]:
            raise InvalidRequest("user_id and email name different accounts; give one, or both of the same person")
        user_id = found[0]
    row = conn.execute(_subject_statement("subject_country", retention, rights), {"subject": user_id}).fetchone()
    if row is None:
        raise UnknownSubject("no account has the user_id given; nothing was registered or changed")
    country, email = row
    return Subject(user_id=user_id, pseudonym=pseudonym(pseudonym_key, retention.subject.table, user_id),
                   country=country, email_key=email_key(pseudonym_key, email) if email else None)


@dataclass(frozen=True)
class Request:
    """A registered request, as governance.dsr_requests holds it."""

    request_id: str
    kind: str
    subject_pseudonym: str
    subject_user_id: int | None  # None once an erasure completed
    subject_email_key: str | None
    channel: str
    jurisdiction: str
    received_at: datetime
    due_at: datetime
    extended_due_at: datetime | None
    status: str
    completed_at: datetime | None
    outcome: dict[str, Any]
    refusal: dict[str, Any] | None

    @property
    def deadline(self) -> datetime:
        return self.extended_due_at or self.due_at

    def subject(self) -> Subject:
        """The person, for the work (only while the request still names them by user id)."""
        if self.subject_user_id is None:
            raise InvalidRequest(f"request {self.request_id!r} no longer names an account (it was erased)")
        return Subject(user_id=self.subject_user_id, pseudonym=self.subject_pseudonym)

    def conflict_with(self, form: RequestForm, *, subject_table: str, pseudonym_key: bytes) -> str | None:
        """Why `form` cannot be this request submitted again (another kind, another person), or None.
        Compared by keyed hashes, so that it still works after the account was erased."""
        if form.kind != self.kind:
            return "kind"
        if form.user_id is not None and pseudonym(pseudonym_key, subject_table, form.user_id) != self.subject_pseudonym:
            return "person"
        if form.email and email_key(pseudonym_key, form.email) != self.subject_email_key:
            return "person"
        return None


def read_request(conn: psycopg.Connection, request_id: str) -> Request | None:
    row = conn.execute(sql_text("dsr/request.sql"), {"request_id": request_id}).fetchone()
    return Request(*row) if row else None


def registered_earlier(conn: psycopg.Connection, form: RequestForm, *, retention: RetentionPolicy,
                       pseudonym_key: bytes) -> Request | None:
    """The request as an earlier submission of the same id registered it, or None; refused when the form
    names another kind or another person (no database lookup of the person: they may be erased)."""
    request = read_request(conn, form.request_id)
    if request is not None:
        conflict = request.conflict_with(form, subject_table=retention.subject.table, pseudonym_key=pseudonym_key)
        if conflict:
            raise InvalidRequest(f"request_id {form.request_id!r} is already registered for a different {conflict}; "
                                 "a request id names one request: use a new one")
    return request


def register(conn: psycopg.Connection, form: RequestForm, subject: Subject, *, rights: SubjectRightsPolicy,
             workflow: str, run_id: str, received_at: datetime) -> tuple[Request, bool]:
    """Register the request, or find it registered by an earlier submission; (request, new).

    A request id that is already registered for another kind or another person is refused."""
    jurisdiction = form.jurisdiction or rights.jurisdiction_of(subject.country)
    due_at = rights.due(jurisdiction, received_at)
    params = {"request_id": form.request_id, "kind": form.kind, "subject_pseudonym": subject.pseudonym,
              "subject_user_id": subject.user_id, "subject_email_key": subject.email_key,
              "channel": form.channel, "jurisdiction": jurisdiction, "received_at": received_at,
              "due_at": due_at, "run_id": run_id}
    with conn.transaction():
        new = conn.execute(sql_text("dsr/register.sql"), params).fetchone() is not None
        request = read_request(conn, form.request_id)
        if not new and (request.kind != form.kind or request.subject_pseudonym != subject.pseudonym):
            what = "kind" if request.kind != form.kind else "person"
            raise InvalidRequest(f"request_id {form.request_id!r} is already registered for a different {what}; "
                                 "a request id names one request: use a new one")
        if new:
            ledger.append(conn, ledger.LedgerEntry(
                workflow=workflow, action="dsr_request_received", run_id=run_id, rule=None,
                details={"request_id": form.request_id, "kind": form.kind, "jurisdiction": jurisdiction,
                         "channel": form.channel, "received_at": received_at.isoformat(),
                         "due_at": due_at.isoformat()}))
    return request, new


def extend_deadline(conn: psycopg.Connection, request: Request, *, rights: SubjectRightsPolicy, reason: str,
                    workflow: str, run_id: str) -> Request:
    """Extend the deadline once, as the request's law allows, with the reason the person is told."""
    chosen = rights.jurisdictions.get(request.jurisdiction)
    if chosen is None:
        raise InvalidRequest(f"deadline_extension_reason: jurisdiction {request.jurisdiction!r} of this request is no "
                             "longer in subject_rights.yaml")
    if chosen.extension is None:
        raise InvalidRequest(f"deadline_extension_reason: {chosen.law} allows no extension")
    if request.extended_due_at is not None:
        raise InvalidRequest(f"deadline_extension_reason: the deadline of {request.request_id!r} was extended "
                             f"already, to {request.extended_due_at:%Y-%m-%d %H:%M:%S} UTC; it can be extended once")
    extended = chosen.extended(request.due_at)
    with conn.transaction():
        if conn.execute(sql_text("dsr/extend.sql"), {"request_id": request.request_id, "extended_due_at": extended,
                                                      "reason": reason}).fetchone() is None:
            raise InvalidRequest(f"request {request.request_id!r} is {request.status}; its deadline is not extended")
        ledger.append(conn, ledger.LedgerEntry(
            workflow=workflow, action="dsr_deadline_extended", run_id=run_id, rule=None,
            details={"request_id": request.request_id, "due_at": request.due_at.isoformat(),
                     "extended_due_at": extended.isoformat(), "extension": str(chosen.extension)}))
    return read_request(conn, request.request_id)


class RequestLock:
    """A session lock on one request while it is worked on; a second run stops at once."""

    def __init__(self, conn: psycopg.Connection, request_id: str) -> None:
        self.conn, self.params = conn, {"request_id": request_id}

    def __enter__(self) -> Self:
        if not self.conn.execute(sql_text("dsr/lock_request.sql"), self.params).fetchone()[0]:
            raise RequestBusy(f"request {self.params['request_id']!r} is being worked on by another run; this run "
                              "stopped before doing anything. Wait for it to finish.")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.conn.broken:
            with contextlib.suppress(Exception):  # else the lock goes with the session, which the caller closes
                self.conn.execute(sql_text("dsr/unlock_request.sql"), self.params)


def mark_started(conn: psycopg.Connection, request: Request, run_id: str) -> None:
    conn.execute(sql_text("dsr/start.sql"), {"request_id": request.request_id, "run_id": run_id})


def mark_completed(conn: psycopg.Connection, request: Request, *, workflow: str, run_id: str,
                   completed_at: datetime, outcome: dict[str, Any]) -> bool:
    """Close the request with what it produced, and its ledger entry, in one transaction; False (and no
    entry) when it was closed already."""
    from psycopg.types.json import Jsonb

    with conn.transaction():
        closed = conn.execute(sql_text("dsr/complete.sql"), {
            "request_id": request.request_id, "completed_at": completed_at, "outcome": Jsonb(outcome),
            "run_id": run_id}).fetchone()
        if closed is None:
            return False
        ledger.append(conn, ledger.LedgerEntry(
            workflow=workflow, action="dsr_request_completed", run_id=run_id, rule=None,
            counts={name: value for name, value in outcome.get("counts", {}).items() if isinstance(value, int)},
            details={"request_id": request.request_id, "kind": request.kind,
                     "on_time": completed_at <= request.deadline,
                     **{key: value for key, value in outcome.items() if key != "counts"}}))
    return True


def mark_refused(conn: psycopg.Connection, request: Request, *, workflow: str, run_id: str, refused_at: datetime,
                 reason: str, details: dict[str, Any]) -> None:
    """Record why a request was not done (a reason code and counts, never a database message)."""
    from psycopg.types.json import Jsonb

    refusal = {"reason": reason, **details}
    with conn.transaction():
        if conn.execute(sql_text("dsr/refuse.sql"), {"request_id": request.request_id, "completed_at": refused_at,
                                                      "refusal": Jsonb(refusal), "run_id": run_id}).fetchone() is None:
            return
        ledger.append(conn, ledger.LedgerEntry(
            workflow=workflow, action="dsr_request_refused", run_id=run_id, rule=None,
            details={"request_id": request.request_id, "kind": request.kind, **refusal}))


# -- deadlines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineFlag:
    request_id: str
    kind: str
    jurisdiction: str
    status: str
    received_at: datetime
    due_at: datetime
    extended: bool
    days_left: float  # negative: overdue

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def deadline_flags(conn: psycopg.Connection, *, rights: SubjectRightsPolicy,
                   now: datetime) -> tuple[int, list[DeadlineFlag]]:
    """(open requests, the flags): every open request due within warn_days_before_due of `now`, or past due."""
    flags, open_requests = [], 0
    for request_id, kind, jurisdiction, _channel, received_at, due_at, extended, status in conn.execute(
            sql_text("dsr/open_requests.sql")):
        open_requests += 1
        days_left = (due_at - now).total_seconds() / 86_400
        if days_left <= rights.warn_days_before_due:
            flags.append(DeadlineFlag(request_id, kind, jurisdiction, status, received_at, due_at, extended,
                                      round(days_left, 2)))
    return open_requests, flags


def record_bundle_intent(conn: psycopg.Connection, request: Request, *, bucket: str, key: str,
                         expires_at: datetime) -> None:
    """Before the upload: where the bundle goes and until when, so that it expires even if the run dies."""
    conn.execute(sql_text("dsr/bundle_intent.sql"), {"request_id": request.request_id, "bundle_bucket": bucket,
                                                     "bundle_key": key, "bundle_expires_at": expires_at})


def expire_bundles(conn: psycopg.Connection, s3: Any, *, now: datetime, workflow: str, run_id: str) -> list[str]:
    """Delete every version of each export bundle whose time is up, with a ledger entry each; their request ids."""
    due = conn.execute(sql_text("dsr/expired_bundles.sql"), {"now": now}).fetchall()
    return _delete_bundles(conn, s3, due, now=now, workflow=workflow, run_id=run_id, action="dsr_export_expired")


def delete_bundles_of(conn: psycopg.Connection, s3: Any, subject_pseudonym: str, *, now: datetime, workflow: str,
                      run_id: str) -> list[str]:
    """An erasure deletes the person's export bundles too, every version, with a ledger entry each."""
    found = conn.execute(sql_text("dsr/bundles_of_subject.sql"), {"subject_pseudonym": subject_pseudonym}).fetchall()
    return _delete_bundles(conn, s3, found, now=now, workflow=workflow, run_id=run_id,
                           action="dsr_export_deleted_with_erasure")


def bundle_counts(conn: psycopg.Connection, subject_pseudonym: str) -> tuple[int, int]:
    """(still in the exports bucket, deleted) of one person's export bundles."""
    return conn.execute(sql_text("dsr/bundles_count.sql"), {"subject_pseudonym": subject_pseudonym}).fetchone()


def forget_user_id(conn: psycopg.Connection, subject_pseudonym: str) -> None:
    """The account is erased: no request of the person keeps its user id."""
    conn.execute(sql_text("dsr/forget_user_id.sql"), {"subject_pseudonym": subject_pseudonym})


def _delete_bundles(conn: psycopg.Connection, s3: Any, bundles: list[tuple], *, now: datetime, workflow: str,
                    run_id: str, action: str) -> list[str]:
    deleted = []
    for request_id, bucket, key, expires_at in bundles:
        versions = delete_every_version(s3, bucket, key)
        with conn.transaction():
            conn.execute(sql_text("dsr/bundle_deleted.sql"), {"request_id": request_id, "now": now})
            ledger.append(conn, ledger.LedgerEntry(
                workflow=workflow, action=action, run_id=run_id, rule=None,
                counts={"object_versions_deleted": versions},
                details={"request_id": request_id, "bucket": bucket, "object_key": key,
                         "expires_at": expires_at.isoformat()}))
        deleted.append(request_id)
    return deleted


def delete_every_version(s3: Any, bucket: str, key: str) -> int:
    """Delete each version and delete marker of one key (a small bucket: a listing by prefix is cheap)."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if item["Key"] == key:
                s3.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])
                deleted += 1
    return deleted
