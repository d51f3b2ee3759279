"""Reference rows with exactly the timestamps a test needs (and their media objects)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

CUTOFF = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
LONG_AGO = datetime(2023, 11, 25, 2, 0, tzinfo=UTC)


class Data:
    """Inserts reference rows (and their media objects) with exactly the timestamps a test needs."""

    def __init__(self, conn, s3, bucket):
        self.conn, self.s3, self.bucket, self.next_id = conn, s3, bucket, 1000

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _put(self, key: str) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"media")
        return key

    def user(self, *, deleted_at=None, user_id=None) -> int:
        user_id = user_id or self._id()
        self.conn.execute(
            "INSERT INTO app.users (user_id, email, country, created_at, deleted_at) VALUES (%s, %s, 'DE', %s, %s)",
            (user_id, f"user{user_id}@example.com", LONG_AGO - timedelta(days=5 * 365), deleted_at),
        )
        return user_id

    def generation(self, user_id, *, created_at=LONG_AGO, deleted_at=None) -> int:
        gid = self._id()
        key = self._put(f"generations/{user_id}/{gid}.png")
        self.conn.execute(
            "INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, media_key,"
            " created_at, deleted_at) VALUES (%s, %s, 'image', %s, 'openai', %s, %s, %s)",
            (gid, user_id, hashlib.sha256(b"p").hexdigest(), key, created_at, deleted_at),
        )
        return gid

    def upload(self, user_id, *, deleted_at=None) -> int:
        uid = self._id()
        key = self._put(f"uploads/{user_id}/{uid}.jpg")
        self.conn.execute(
            "INSERT INTO app.uploads (upload_id, user_id, kind, media_key, created_at, deleted_at)"
            " VALUES (%s, %s, 'image', %s, %s, %s)",
            (uid, user_id, key, LONG_AGO, deleted_at),
        )
        return uid

    def session(self, user_id, *, created_at) -> int:
        sid = self._id()
        self.conn.execute(
            "INSERT INTO app.sessions (session_id, user_id, ip_hash, created_at) VALUES (%s, %s, %s, %s)",
            (sid, user_id, hashlib.sha256(b"198.51.100.7").hexdigest(), created_at),
        )
        return sid

    def usage_event(self, user_id, *, created_at) -> int:
        eid = self._id()
        self.conn.execute(
            "INSERT INTO app.usage_events (event_id, user_id, event_type, created_at) VALUES (%s, %s, 'login', %s)",
            (eid, user_id, created_at),
        )
        return eid

    def payment(self, user_id, *, country, created_at) -> int:
        pid = self._id()
        self.conn.execute(
            "INSERT INTO app.payments (payment_id, user_id, processor, amount_minor, currency, billing_country,"
            " created_at) VALUES (%s, %s, 'stripe', 990, 'EUR', %s, %s)",
            (pid, user_id, country, created_at),
        )
        return pid

    def moderation(self, user_id, *, severity="standard", action="warning", generation_id=None,
                   created_at=CUTOFF - 5 * SECOND, category="nsfw", event_id=None) -> int:
        """A moderation event; `event_id` repeats an existing one's id (the partitioned shape's key allows it with
        another created_at)."""
        eid = event_id or self._id()
        self.conn.execute(
            "INSERT INTO app.moderation_events (event_id, user_id, generation_id, prompt_hash, category, severity,"
            " action, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (eid, user_id, generation_id, hashlib.sha256(b"p").hexdigest(), category, severity, action, created_at),
        )
        return eid

    def hold(self, user_id, *, released=False) -> None:
        self.conn.execute(
            "INSERT INTO governance.legal_holds (user_id, reason, placed_by, placed_at, released_at)"
            " VALUES (%s, 'litigation', 'legal@example.com', %s, %s)",
            (user_id, LONG_AGO, CUTOFF - SECOND if released else None),
        )

    def commit(self) -> None:
        self.conn.commit()


def partition_by_month(conn, *, since: datetime) -> None:
    """Give the (empty) reference tables the partitioned shape of make seed PARTITIONED=1: sessions, usage_events and
    moderation_events range-partitioned by month on created_at, key (id, created_at), one partition per month from
    `since`'s to the month after CUTOFF's, and a DEFAULT partition for the rows of any other month."""
    from scripts.seeding.shape import PARTITIONED_CLOCKS, month_start, months_between, next_month, reshape

    months = months_between(since, next_month(month_start(CUTOFF)))
    reshape(conn, dict.fromkeys(PARTITIONED_CLOCKS, months))
