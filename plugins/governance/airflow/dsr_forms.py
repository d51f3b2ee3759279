"""The forms of dsr_export and dsr_erasure, built from the policy files (validated at parse time).

Light on purpose: DAG files import it, and Airflow parses them constantly.
"""

from __future__ import annotations

from typing import Any

from governance.airflow.forms import optional
from governance.data_map import load_data_map
from governance.dsr import CHANNELS, EMAIL, REQUEST_ID, load_subject_rights_policy
from governance.policy import load_retention_policy


def request_params() -> dict[str, Any]:
    """The fields every data-subject request has. A bad policy file, or a data map and a retention policy
    that disagree, raise here: an import error of the DAG that names the file and why."""
    from airflow.sdk import Param

    retention = load_retention_policy()
    load_data_map(retention=retention)
    rights = load_subject_rights_policy()
    return {
        "request_id": Param(type="string", pattern=REQUEST_ID.pattern, minLength=1, maxLength=64, title="Request id",
                            description="The privacy team's id of the request (for example DSR-2026-0042). The same id "
                            "submitted again does the work once."),
        "user_id": optional(None, "integer", minimum=1, title="User id",
                         description="The person's account number. Give this, or the email, or both."),
        "email": optional(None, "string", format="email", pattern=EMAIL.pattern, title="Email",
                       description="The email address of the account, to find it. The product keeps only a keyed "
                       "hash of it; Airflow keeps the form's values in its run history: prefer the user id."),
        "channel": optional("email", "string", enum=list(CHANNELS), title="Received by",
                            description="How the request reached the privacy team; empty: email."),
        "received_at": optional(None, "string", title="Received at",
                             description="When the request reached the privacy team (YYYY-MM-DD or ISO 8601, UTC); "
                             "empty: now. The deadline counts from it."),
        "jurisdiction": optional(None, "string", enum=list(rights.model.jurisdictions),
                              title="Jurisdiction",
                              description="The law whose deadline applies; empty: from the account's country."),
        "deadline_extension_reason": optional(None, "string", title="Deadline extension reason",
                                           description="Only to extend the deadline, once, as the law allows: the "
                                           "reason the person is told (no personal data)."),
    }


def deadline_policy() -> Any:
    """subject_rights.yaml, validated (for the deadline check's DAG file)."""
    return load_subject_rights_policy()
