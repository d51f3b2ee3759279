"""Builders of the content tables: generations, uploads and the moderation events about them."""

from __future__ import annotations

from typing import Any

import numpy as np

from scripts.seeding.accounts import Users
from scripts.seeding.clock import HOUR, Clock, near_cutoff, within
from scripts.seeding.prompts import Prompts
from scripts.seeding.schema import NULL, Table, by_time
from scripts.seeding.vocabulary import (
    ACTIONS,
    CANARY_SHARE,
    CRITICAL_CATEGORIES,
    CRITICAL_CATEGORY_P,
    CRITICAL_SHARE,
    DELETED_ROW_SHARE,
    FAILED_SHARE,
    IMAGE_PROVIDER_P,
    IMAGE_PROVIDERS,
    MEANS,
    STANDARD_CATEGORIES,
    STANDARD_CATEGORY_P,
    VIDEO_PROVIDER_P,
    VIDEO_PROVIDERS,
    VIDEO_SHARE,
    WITH_GENERATION_SHARE,
)


def _deleted_by_user(rng: np.random.Generator, created: np.ndarray, end: np.ndarray, clock: Clock) -> np.ndarray:
    """deleted_at for ~5 % of rows (between creation and the owner's end), some within a day of now."""
    n = len(created)
    deleted = np.full(n, NULL, dtype=np.int64)
    rows = np.flatnonzero(rng.random(n) < DELETED_ROW_SHARE)
    deleted[rows] = within(rng, created[rows], end[rows])
    near_cutoff(rng, deleted, rows, (created, end), clock.now, share=0.1)
    return deleted


def _media_keys(prefix: str, owners: np.ndarray, ids: np.ndarray, extensions: np.ndarray,
                present: np.ndarray) -> np.ndarray:
    keys = [f"{prefix}/{u}/{i}.{e}" if ok else None
            for u, i, e, ok in zip(owners.tolist(), ids.tolist(), extensions.tolist(), present.tolist(), strict=True)]
    return np.array(keys, dtype=object)


def build_generations(rng: np.random.Generator, users: Users, prompts: Prompts, clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["generations"])
    n = len(owner)
    video = rng.random(n) < VIDEO_SHARE
    provider = np.where(video, VIDEO_PROVIDERS[rng.choice(3, n, p=VIDEO_PROVIDER_P)],
                        IMAGE_PROVIDERS[rng.choice(3, n, p=IMAGE_PROVIDER_P)])
    failed = rng.random(n) < FAILED_SHARE
    columns = {
        "generation_id": np.arange(n), "user_id": users.table.columns["user_id"][owner],
        "kind": np.where(video, "video", "image").astype(object), "prompt_hash": prompts.draw(rng, n, CANARY_SHARE),
        "model_provider": provider, "status": np.where(failed, "failed", "completed").astype(object),
        "created_at": ts, "deleted_at": _deleted_by_user(rng, ts, users.end[owner], clock),
        "media_deleted_at": np.full(n, NULL, dtype=np.int64), "media_key": np.empty(n, dtype=object),
    }
    table = by_time("generations", "generation_id", columns)
    c = table.columns
    c["media_key"] = _media_keys("generations", c["user_id"], c["generation_id"],
                                 np.where(c["kind"] == "video", "mp4", "png"), c["status"] == "completed")
    return table


def build_uploads(rng: np.random.Generator, users: Users, clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["uploads"])
    n = len(owner)
    video = rng.random(n) < 0.25
    columns = {
        "upload_id": np.arange(n), "user_id": users.table.columns["user_id"][owner],
        "kind": np.where(video, "video", "image").astype(object), "media_key": np.empty(n, dtype=object),
        "created_at": ts, "deleted_at": _deleted_by_user(rng, ts, users.end[owner], clock),
    }
    table = by_time("uploads", "upload_id", columns)
    c = table.columns
    c["media_key"] = _media_keys("uploads", c["user_id"], c["upload_id"], np.where(c["kind"] == "video", "mp4", "jpg"),
                                 np.ones(n, dtype=bool))
    return table


def _pick_generation(rng: np.random.Generator, owner: np.ndarray, users: Users, generations: Table) -> np.ndarray:
    """For ~a third of the events, the row index of one of the owner's generations; -1 for the rest."""
    gen_owner = np.searchsorted(users.table.columns["user_id"], generations.columns["user_id"])
    by_user = np.argsort(gen_owner, kind="stable")
    count = np.bincount(gen_owner, minlength=len(users))
    start = np.cumsum(count) - count
    offset = (rng.random(len(owner)) * count[owner]).astype(np.int64)
    wanted = (rng.random(len(owner)) < WITH_GENERATION_SHARE) & (count[owner] > 0)
    if not wanted.any():
        return np.full(len(owner), -1, dtype=np.int64)
    return np.where(wanted, by_user[np.minimum(start[owner] + offset, len(by_user) - 1)], -1)


def _take(values: np.ndarray, rows: np.ndarray, fill: Any) -> np.ndarray:
    """values[rows] where rows >= 0, else fill (also when values is empty)."""
    if not len(values):
        return np.full(len(rows), fill, dtype=values.dtype)
    return np.where(rows >= 0, values[np.maximum(rows, 0)], fill)


def _by_severity(rng: np.random.Generator, critical: np.ndarray, with_gen: np.ndarray) -> tuple[np.ndarray, ...]:
    n = len(critical)
    category = np.where(critical, CRITICAL_CATEGORIES[rng.choice(len(CRITICAL_CATEGORIES), n, p=CRITICAL_CATEGORY_P)],
                        STANDARD_CATEGORIES[rng.choice(len(STANDARD_CATEGORIES), n, p=STANDARD_CATEGORY_P)])
    action = np.empty(n, dtype=object)
    for (gen, crit), (names, p) in ACTIONS.items():
        drawn = np.array(names, dtype=object)[rng.choice(len(names), n, p=p)]
        mask = (with_gen == gen) & (critical == crit)
        action[mask] = drawn[mask]
    return category, action


def build_moderation_events(rng: np.random.Generator, users: Users, generations: Table, prompts: Prompts,
                            clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["moderation_events"])
    n = len(owner)
    gen_row = _pick_generation(rng, owner, users, generations)
    with_gen = gen_row >= 0
    g = generations.columns
    lo = np.where(with_gen, _take(g["created_at"], gen_row, 0), users.created[owner])
    hi = users.end[owner]
    ts = np.where(with_gen, np.minimum(lo + rng.exponential(2 * HOUR, n).astype(np.int64), hi), ts)
    rows = np.arange(n)
    forced = near_cutoff(rng, ts, rows, (lo, hi), clock.before(years=7), share=0.01)
    critical = rng.random(n) < CRITICAL_SHARE
    critical[forced] = True
    near_cutoff(rng, ts, rows[~critical], (lo, hi), clock.before(days=90), share=0.03)
    category, action = _by_severity(rng, critical, with_gen)
    loose = prompts.draw(rng, n, canary_share=0.1)
    loose[action == "account_suspended"] = None
    columns = {
        "event_id": rows, "user_id": users.table.columns["user_id"][owner],
        "generation_id": _take(g["generation_id"], gen_row, NULL),
        "prompt_hash": np.where(with_gen, _take(g["prompt_hash"], gen_row, None), loose),
        "category": category, "severity": np.where(critical, "critical", "standard").astype(object),
        "action": action, "created_at": ts,
    }
    return by_time("moderation_events", "event_id", columns)


def mark_removed_media(generations: Table, moderation: Table) -> None:
    """Content deleted by moderation has no media left: media_deleted_at is the first such event."""
    m, g = moderation.columns, generations.columns
    flagged = (m["action"] == "content_deleted") & (m["generation_id"] != NULL)
    first = np.full(len(generations), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, m["generation_id"][flagged] - 1, m["created_at"][flagged])  # generation_id = row + 1
    removed = (first != np.iinfo(np.int64).max) & (g["media_key"] != None)  # noqa: E711 (elementwise)
    g["media_deleted_at"] = np.where(removed, first, g["media_deleted_at"])
