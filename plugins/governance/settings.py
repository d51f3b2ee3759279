"""Where the library finds its files, connections and buckets.

Values come from the environment (see .local/env.sh or docker-compose.yaml), with defaults
that match the local stack, so that nothing is read from Airflow Variables at parse time.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def include_dir() -> Path:
    return Path(os.environ.get("GOVERNANCE_INCLUDE_DIR", PROJECT_ROOT / "include"))


def sql_dir() -> Path:
    return include_dir() / "sql"


def policy_dir() -> Path:
    return include_dir() / "policy"


def expectations_dir() -> Path:
    """The GX expectation suites, one JSON file per suite, that data_quality_checks runs."""
    return Path(os.environ.get("GOVERNANCE_EXPECTATIONS_DIR", PROJECT_ROOT / "expectations"))


def canaries_file() -> Path:
    """Canary prompts: known text whose raw form must appear nowhere, and whose hash must."""
    return include_dir() / "canaries" / "prompts.txt"


APP_DB_CONN_ID = os.environ.get("GOVERNANCE_DB_CONN_ID", "app_db")
# The Governance view connects with a role of its own (governance_steward): it places legal holds,
# which the workflows' role may not.
VIEW_DB_CONN_ID = os.environ.get("GOVERNANCE_VIEW_DB_CONN_ID", "governance_view_db")
AWS_CONN_ID = os.environ.get("GOVERNANCE_AWS_CONN_ID", "aws_default")


def media_bucket() -> str:
    return os.environ.get("MEDIA_BUCKET", "clipia-media")


def archive_bucket() -> str:
    return os.environ.get("ARCHIVE_BUCKET", "clipia-archive")


def reports_bucket() -> str:
    return os.environ.get("REPORTS_BUCKET", "clipia-reports")


def exports_bucket() -> str:
    """Data-subject export bundles: personal data, apart from the reports; deleted when they expire."""
    return os.environ.get("EXPORTS_BUCKET", "clipia-exports")
