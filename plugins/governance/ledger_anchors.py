"""Ledger anchors: verified ledger heads, kept outside the database as objects in the reports bucket.

A hash chain alone cannot show that its newest entries were removed, or that the whole chain
was recomputed. Each time a workflow verifies the ledger, it writes the verified head
(seq, entry_hash) as an object of its own under `ledger-anchors/`, with Object Lock in
COMPLIANCE mode where the bucket has Object Lock, so that no database role, restore or
superuser can remove it. Verification then checks the chain against every anchor: an
anchored entry that is missing or different is found and named.

The anchor is its key, `ledger-anchors/<seq, 12 digits>-<entry_hash>-signed-<seq>.json`,
where the last part is the first entry that was signed when the head was verified: from
there on every entry must carry a valid signature, even if someone later clears them all.
Listing the prefix is enough to read every anchor. The body repeats it, with when and by
which run it was verified, for people reading the bucket.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from governance.errors import GovernanceError, error_code

ANCHOR_PREFIX = "ledger-anchors/"
ANCHOR_RETENTION = relativedelta(years=7)  # as long as the longest evidence the ledger accounts for
_ANCHOR_KEY = re.compile(
    rf"^{ANCHOR_PREFIX}(?P<seq>\d{{12}})-(?P<hash>[0-9a-f]{{64}})(?:-signed-(?P<signed>\d{{12}}))?\.json$"
)


class AnchorStoreError(GovernanceError):
    """The anchors could not be read or written."""


@dataclass(frozen=True)
class Anchors:
    """What the bucket holds under the anchor prefix."""

    pairs: list[tuple[int, str]]
    unreadable: list[str]  # keys under the prefix that are not anchors: someone wrote there
    signed_from: int | None = None  # the earliest first-signed seq any anchor recorded
    written_at: dict[tuple[int, str], datetime] = field(default_factory=dict)  # per pair, when storage received it


def anchor_key(seq: int, entry_hash: str, signed_from: int | None) -> str:
    signed = f"-signed-{signed_from:012d}" if signed_from else ""
    return f"{ANCHOR_PREFIX}{seq:012d}-{entry_hash}{signed}.json"


def bucket_has_object_lock(s3: Any, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        configuration = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as exc:
        if error_code(exc) == "ObjectLockConfigurationNotFoundError":
            return False
        raise AnchorStoreError(f"cannot read the Object Lock configuration of bucket {bucket} "
                               f"({type(exc).__name__} {error_code(exc)})") from None
    return configuration.get("ObjectLockEnabled") == "Enabled"


def read_anchors(s3: Any, bucket: str) -> Anchors:
    """Every anchor in the bucket (from the listing alone: the keys, and when each was written)."""
    from botocore.exceptions import BotoCoreError, ClientError

    pairs, unreadable, signed, written_at = [], [], [], {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ANCHOR_PREFIX):
            for item in page.get("Contents", []):
                match = _ANCHOR_KEY.match(item["Key"])
                if match:
                    pairs.append((int(match["seq"]), match["hash"]))
                    written_at[pairs[-1]] = item["LastModified"]
                    if match["signed"]:
                        signed.append(int(match["signed"]))
                else:
                    unreadable.append(item["Key"])
    except (BotoCoreError, ClientError) as exc:
        raise AnchorStoreError(f"cannot list the ledger anchors in bucket {bucket} "
                               f"({type(exc).__name__} {error_code(exc) or ''})".rstrip() + ")") from None
    return Anchors(pairs=pairs, unreadable=unreadable, signed_from=min(signed, default=None), written_at=written_at)


def write_anchor(s3: Any, bucket: str, *, seq: int, entry_hash: str, signed_from: int | None,
                 verified_at: datetime, workflow: str, run_id: str) -> dict[str, Any]:
    """Write the head (seq, entry_hash) as an anchor, locked until verified_at + 7 years where the bucket allows.

    Idempotent: an anchor that is already there is left as it is.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    key = anchor_key(seq, entry_hash, signed_from)
    try:
        locked = bucket_has_object_lock(s3, bucket)
        if any(item["Key"] == key for item in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])):
            return {"key": key, "locked": locked, "written": False}
        body = json.dumps({"seq": seq, "entry_hash": entry_hash, "signed_from_seq": signed_from,
                           "verified_at": verified_at.isoformat(), "workflow": workflow, "run_id": run_id},
                          sort_keys=True).encode()
        extra: dict[str, Any] = {}
        if locked:
            # Set retain-until explicitly (some servers count a retention in Years as 365 days).
            extra = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": verified_at + ANCHOR_RETENTION}
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", ChecksumAlgorithm="SHA256",
                      **extra)
    except (BotoCoreError, ClientError) as exc:
        raise AnchorStoreError(f"cannot write the ledger anchor for seq {seq} to bucket {bucket} "
                               f"({type(exc).__name__} {error_code(exc) or ''})".rstrip() + ")") from None
    return {"key": key, "locked": locked, "written": True}
