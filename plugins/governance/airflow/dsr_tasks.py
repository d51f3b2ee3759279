"""The task bodies of dsr_export, dsr_erasure and dsr_deadlines: Airflow context in, library calls out.

Only the request id, statuses, keys and counts cross XCom: each task finds the person again
from the run's form, and no user id or email is logged, returned or stored.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from governance import settings
from governance.airflow.connections import app_database, arrow_s3, presigning_s3_client, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.runs import InvalidRunParameters, run_conf, run_cutoff
from governance.data_map import load_data_map
from governance.dsr import (
    KINDS,
    WORKFLOW_DEADLINES,
    WORKFLOW_ERASURE,
    WORKFLOW_EXPORT,
    Request,
    RequestForm,
    RequestLock,
    bundle_counts,
    deadline_flags,
    delete_bundles_of,
    expire_bundles,
    extend_deadline,
    find_subject,
    forget_user_id,
    load_subject_rights_policy,
    mark_completed,
    mark_refused,
    mark_started,
    read_request,
    record_bundle_intent,
    register,
    registered_earlier,
)
from governance.dsr_reports import deadline_report, export_receipt
from governance.keys import pseudonym_key
from governance.policy import load_retention_policy
from governance.reports import publish_document, report_prefix

log = logging.getLogger(__name__)


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidRunParameters(f"{name}: {value!r} must be text")
    return value.strip()


def _received_at(params: Mapping[str, Any], context: Mapping[str, Any]) -> datetime:
    """When the request reached the privacy team: the form's date or time, or the run's own moment.
    Never later than the run: a request cannot arrive in the future."""
    moment = run_cutoff(context)
    text = _text(params, "received_at")
    if text is None:
        return moment
    try:
        received = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRunParameters(f"received_at: {text!r} is not a date or time (YYYY-MM-DD, or ISO 8601)") from None
    received = received if received.tzinfo else received.replace(tzinfo=UTC)
    if received > moment:
        raise InvalidRunParameters(f"received_at: {received:%Y-%m-%d %H:%M:%S} UTC is later than the run "
                                   f"({moment:%Y-%m-%d %H:%M:%S} UTC)")
    return received.astimezone(UTC)


def request_form(context: Mapping[str, Any], kind: str) -> RequestForm:
    """The run's form as a RequestForm; unknown fields are refused (runs.run_conf)."""
    run_conf(context, context["dag"].params)
    params = context["params"]
    user_id = params.get("user_id")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        raise InvalidRunParameters(f"user_id: {user_id!r} must be a whole number")
    return RequestForm(request_id=_text(params, "request_id") or "", kind=kind, user_id=user_id,
                       email=_text(params, "email"), channel=_text(params, "channel") or "email",
                       received_at=_received_at(params, context), jurisdiction=_text(params, "jurisdiction"))


def _policies() -> dict[str, Any]:
    retention = load_retention_policy()
    return {"retention": retention, "rights": load_subject_rights_policy(),
            "data_map": load_data_map(retention=retention)}


def _request_summary(request: Request, new: bool) -> dict[str, Any]:
    return {"request_id": request.request_id, "kind": request.kind, "status": request.status, "new": new,
            "jurisdiction": request.jurisdiction, "due_at": request.deadline.isoformat()}


def register_request(context: Mapping[str, Any]) -> dict[str, Any]:
    """Check the form, find the person, register the request once (or find it registered)."""
    workflow = context["dag"].dag_id
    with task_errors(workflow, "register"):
        policies = _policies()
        form = request_form(context, KINDS[workflow])
        form.check(policies["rights"].model)
        reason = _text(context["params"], "deadline_extension_reason")
        with app_database() as conn:
            request, new = registered_earlier(conn, form, retention=policies["retention"].model,
                                              pseudonym_key=pseudonym_key()), False
            if request is None:
                subject = find_subject(conn, form, retention=policies["retention"].model,
                                       rights=policies["rights"].model, pseudonym_key=pseudonym_key())
                request, new = register(conn, form, subject, rights=policies["rights"].model, workflow=workflow,
                                        run_id=context["run_id"], received_at=form.received_at)
            if reason and request.extended_due_at is not None:  # a resubmission of the same form
                log.info("request %s: its deadline was extended already; it is extended once", request.request_id)
            elif reason:
                request = extend_deadline(conn, request, rights=policies["rights"].model, reason=reason,
                                          workflow=workflow, run_id=context["run_id"])
        log.info("request %s (%s, %s): %s; %s; due %s UTC", request.request_id, request.kind, request.jurisdiction,
                 "registered" if new else "registered earlier", request.status.replace("_", " "),
                 f"{request.deadline:%Y-%m-%d %H:%M:%S}")
        return _request_summary(request, new)


def _already_answered(request: Request) -> dict[str, Any] | None:
    if request.status == "completed":
        log.info("request %s was completed at %s UTC; nothing is done again", request.request_id,
                 f"{request.completed_at:%Y-%m-%d %H:%M:%S}")
        return {"request_id": request.request_id, "status": "already_completed", **request.outcome}
    if request.status == "refused":
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"request {request.request_id} was refused earlier "
                                   f"({(request.refusal or {}).get('reason', 'no reason recorded')}); a refused "
                                   "request is not done again: submit a new request id once the reason is gone")
    return None


# -- dsr_export -------------------------------------------------------------------------------------


def run_export(context: Mapping[str, Any]) -> dict[str, Any]:
    """Write the person's bundle to the exports bucket, verified, and close the request."""
    from governance.dsr_export import ExportSettings, export_key, upload_bundle, write_bundle

    with task_errors(WORKFLOW_EXPORT, "export"):
        policies = _policies()
        rights = policies["rights"].model
        form = request_form(context, "export")
        run_id = context["run_id"]
        s3 = s3_client()
        with app_database() as conn, RequestLock(conn, form.request_id), tempfile.TemporaryDirectory() as work:
            # Read under the lock: a run that held it may have just finished the request.
            request = read_request(conn, form.request_id)
            done = _already_answered(request)
            if done:
                return done
            subject = request.subject()
            mark_started(conn, request, run_id)
            generated_at = datetime.now(UTC)  # the moment of the snapshot; links count from it
            expires_at = generated_at + timedelta(days=rights.export.bundle_expires_after_days)
            export = ExportSettings(request_id=request.request_id, generated_at=generated_at,
                                    media_bucket=settings.media_bucket(), archive_bucket=settings.archive_bucket(),
                                    link_expires_after=timedelta(days=rights.export.link_expires_after_days),
                                    bundle_expires_at=expires_at)
            bundle = write_bundle(conn, presigning_s3_client(), arrow_s3(), data_map=policies["data_map"].model,
                                  retention=policies["retention"].model, subject=subject, settings=export,
                                  work_dir=Path(work))
            bucket, key = settings.exports_bucket(), export_key(rights, request.request_id)
            record_bundle_intent(conn, request, bucket=bucket, key=key, expires_at=expires_at)
            version_id = upload_bundle(s3, bundle, bucket=bucket, key=key, expires_at=expires_at)
            outcome = {"bundle": {"bucket": bucket, "key": key, "version_id": version_id,
                                  "sha256": bundle.sha256, "size_bytes": bundle.size_bytes,
                                  "expires_at": expires_at.isoformat()},
                       "counts": bundle.counts}
            receipt = _publish_receipt(conn, s3, request, outcome, generated_at, run_id)
            mark_completed(conn, request, workflow=WORKFLOW_EXPORT, run_id=run_id, completed_at=generated_at,
                           outcome={**outcome, "receipt": receipt})
        log.info("request %s: export of %d records in %d categories, %d bytes, SHA-256 %s; at s3://%s/%s until %s "
                 "UTC", request.request_id, sum(bundle.counts.values()), len(bundle.counts), bundle.size_bytes,
                 bundle.sha256, bucket, key, f"{expires_at:%Y-%m-%d %H:%M:%S}")
        return {"request_id": request.request_id, "status": "completed", **outcome, "receipt": receipt}


def _publish_receipt(conn, s3, request: Request, outcome: dict[str, Any], generated_at: datetime,
                     run_id: str) -> list[str]:
    """A receipt for the auditors, in the reports bucket: what was exported, never the data itself."""
    document = export_receipt(request=request, outcome=outcome, completed_at=generated_at)
    return publish_document(conn, s3, workflow=WORKFLOW_EXPORT, run_id=run_id, report_type="dsr_export_receipt",
                            prefix=report_prefix(WORKFLOW_EXPORT, generated_at.date(), request.request_id),
                            document=document, template="dsr_export_receipt.html.j2",
                            summary={"request_id": request.request_id, "records": sum(outcome["counts"].values()),
                                     "on_time": document["on_time"]})


# -- dsr_erasure -----------------------------------------------------------------------------------


def run_erasure(context: Mapping[str, Any]) -> dict[str, Any]:
    """Erase the person now, through the account rule's cascade; a legal hold refuses the request."""
    from governance.dsr_erasure import erase_rule, erasure_completed, lifecycle_run_id, require_complete_cascade
    from governance.erasure import erase_subjects
    from governance.errors import StepFailed
    from governance.ledger_audit import require_intact_ledger

    with task_errors(WORKFLOW_ERASURE, "erase"):
        policies = _policies()
        form = request_form(context, "erasure")
        run_id = context["run_id"]
        s3 = s3_client()
        with app_database() as conn:
            rule = erase_rule(policies["retention"].model).name
            with RequestLock(conn, form.request_id):
                # Read under the lock: a run that held it may have just finished the request.
                request = read_request(conn, form.request_id)
                done = _already_answered(request)
                if done:
                    return done
                mark_started(conn, request, run_id)
                counts: dict[str, int] = {}
                if erasure_completed(conn, workflow=WORKFLOW_ERASURE, request_id=request.request_id, rule=rule):
                    log.info("request %s: the account was erased by an earlier attempt", request.request_id)
                else:
                    require_intact_ledger(conn, s3, workflow=WORKFLOW_ERASURE, run_id=run_id,
                                          override_reason=_text(context["params"], "ledger_override_reason"))
                    require_complete_cascade(conn, policies["data_map"].model, policies["retention"].model)
                    subject = request.subject()
                    try:
                        outcome = erase_subjects(
                            conn, s3, policy=policies["retention"], subjects=[subject.user_id],
                            workflow=WORKFLOW_ERASURE, run_id=lifecycle_run_id(request.request_id),
                            media_bucket=settings.media_bucket(), pseudonym_key=pseudonym_key())
                    except StepFailed as failed:
                        if failed.failure.error_class == "SubjectUnderHold":
                            mark_refused(conn, request, workflow=WORKFLOW_ERASURE, run_id=run_id,
                                         refused_at=datetime.now(UTC), reason="legal_hold",
                                         details={"step": failed.failure.step})
                        raise
                    counts = outcome.counts.nonzero()
                # The account is gone: no request of the person keeps its id, and no export bundle of theirs stays.
                forget_user_id(conn, request.subject_pseudonym)
                bundles = delete_bundles_of(conn, s3, request.subject_pseudonym, now=datetime.now(UTC),
                                            workflow=WORKFLOW_ERASURE, run_id=run_id)
        log.info("request %s: erased; %s; %d export bundle(s) of the person deleted", request.request_id,
                 ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items()) or "nothing removed",
                 len(bundles))
        return {"request_id": request.request_id, "status": "erased", "counts": counts,
                "export_bundles_deleted": len(bundles)}


def write_certificate(context: Mapping[str, Any]) -> dict[str, Any]:
    """Prove the erasure (no table names the person), certify it, and close the request."""
    from governance import ledger
    from governance.dsr_erasure import (
        archived_events,
        certificate,
        erased_counts,
        lifecycle_run_id,
        retained_rows,
        tables_checked,
    )
    from governance.erasure import ErasureIncomplete
    from governance.ledger_audit import ledger_state

    with task_errors(WORKFLOW_ERASURE, "certificate"):
        policies = _policies()
        retention, rights, data_map = (policies[name].model for name in ("retention", "rights", "data_map"))
        form = request_form(context, "erasure")
        run_id = context["run_id"]
        s3 = s3_client()
        with app_database() as conn:
            request = read_request(conn, form.request_id)
            done = _already_answered(request)
            if done:
                return done
            # The account is gone: the kept rows are found by the pseudonym the request holds.
            completed = [entry for entry in ledger.entries_for_run(conn, WORKFLOW_ERASURE,
                                                                  lifecycle_run_id(request.request_id))
                         if entry["action"] == "erasure_completed"]
            if not completed:
                raise ErasureIncomplete(f"request {request.request_id}: the erasure has not completed; rerun the "
                                        "erase task")
            completed_at = completed[-1]["recorded_at"]
            bundles_left, bundles_deleted = bundle_counts(conn, request.subject_pseudonym)
            if bundles_left:
                raise ErasureIncomplete(f"request {request.request_id}: {bundles_left} export bundle(s) of the person "
                                        "are still in the exports bucket; rerun the erase task")
            totals, by_table = erased_counts(conn, workflow=WORKFLOW_ERASURE, request_id=request.request_id)
            retained = retained_rows(conn, retention, request.subject_pseudonym)
            archived = archived_events(conn, arrow_s3(), data_map=data_map, bucket=settings.archive_bucket(),
                                       pseudonym_value=request.subject_pseudonym)
            state = ledger_state(conn, s3, workflow=WORKFLOW_ERASURE, run_id=run_id)
            document = certificate(
                request=request, law=rights.law(request.jurisdiction), completed_at=completed_at,
                retention=retention, data_map=data_map, totals=totals, by_table=by_table, retained=retained,
                archived=archived, tables_checked=tables_checked(conn, retention),
                export_bundles_deleted=bundles_deleted,
                ledger_head={"head_seq": state["head_seq"], "head_hash": state["head_hash"],
                             "chain_ok": state["chain_ok"]},
                policy_versions={"retention.yaml": policies["retention"].sha256,
                                 "data_map.yaml": policies["data_map"].sha256,
                                 "subject_rights.yaml": policies["rights"].sha256})
            keys = publish_document(
                conn, s3, workflow=WORKFLOW_ERASURE, run_id=run_id, report_type="dsr_erasure_certificate",
                prefix=report_prefix(WORKFLOW_ERASURE, completed_at.date(), request.request_id), document=document,
                template="dsr_erasure_certificate.html.j2",
                summary={"request_id": request.request_id, "accounts_erased": document["accounts_erased"],
                         "rows_deleted": totals.get("rows_deleted", 0), "on_time": document["on_time"]})
            mark_completed(conn, request, workflow=WORKFLOW_ERASURE, run_id=run_id, completed_at=completed_at,
                           outcome={"certificate": keys, "counts": {name: value for name, value in totals.items()
                                                                    if value}})
        log.info("request %s: certificate written (%s); %s", request.request_id, keys[0], document["summary"])
        return {"request_id": request.request_id, "status": "completed", "certificate": keys}


# -- dsr_deadlines ---------------------------------------------------------------------------------


def check_deadlines(context: Mapping[str, Any]) -> dict[str, Any]:
    """Report every open request near or past its deadline, indexed; the verdict then fails on any flag."""
    with task_errors(WORKFLOW_DEADLINES, "check"):
        rights = load_subject_rights_policy().model
        now = run_cutoff(context)
        run_id = context["run_id"]
        with app_database() as conn:
            open_requests, flags = deadline_flags(conn, rights=rights, now=now)
            document = deadline_report(run_id=run_id, now=now, open_requests=open_requests, flags=flags,
                                       rights=rights)
            overdue = sum(1 for f in flags if f.overdue)
            keys = publish_document(
                conn, s3_client(), workflow=WORKFLOW_DEADLINES, run_id=run_id, report_type="dsr_deadlines",
                prefix=report_prefix(WORKFLOW_DEADLINES, now.date(), run_id), document=document,
                template="dsr_deadlines.html.j2", period_end=now,
                summary={"open_requests": open_requests, "flagged": len(flags), "overdue": overdue,
                         "flagged_requests": [f.request_id for f in flags]})
        log.info("deadlines at %s UTC: %d open request(s), %d near their deadline, %d overdue",
                 f"{now:%Y-%m-%d %H:%M:%S}", open_requests, len(flags) - overdue, overdue)
        return {"open_requests": open_requests, "flags": [
            {"request_id": f.request_id, "kind": f.kind, "days_left": f.days_left} for f in flags], "reports": keys}


def deadline_verdict(checked: Mapping[str, Any] | None) -> None:
    """Fail the check when any open request is near or past its deadline, naming each."""
    from airflow.sdk.exceptions import AirflowFailException

    if checked is None:
        raise AirflowFailException("the deadline check did not complete; its log says why")
    flags = checked["flags"]
    if flags:
        described = "; ".join(
            f"{f['request_id']} ({f['kind']}) " + (f"overdue by {-f['days_left']:.1f} days" if f["days_left"] < 0
                                                  else f"due in {f['days_left']:.1f} days") for f in flags)
        raise AirflowFailException(f"{len(flags)} data-subject request(s) need an answer: {described}")


def expire_export_bundles(context: Mapping[str, Any]) -> dict[str, Any]:
    """Delete the export bundles whose time is up, every version, each with a ledger entry."""
    with task_errors(WORKFLOW_DEADLINES, "expire bundles"), app_database() as conn:
        expired = expire_bundles(conn, s3_client(), now=run_cutoff(context), workflow=WORKFLOW_DEADLINES,
                                 run_id=context["run_id"])
        log.info("export bundles deleted because they expired: %d", len(expired))
        return {"expired": expired}
