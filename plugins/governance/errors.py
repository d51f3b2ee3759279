"""Errors the workflows raise, and how a failure is recorded without the data it touched.

PostgreSQL and S3 error messages can carry row values (`DETAIL: Failing row contains (...,
user3@example.org, ...)`). A failure is therefore recorded, logged and re-raised as a
`StepFailed` that names the error class, the SQLSTATE or S3 error code, the rule and the
step, and never the message text of a database or S3 error. Messages of `GovernanceError`
are the product's own, built from names and counts only, and are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class GovernanceError(Exception):
    """An error of the product's own; its message holds names and counts, never row values."""


class PermanentError(GovernanceError):
    """No retry can fix this (a bad parameter, policy or schema, a reached cap): fail at once."""


@dataclass(frozen=True)
class Failure:
    """What is recorded of a failure: where, what kind, and (for our own errors) why."""

    step: str
    error_class: str
    code: str | None = None  # the SQLSTATE, or the S3 error code
    reason: str | None = None  # only for GovernanceError: the product's own message

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    def summary(self) -> str:
        code = f" ({self.code})" if self.code else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.error_class}{code} in step {self.step}{reason}"


def error_code(exc: BaseException) -> str | None:
    """The SQLSTATE of a psycopg error, or the error code of a botocore ClientError."""
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def describe(exc: BaseException, step: str) -> Failure:
    """The record of `exc`: our own errors keep their message, every other error only its class and code."""
    if isinstance(exc, StepFailed):
        return exc.failure
    reason = str(exc) if isinstance(exc, GovernanceError) else None
    return Failure(step=step, error_class=type(exc).__name__, code=error_code(exc), reason=reason)


class StepFailed(GovernanceError):
    """A step failed; the message is the sanitised `Failure`, never the original error's text.

    Raise it `from None`: a chained cause would print the original message in every traceback.
    """

    def __init__(self, subject: str, failure: Failure, *, permanent: bool = False):
        self.subject, self.failure, self.permanent = subject, failure, permanent
        super().__init__(f"{subject}: {failure.summary()}")


# SQLSTATE classes no retry can fix: data exceptions, integrity violations, syntax and access
# rules, feature not supported, with-check violations, PL/pgSQL RAISE, invalid authorisation.
# Connection loss, lock timeouts, deadlocks, cancellations and lack of resources are retried.
PERMANENT_SQLSTATE_CLASSES = frozenset({"0A", "22", "23", "28", "42", "44", "P0"})


def is_permanent(exc: BaseException) -> bool:
    """Whether a retry could not change the outcome of the step that raised `exc`."""
    if isinstance(exc, PermanentError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in PERMANENT_SQLSTATE_CLASSES


def sanitised(exc: BaseException, *, subject: str, step: str) -> StepFailed:
    """`exc` as a StepFailed to raise `from None`; permanent when no retry can fix it."""
    if isinstance(exc, StepFailed):
        return exc
    return StepFailed(subject, describe(exc, step), permanent=is_permanent(exc))
