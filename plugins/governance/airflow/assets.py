"""The Assets that link workflows: the data-quality checks run when these are updated."""

from __future__ import annotations

from airflow.sdk import Asset

# Updated only by a real purge run in which every rule succeeded: never by a dry run or a failure.
PURGE_COMPLETED = Asset(name="retention_purge_completed", uri="governance://retention_purge/completed")

# Updated only by a real archival run in which every rule succeeded.
ARCHIVAL_COMPLETED = Asset(name="moderation_log_archival_completed", uri="governance://moderation_log_archival/completed")
