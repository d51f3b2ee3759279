"""Deleting media objects so that they are really gone, and counting what went.

Media is gone only when every version of its object is gone: in a versioned bucket, a
DeleteObjects call without version ids only adds a delete marker and every earlier version
stays readable. So in a bucket that has versioning (enabled or suspended) each key's versions
and delete markers are listed, and each is deleted by its version id. In a bucket that never
had versioning an object has one version: whether it exists is asked with HeadObject, and it
is deleted by its key. (Listing versions by prefix is cheap on S3 but not on every server:
moto copies the whole bucket for each listing.)

A key counts as deleted only when the DeleteObjects reply names every one of its versions
as deleted. A reply that names a key in neither `Deleted` nor `Errors` (a body cut short, a
proxy that closed the connection after the headers) is not success: the key's row is kept,
and the batch fails. Keys that had no object left are counted apart, as already absent.

What was removed is added to the batch as it is confirmed, as counts that no rollback
undoes: when the batch then fails, its rows stay, and the objects that did go are still
accounted for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from governance.errors import GovernanceError, error_code
from governance.storage import DELETE_OBJECTS_MAX_KEYS

LIST_WORKERS = 8  # concurrent HeadObject or ListObjectVersions calls (boto3 clients are thread-safe)
# A batch deletes its objects inside its transaction, with its rows locked, so the objects of
# one batch are bounded: 200 keys take a HeadObject (or listing) each, 8 at a time, and one
# DeleteObjects call; well under a second on S3.
OBJECTS_PER_BATCH = 200


class MediaDeletionError(GovernanceError):
    """S3 did not confirm the deletion of some objects; their rows were kept."""


class Tally(Protocol):
    """Where deletions are counted (lifecycle.Batch)."""

    deleted_keys: set[str]  # what this batch deleted
    deleted_earlier: frozenset[str] | set[str]  # what an attempt that rolled back deleted, and counted

    def add_irrevocable(self, **counts: int) -> None: ...


@dataclass(frozen=True)
class Version:
    version_id: str | None  # None: the only version, in a bucket that never had versioning
    delete_marker: bool


class MediaBucket:
    """The media bucket of one run: deletes every version of the keys it is given."""

    def __init__(self, s3: Any, bucket: str, *, subject: str) -> None:
        self.s3, self.bucket, self.subject = s3, bucket, subject
        self._versioned: bool | None = None

    def versioned(self) -> bool:
        """Whether the bucket has, or once had, versioning (then objects may have several versions)."""
        if self._versioned is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                status = self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
            except (BotoCoreError, ClientError) as exc:
                raise self._s3_error(exc, "reading the bucket's versioning") from None
            self._versioned = status in ("Enabled", "Suspended")
        return self._versioned

    def _s3_error(self, exc: Exception, doing: str) -> MediaDeletionError:
        code = error_code(exc)
        return MediaDeletionError(
            f"{self.subject}: S3 failed while {doing} in bucket {self.bucket} "
            f"({type(exc).__name__}{f' {code}' if code else ''}); the rows of these objects were kept"
        )

    def versions(self, key: str) -> list[Version]:
        """Every version and delete marker of exactly `key` (a listing by prefix also returns longer keys)."""
        found: list[Version] = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
            listed = [(item, False) for item in page.get("Versions", [])]
            listed += [(item, True) for item in page.get("DeleteMarkers", [])]
            found += [Version(item["VersionId"], marker) for item, marker in listed if item["Key"] == key]
            if any(item["Key"] != key for item, _ in listed):
                break  # keys are listed in order: every later one is longer
        return found

    def current(self, key: str) -> list[Version]:
        """The one version of `key` in a bucket that never had versioning, or none when it does not exist."""
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return []
            raise
        return [Version(None, False)]

    def _list(self, keys: Sequence[str]) -> dict[str, list[Version]]:
        from botocore.exceptions import BotoCoreError, ClientError

        find = self.versions if self.versioned() else self.current
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(LIST_WORKERS, len(keys)))) as pool:
                return dict(zip(keys, pool.map(find, keys), strict=True))
        except (BotoCoreError, ClientError) as exc:
            raise self._s3_error(exc, "listing object versions") from None

    def delete(self, keys: Iterable[str], tally: Tally) -> None:
        """Delete every version of each key, adding what was removed to `tally` as it is confirmed.

        Raises MediaDeletionError unless every version of every key is confirmed deleted.
        """
        unique = sorted({key for key in keys if key})  # an empty key names no object
        if not unique:
            return
        listed = self._list(unique)
        absent = [key for key in unique if not any(not v.delete_marker for v in listed[key])]
        # A key a rolled-back attempt of this run deleted was counted then; it is not "already absent".
        uncounted = [key for key in absent if key not in tally.deleted_earlier]
        if uncounted:
            tally.add_irrevocable(objects_already_absent=len(uncounted))
        unconfirmed: dict[str, str | None] = {}
        for call in self._calls(listed):
            unconfirmed.update(self._delete_call(call, listed, tally, unconfirmed))
        if unconfirmed:
            codes = sorted({code for code in unconfirmed.values() if code})
            silent = sum(1 for code in unconfirmed.values() if not code)
            raise MediaDeletionError(
                f"{self.subject}: S3 did not confirm the deletion of {len(unconfirmed)} of {len(unique)} objects in "
                f"bucket {self.bucket} (errors: {', '.join(codes) or 'none'}; named in neither Deleted nor Errors: "
                f"{silent}); their rows were kept"
            )

    @staticmethod
    def _calls(listed: dict[str, list[Version]]) -> Iterator[list[tuple[str, Version]]]:
        """(key, version) pairs in calls of at most 1000, keeping a key's versions together where they fit."""
        call: list[tuple[str, Version]] = []
        for key, versions in listed.items():
            if call and len(call) + len(versions) > DELETE_OBJECTS_MAX_KEYS:
                yield call
                call = []
            for version in versions:
                call.append((key, version))
                if len(call) == DELETE_OBJECTS_MAX_KEYS:
                    yield call
                    call = []
        if call:
            yield call

    def _delete_call(self, call: list[tuple[str, Version]], listed: dict[str, list[Version]], tally: Tally,
                     failed_before: dict[str, str | None]) -> dict[str, str | None]:
        """One DeleteObjects call; the keys it did not confirm, each with its error code (None: not named)."""
        from botocore.exceptions import BotoCoreError, ClientError

        objects = [{"Key": key, **({"VersionId": v.version_id} if v.version_id else {})} for key, v in call]
        try:
            reply = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": False})
        except (BotoCoreError, ClientError) as exc:
            raise self._s3_error(exc, "deleting objects") from None
        # An unversioned key (None) is confirmed by a Deleted entry without a version, or with "null".
        confirmed = {(item.get("Key"), item.get("VersionId")) for item in reply.get("Deleted", [])}
        confirmed |= {(key, None) for key, version in confirmed if version in (None, "null")}
        # An error names its key, and (on AWS, not on every server) the version it was asked about.
        errors = {item.get("Key"): item.get("Code", "unknown") for item in reply.get("Errors", [])}
        by_key: dict[str, list[Version]] = {}
        for key, version in call:
            by_key.setdefault(key, []).append(version)
        unconfirmed: dict[str, str | None] = {}
        objects_deleted = versions_deleted = 0
        for key, versions in by_key.items():
            missing = [(key, v.version_id) for v in versions if (key, v.version_id) not in confirmed]
            if missing:
                unconfirmed[key] = errors.get(key)
                continue
            versions_deleted += sum(1 for version in versions if not version.delete_marker)
            # A key whose versions span calls is counted once, in the call that deletes its last one,
            # and only if no earlier call failed on it.
            last = versions[-1] == listed[key][-1]
            if last and key not in failed_before and any(not v.delete_marker for v in listed[key]):
                objects_deleted += 1
                tally.deleted_keys.add(key)
        if objects_deleted or versions_deleted:
            tally.add_irrevocable(objects_deleted=objects_deleted, object_versions_deleted=versions_deleted)
        return unconfirmed
