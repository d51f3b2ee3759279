"""Task failures, as Airflow should see them.

- An error no retry can fix (a PermanentError: a bad parameter, policy or schema, a reached
  cap, a busy rule) fails the task at once, instead of being retried for ten minutes.
- No error message of PostgreSQL or S3 reaches the task log: such errors are raised as the
  sanitised StepFailed (class, SQLSTATE or S3 code, step), without their cause.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from governance.errors import sanitised

log = logging.getLogger(__name__)


@contextmanager
def task_errors(subject: str, step: str) -> Iterator[None]:
    """Around a task body: permanent errors fail at once; database and S3 errors lose their message."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    try:
        yield
        return
    except AirflowException:  # Airflow's own (skip, fail, timeout, a missing connection): as they are
        raise
    except Exception as exc:  # ours keep their message; psycopg's, botocore's and the rest never do
        failure = sanitised(exc, subject=subject, step=step)
    # The reason in one line, ahead of the traceback Airflow prints, whose last line it would otherwise be.
    log.error("%s", failure)
    # Raised outside the except block, so that the original error is not even the new one's context.
    if failure.permanent:
        raise AirflowFailException(str(failure))
    raise failure
