"""The data-subject requests' reports that are not the erasure certificate: the daily deadline report
and the export receipt. Each document opens with a summary in plain words; neither names a person."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from governance.dsr import DeadlineFlag, SubjectRightsPolicy
from governance.reports import counted, readable_time


def deadline_report(*, run_id: str, now: datetime, open_requests: int, flags: Iterable[DeadlineFlag],
                    rights: SubjectRightsPolicy) -> dict[str, Any]:
    """The deadline report's document: every open request near or past its deadline."""
    document = {
        "report": "dsr_deadlines", "run_id": run_id, "checked_at": now, "open_requests": open_requests,
        "warn_days_before_due": rights.warn_days_before_due,
        "flags": [{"request_id": f.request_id, "kind": f.kind, "jurisdiction": f.jurisdiction,
                   "law": rights.law(f.jurisdiction), "status": f.status, "received_at": f.received_at,
                   "due_at": f.due_at, "extended": f.extended, "days_left": f.days_left, "overdue": f.overdue}
                  for f in flags],
    }
    document["summary"] = deadlines_summary(document)
    return document


def deadlines_summary(document: dict[str, Any]) -> str:
    """Two or three sentences: how many requests are open, which need an answer, and what happens until then."""
    flags = document["flags"]
    overdue = sum(1 for flag in flags if flag["overdue"])
    near = len(flags) - overdue
    requests = counted(document["open_requests"], "data-subject request")
    opened = (f"On {readable_time(document['checked_at'])}, {requests} (to see, take away or erase a person's data) "
              f"{'was' if document['open_requests'] == 1 else 'were'} open.")
    if not flags:
        return (f"{opened} None is within {counted(document['warn_days_before_due'], 'day')} of its legal deadline, "
                "so none needs attention yet.")
    parts = []
    if overdue:
        parts.append(f"{counted(overdue, 'request')} {'is' if overdue == 1 else 'are'} past the deadline the law sets")
    if near:
        parts.append(f"{counted(near, 'request')} {'is' if near == 1 else 'are'} due within "
                     f"{counted(document['warn_days_before_due'], 'day')}")
    return (f"{opened} {' and '.join(parts)}: each is listed below, and this daily check fails until "
            f"{'it is' if len(flags) == 1 else 'they are'} answered.")


def export_receipt(*, request: Any, outcome: dict[str, Any], completed_at: datetime) -> dict[str, Any]:
    """The export receipt's document: what was exported, and when, never the data itself."""
    document = {"report": "dsr_export_receipt", "request_id": request.request_id,
                "jurisdiction": request.jurisdiction, "received_at": request.received_at, "due_at": request.deadline,
                "completed_at": completed_at, "on_time": completed_at <= request.deadline, **outcome}
    document["summary"] = receipt_summary(document)
    return document


def receipt_summary(document: dict[str, Any]) -> str:
    """Two or three sentences: what was written for whom, whether on time, and when the copy goes."""
    records = sum(document["counts"].values())
    timing = "on time" if document["on_time"] else "after the deadline"
    return (f"For request {document['request_id']} (the rights of access and portability, GDPR Art. 15 and 20), a "
            f"copy of the person's data was written on {readable_time(document['completed_at'])}: "
            f"{counted(records, 'record')} in {counted(len(document['counts']), 'kind')} of data, {timing} (due "
            f"{readable_time(document['due_at'])}). The copy is deleted on "
            f"{readable_time(document['bundle']['expires_at'])}, every stored version; this receipt holds no "
            "personal data.")
