"""Builders of the account tables: users and what hangs off each account (cookie consents, sessions,
usage events, payments, disclosures). Each draws from its own random stream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scripts.seeding.clock import DAY, HOUR, Clock, near_cutoff, within
from scripts.seeding.prompts import sha256_hex
from scripts.seeding.schema import NULL, Table, by_time
from scripts.seeding.vocabulary import (
    AUTHORITIES,
    COUNTRIES,
    COUNTRY_P,
    CURRENCY,
    DELETED_USER_SHARE,
    DISCLOSURE_SHARE,
    EVENT_TYPE_P,
    EVENT_TYPES,
    FIRST_NAMES,
    LAST_INITIALS,
    LEGAL_BASIS,
    MEANS,
    PAYMENT_YEARS,
    PLAN_MULTIPLIER,
    PLAN_P,
    PRICE_MINOR,
    USER_AGENTS,
)


@dataclass
class Users:
    table: Table
    created: np.ndarray
    end: np.ndarray  # deleted_at, or now while the account lives
    activity: np.ndarray
    country: np.ndarray  # index into COUNTRIES

    def __len__(self) -> int:
        return len(self.created)

    def children(self, rng: np.random.Generator, mean: float) -> tuple[np.ndarray, np.ndarray]:
        """Owner (user index) and a created_at inside the owner's life, for ~mean rows per user."""
        owner = np.repeat(np.arange(len(self)), rng.poisson(mean * self.activity))
        return owner, within(rng, self.created[owner], self.end[owner])


def build_users(rng: np.random.Generator, n: int, clock: Clock) -> Users:
    ids = np.arange(1, n + 1, dtype=np.int64)
    span = clock.now - clock.start - HOUR
    age = (rng.random(n) ** 1.5 * span).astype(np.int64) + HOUR  # a growing service: more recent sign-ups
    created = clock.now - age
    deleted = np.full(n, NULL, dtype=np.int64)
    gone = np.flatnonzero(rng.random(n) < DELETED_USER_SHARE)
    gap = np.minimum(rng.exponential(120 * DAY, n), rng.random(n) * age).astype(np.int64)
    deleted[gone] = clock.now - gap[gone]
    near_cutoff(rng, deleted, gone, (created, np.full(n, clock.now)), clock.before(days=30), share=0.25)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_P)
    domains = np.where(rng.random(n) < 0.25, "example.org", "example.com").tolist()
    first = rng.integers(0, len(FIRST_NAMES), n).tolist()
    last = rng.integers(0, len(LAST_INITIALS), n).tolist()
    cents = rng.integers(1000, 10_001, n).tolist()
    columns = {
        "user_id": ids,
        "email": np.array([f"user{i}@{d}" for i, d in zip(ids.tolist(), domains, strict=True)], dtype=object),
        "display_name": np.array([f"{FIRST_NAMES[f]} {LAST_INITIALS[s]}." for f, s in zip(first, last, strict=True)],
                                 dtype=object),
        "country": COUNTRIES[country],
        "created_at": created,
        "deleted_at": deleted,
        "trust_score": np.array([f"{c // 100}.{c % 100:02d}" for c in cents], dtype=object),
    }
    end = np.where(deleted == NULL, clock.now, deleted)
    return Users(Table("users", columns), created, end, rng.gamma(2.0, 0.5, n), country)


def build_cookie_consents(rng: np.random.Generator, users: Users) -> Table:
    n = len(users)
    owner = np.repeat(np.arange(n), 3)
    category = np.tile(np.array(["essential", "functional", "analytics"], dtype=object), n)
    granted = np.where(category == "essential", True, rng.random(3 * n) < np.tile([1.0, 0.7, 0.55], n))
    lo, hi = users.created[owner], users.end[owner]
    changed_later = rng.random(3 * n) < 0.2
    updated = np.where(changed_later, within(rng, lo, hi), np.minimum(lo + rng.integers(0, 600, 3 * n), hi))
    columns = {"user_id": users.table.columns["user_id"][owner], "category": category, "granted": granted,
               "updated_at": updated}
    return Table("cookie_consents", columns)


def _ip_text(rng: np.random.Generator, n: int) -> list[str]:
    """Fake but plausible IP addresses: ~90 % IPv4, the rest IPv6."""
    octets = rng.integers(1, 255, (n, 4)).tolist()
    groups = rng.integers(0, 65_536, (n, 4)).tolist()
    v6 = (rng.random(n) < 0.1).tolist()
    return [
        f"2a02:{g[0]:x}:{g[1]:x}:{g[2]:x}::{g[3]:x}" if six else f"{o[0]}.{o[1]}.{o[2]}.{o[3]}"
        for o, g, six in zip(octets, groups, v6, strict=True)
    ]


def build_sessions(rng: np.random.Generator, users: Users, clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["sessions"])
    rows = np.arange(len(owner))
    bounds = (users.created[owner], users.end[owner])
    near_cutoff(rng, ts, rows, bounds, clock.before(months=13), share=0.02)
    per_user = np.array([sha256_hex(ip) for ip in _ip_text(rng, 2 * len(users))], dtype=object).reshape(-1, 2)
    which = rng.integers(0, 2, len(owner))
    columns = {
        "session_id": rows, "user_id": users.table.columns["user_id"][owner],
        "ip_hash": per_user[owner, which] if len(owner) else np.array([], dtype=object),
        "user_agent": USER_AGENTS[rng.integers(0, len(USER_AGENTS), len(owner))], "created_at": ts,
    }
    return by_time("sessions", "session_id", columns)


def build_usage_events(rng: np.random.Generator, users: Users, clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["usage_events"])
    rows = np.arange(len(owner))
    near_cutoff(rng, ts, rows, (users.created[owner], users.end[owner]), clock.before(months=13), share=0.02)
    columns = {"event_id": rows, "user_id": users.table.columns["user_id"][owner],
               "event_type": EVENT_TYPES[rng.choice(len(EVENT_TYPES), len(owner), p=EVENT_TYPE_P)], "created_at": ts}
    return by_time("usage_events", "event_id", columns)


def build_payments(rng: np.random.Generator, users: Users, clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["payments"])
    n = len(owner)
    country = users.country[owner]
    code = COUNTRIES[country]
    abroad = np.where(rng.random(n) < 0.75, "stripe", "paypal").astype(object)
    kz = np.where(rng.random(n) < 0.5, "stripe", "paypal").astype(object)
    processor = np.where(code == "RU", "yookassa", np.where(code == "KZ", kz, abroad)).astype(object)
    bounds = (users.created[owner], users.end[owner])
    for billing, years in PAYMENT_YEARS.items():
        near_cutoff(rng, ts, np.flatnonzero(code == billing), bounds, clock.before(years=years), share=0.05)
    columns = {
        "payment_id": np.arange(n), "user_id": users.table.columns["user_id"][owner], "processor": processor,
        "amount_minor": PRICE_MINOR[country] * PLAN_MULTIPLIER[rng.choice(3, n, p=PLAN_P)],
        "currency": CURRENCY[country], "billing_country": code, "created_at": ts,
    }
    return by_time("payments", "payment_id", columns)


def build_disclosures(rng: np.random.Generator, users: Users) -> Table:
    n = len(users)
    count = max(1, round(DISCLOSURE_SHARE * n)) if n else 0
    chosen = np.sort(rng.choice(n, count, replace=False)) if count else np.array([], dtype=np.int64)
    places = list(AUTHORITIES)
    fallback = rng.integers(0, len(places), count).tolist()
    which = rng.integers(0, 3, count).tolist()
    country = [c if c in AUTHORITIES else places[f]
               for c, f in zip(COUNTRIES[users.country[chosen]].tolist(), fallback, strict=True)]
    authority = [AUTHORITIES[c][w % len(AUTHORITIES[c])] for c, w in zip(country, which, strict=True)]
    columns = {
        "disclosure_id": np.arange(count), "user_id": users.table.columns["user_id"][chosen],
        "authority": np.array(authority, dtype=object), "country": np.array(country, dtype=object),
        "legal_basis": np.array([LEGAL_BASIS[c] for c in country], dtype=object),
        "disclosed_at": within(rng, users.created[chosen], users.end[chosen]),
    }
    return by_time("disclosures", "disclosure_id", columns, ts_column="disclosed_at")
