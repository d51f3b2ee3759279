"""What a workflow needs from its Airflow run, as plain values: its cutoff, its type, and its
configuration, checked.

Errors here are InvalidRunParameters, which no retry can fix: the task fails at once, with
one line that names the field and the bound.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from governance.errors import PermanentError

log = logging.getLogger(__name__)

# Run types that the scheduler creates from the DAG's own schedule: these do the real work
# unless their configuration says dry_run, once the deployment has said it is ready to delete
# (SCHEDULED_DELETES). Every other run (the Trigger form, the REST API, another DAG) takes the
# form's default, which previews.
SCHEDULED_RUN_TYPES = frozenset({"scheduled", "backfill"})
# Unpausing a DAG at once starts a scheduled run for the last interval (Airflow's Trigger form
# ticks "Unpause on trigger" by default): until the deployment sets this to `enabled`, scheduled
# runs only preview, so that nobody who asked for a preview gets a purge.
SCHEDULED_DELETES = "GOVERNANCE_SCHEDULED_DELETES"


class InvalidRunParameters(PermanentError, ValueError):
    """A run's configuration names an unknown field, or a value out of range, or the run is dated in the future."""


def run_started(context: Mapping[str, Any]) -> datetime:
    """When the run started (for a check only: cutoffs never come from the clock)."""
    started = getattr(context.get("dag_run"), "start_date", None)
    return (started or datetime.now(UTC)).astimezone(UTC)


def run_cutoff(context: Mapping[str, Any]) -> datetime:
    """The instant a run's periods count back from: the end of its data interval, or, for
    manual and asset-triggered runs that have none, the moment the run was due. Never
    now(): a rerun of the same run must compute the same cutoff. Never later than the
    moment the run started: a run dated in the future would delete early."""
    moment = context.get("data_interval_end")
    if moment is None:
        moment = getattr(context.get("dag_run"), "run_after", None)
    if moment is None:
        raise InvalidRunParameters("the run has neither data_interval_end nor run_after; cannot fix a cutoff")
    if moment.tzinfo is None:
        raise InvalidRunParameters(f"cutoff {moment} has no time zone")
    moment = moment.astimezone(UTC)
    started = run_started(context)
    if moment > started:
        raise InvalidRunParameters(
            f"the run is dated {moment:%Y-%m-%d %H:%M:%S} UTC, later than the moment it started "
            f"({started:%Y-%m-%d %H:%M:%S} UTC); a run dated in the future is refused, since it would delete early"
        )
    return moment


def run_type(context: Mapping[str, Any]) -> str:
    dag_run = context.get("dag_run")
    value = getattr(dag_run, "run_type", "manual")
    return str(getattr(value, "value", value))


def run_conf(context: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The configuration the run was given, refusing any key that is not one of the DAG's fields."""
    conf = dict(getattr(context.get("dag_run"), "conf", None) or {})
    known = sorted(fields)
    for name in sorted(set(conf) - set(known)):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidRunParameters(f"unknown field {name!r}{hint}; the fields are {', '.join(known)}")
    return conf


def scheduled_deletes_enabled() -> bool:
    """Whether this deployment lets the runs its schedule makes delete (GOVERNANCE_SCHEDULED_DELETES)."""
    value = os.environ.get(SCHEDULED_DELETES, "").strip().lower()
    if value not in ("", "enabled", "disabled"):
        raise InvalidRunParameters(f"{SCHEDULED_DELETES}: {value!r} must be 'enabled' or 'disabled'")
    return value == "enabled"


def dry_run(kind: str, conf: Mapping[str, Any], default: bool) -> bool:
    """An explicit dry_run in the run's configuration is always honoured; otherwise runs of
    type `kind` that the schedule made do the work if the deployment enabled scheduled deletes
    (and preview if not), and every other run takes the form's default (a preview). A dry_run
    left empty (null) is no choice."""
    if conf.get("dry_run") is not None:
        value = conf["dry_run"]
        if not isinstance(value, bool):
            raise InvalidRunParameters(f"dry_run: {value!r} must be true or false")
        return value
    if kind in SCHEDULED_RUN_TYPES:
        if not scheduled_deletes_enabled():
            log.warning("a %s run previews only: this deployment has not enabled scheduled deletes (set %s=enabled "
                        "once it is ready to purge)", kind, SCHEDULED_DELETES)
            return True
        return False
    if not isinstance(default, bool):
        raise InvalidRunParameters(f"dry_run: {default!r} must be true or false")
    return default
