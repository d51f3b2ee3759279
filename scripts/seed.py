"""Seed the reference database (schema app) with deterministic, realistic data.

    python scripts/seed.py --scale 2000                          # 2,000 users and their rows, media objects
    python scripts/seed.py --scale 200 --inject raw_ips,overdue  # plant known violations, list them in JSON
    python scripts/seed.py --scale 0                             # empty reference schema
    python scripts/seed.py --write-canaries                      # regenerate include/canaries/prompts.txt

Every run first TRUNCATEs the nine app tables and governance.legal_holds (never the audit
ledger), so a rerun replaces the data. The same --seed, --scale and --as-of give byte-identical
table contents: every draw comes from numpy Generator(PCG64) streams named per table.

The data, per user on average: ~10 generations, ~2 uploads, ~5 sessions, ~20 usage events,
3 cookie consents, ~0.6 moderation events, ~1 payment; disclosures for ~0.3 % of users. About
8 % of accounts and 5 % of generations and uploads are deleted. Timestamps spread over the
8 years before --as-of, and some rows sit exactly on, or 1 s / 1 h / 1 day either side of,
every retention cutoff (account deletion + 30 days, moderation 90 days and critical 7 years,
sessions and usage 13 months, payments 5/6/7 years by billing country, deletion by the user).

Without --inject the data breaks no promise that a check can see: prompts and IPs are only
SHA-256 hex, recipients are only codes of the register (include/policy/transfers.yaml), and a
generation flagged `content_deleted` has media_deleted_at set and no object in the bucket.
Rows past their retention period do exist, as in any database that ages: the purge has work.

--inject plants INJECT_COUNT (5) violations per kind, with ids from 9,000,000,000 up, on users
of their own, so the base rows are the same with or without injections. Their keys go to the
summary and to --injections-out (JSON):

    {"seed": 42, "scale": 200, "as_of": "...", "injections": {NAME: {
        "description": "...",
        "violations": {table: [keys]},   # the rows that break the promise
        "rules": {rule: [keys]},         # overdue, prohibited_media: what each retention rule must remove
        "planted": {table: [keys]},      # every row the injection inserted (violations, hosts, children)
        "media_keys": [...]}}}           # objects it put (none with --no-media)

cookie_consents keys are [user_id, category] pairs. Raw values never appear in the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    from governance import storage
except ModuleNotFoundError:  # run as a script: plugins/ is not on sys.path yet
    sys.path.insert(0, str(ROOT / "plugins"))
    from governance import storage

CANARY_FILE = ROOT / "include" / "canaries" / "prompts.txt"
CANARY_COUNT = 300
CANARY_SEED = 20260417
DEFAULT_INJECTIONS_OUT = ROOT / ".local" / "injections.json"

INJECTIONS = ("raw_prompts", "raw_ips", "overdue", "prohibited_media", "unregistered_recipient")
INJECT_COUNT = 5
INJECT_ID_BASE = 9_000_000_000
INJECT_ID_BLOCK = 1_000_000
UNREGISTERED_PROVIDER = "shadow_ai_labs"
UNREGISTERED_PROCESSOR = "quickpay_offshore"

MEDIA_WORKERS = 16
COPY_CHUNK_ROWS = 100_000
DAY = 86_400
HOUR = 3_600
NULL = np.iinfo(np.int64).min  # NULL in int64 columns (also NaT as datetime64)
NEAR_OFFSETS = np.array([-DAY, -HOUR, -1, 0, 1, HOUR, DAY], dtype=np.int64)

# -- the schema, as far as the seed writes it ---------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("user_id", "email", "display_name", "country", "created_at", "deleted_at", "trust_score"),
    "cookie_consents": ("user_id", "category", "granted", "updated_at"),
    "sessions": ("session_id", "user_id", "ip_hash", "user_agent", "created_at"),
    "usage_events": ("event_id", "user_id", "event_type", "created_at"),
    "generations": ("generation_id", "user_id", "kind", "prompt_hash", "model_provider", "media_key", "status",
                    "created_at", "deleted_at", "media_deleted_at"),
    "uploads": ("upload_id", "user_id", "kind", "media_key", "created_at", "deleted_at"),
    "moderation_events": ("event_id", "user_id", "generation_id", "prompt_hash", "category", "severity", "action",
                          "created_at"),
    "payments": ("payment_id", "user_id", "processor", "amount_minor", "currency", "billing_country", "created_at"),
    "disclosures": ("disclosure_id", "user_id", "authority", "country", "legal_basis", "disclosed_at"),
}
TABLE_ORDER = tuple(COLUMNS)  # foreign-key order: users first
KEYS = {"users": "user_id", "sessions": "session_id", "usage_events": "event_id", "generations": "generation_id",
        "uploads": "upload_id", "moderation_events": "event_id", "payments": "payment_id",
        "disclosures": "disclosure_id"}
INT_COLUMNS = frozenset({"user_id", "session_id", "event_id", "generation_id", "upload_id", "payment_id",
                         "disclosure_id", "amount_minor"})
TRUNCATE = ("TRUNCATE app.users, app.cookie_consents, app.sessions, app.usage_events, app.generations, app.uploads,"
            " app.moderation_events, app.payments, app.disclosures, governance.legal_holds RESTART IDENTITY")

# -- what the rows hold ------------------------------------------------------------------

MEANS = {"generations": 10.0, "uploads": 2.0, "sessions": 5.0, "usage_events": 20.0, "moderation_events": 0.6,
         "payments": 1.0}
DELETED_USER_SHARE = 0.08
DELETED_ROW_SHARE = 0.05
FAILED_SHARE = 0.03
CRITICAL_SHARE = 0.05
WITH_GENERATION_SHARE = 1 / 3
CANARY_SHARE = 0.01
DISCLOSURE_SHARE = 0.003

COUNTRIES = np.array(["RU", "DE", "FR", "US", "GB", "NL", "KZ", "ES", "IT", "PL"], dtype=object)
COUNTRY_P = (0.32, 0.12, 0.08, 0.14, 0.08, 0.05, 0.06, 0.05, 0.05, 0.05)
CURRENCY = np.array(["RUB", "EUR", "EUR", "USD", "GBP", "EUR", "KZT", "EUR", "EUR", "PLN"], dtype=object)
PRICE_MINOR = np.array([49_000, 990, 990, 999, 899, 990, 249_000, 990, 990, 3_999], dtype=np.int64)
PLAN_MULTIPLIER = np.array([1, 3, 10], dtype=np.int64)
PLAN_P = (0.65, 0.27, 0.08)
# Payment periods of include/policy/retention.yaml that end inside the 8-year window (DE, FR
# and the default are 10 years: nothing of theirs is due yet).
PAYMENT_YEARS = {"RU": 5, "KZ": 5, "GB": 6, "NL": 7, "US": 7}

IMAGE_PROVIDERS = np.array(["openai", "stability_ai", "google_vertex"], dtype=object)
IMAGE_PROVIDER_P = (0.5, 0.3, 0.2)
VIDEO_PROVIDERS = np.array(["runway", "kling_ai", "google_vertex"], dtype=object)
VIDEO_PROVIDER_P = (0.45, 0.35, 0.2)
VIDEO_SHARE = 0.2
MEDIA_BODIES = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff\xe0", "mp4": b"\x00\x00\x00\x18ftypmp42"}

EVENT_TYPES = np.array(["login", "generate_image", "generate_video", "upload", "view_gallery", "download", "share",
                        "settings_change", "subscribe"], dtype=object)
EVENT_TYPE_P = (0.25, 0.25, 0.08, 0.07, 0.15, 0.08, 0.06, 0.04, 0.02)
USER_AGENTS = np.array([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) YaBrowser/24.4 Safari/537.36",
    "Clipia/3.2.1 (iOS 17.4; iPhone15,2)",
    "Clipia/3.2.0 (Android 14; SM-S918B)",
], dtype=object)

STANDARD_CATEGORIES = np.array(["nsfw", "violence", "hate", "self_harm", "spam", "copyright"], dtype=object)
STANDARD_CATEGORY_P = (0.35, 0.15, 0.12, 0.05, 0.2, 0.13)
CRITICAL_CATEGORIES = np.array(["csam_suspected", "violence", "self_harm", "hate"], dtype=object)
CRITICAL_CATEGORY_P = (0.3, 0.3, 0.2, 0.2)
# (references a generation, critical) -> actions and their weights
ACTIONS = {
    (True, False): (("warning", "content_deleted", "account_suspended"), (0.45, 0.5, 0.05)),
    (True, True): (("content_deleted", "account_suspended"), (0.6, 0.4)),
    (False, False): (("prompt_blocked", "warning", "account_suspended"), (0.65, 0.3, 0.05)),
    (False, True): (("prompt_blocked", "account_suspended"), (0.5, 0.5)),
}

AUTHORITIES = {
    "RU": ("Roskomnadzor", "Investigative Committee of Russia", "Ministry of Internal Affairs of Russia"),
    "DE": ("Police of Berlin", "Bundeskriminalamt"),
    "FR": ("Police nationale, Paris", "Parquet de Paris"),
    "NL": ("Politie Amsterdam",),
    "GB": ("Metropolitan Police Service",),
    "US": ("Federal Bureau of Investigation",),
    "KZ": ("Prosecutor General's Office of Kazakhstan",),
}
LEGAL_BASIS = {"RU": "152-FZ art. 6(1)(3)", "DE": "GDPR art. 6(1)(c)", "FR": "GDPR art. 6(1)(c)",
               "NL": "GDPR art. 6(1)(c)", "GB": "UK GDPR art. 6(1)(c)", "US": "GDPR art. 49(1)(e)",
               "KZ": "GDPR art. 49(1)(e)"}

FIRST_NAMES = ("Anna", "Ivan", "Maria", "Dmitry", "Olga", "Lukas", "Sophie", "Jonas", "Emma", "Louis", "Chloe",
               "James", "Olivia", "Noah", "Amelia", "Daan", "Sanne", "Aigerim", "Nursultan", "Lucia", "Marco",
               "Zofia", "Jakub", "Elena", "Pablo", "Giulia", "Sergei", "Yulia", "Mia", "Leo")
LAST_INITIALS = "ABCDEFGHIKLMNOPRSTVZ"

# Prompts of ordinary users: "{subject} {scene}, {style}[, {extra}]".
SUBJECTS = (
    "a red fox", "an astronaut cat", "a lighthouse", "a vintage car", "a baby dragon", "a samurai", "a cozy cabin",
    "a robot barista", "a koi pond", "a snowy owl", "a cyberpunk street", "a mountain lake", "a sunflower field",
    "a steampunk airship", "a girl with a red umbrella", "an old fisherman", "a medieval castle", "a tiny house",
    "a jellyfish", "a wolf pack", "a bowl of ramen", "a floating island", "a city skyline", "a tea house",
    "a knight in silver armor", "a corgi wearing sunglasses", "a greenhouse", "a desert caravan", "a neon arcade",
    "a viking ship", "a hot air balloon", "a library with endless shelves", "a mermaid", "a treehouse village",
    "a panda eating bamboo", "a retro diner", "a waterfall", "a cathedral interior", "a fantasy marketplace",
    "a polar bear", "a vintage typewriter", "a futuristic train", "a sleeping kitten", "a lavender farm",
    "a portrait of an elderly woman", "a bonsai tree", "a pirate ship", "a snow leopard", "a bustling night market",
    "a forest spirit",
)
SCENES = (
    "at sunset", "in the rain", "under the northern lights", "on a foggy morning", "in a neon-lit alley",
    "floating in space", "in a misty forest", "at golden hour", "during a thunderstorm", "in deep winter",
    "on an alien planet", "at the bottom of the ocean", "in a field of wildflowers", "on a rooftop at night",
    "in an abandoned subway", "among cherry blossoms", "in a sandstorm", "by candlelight", "in autumn leaves",
    "above the clouds", "on a rainy Tokyo street", "in a snow globe", "at dawn", "in a crystal cave",
    "in a busy harbor", "on a quiet beach", "in a bamboo forest", "under a full moon", "in a cluttered workshop",
    "on the edge of a cliff",
)
STYLES = (
    "watercolor", "oil painting", "anime style", "pixel art", "isometric 3d render", "cinematic photo",
    "charcoal sketch", "low poly", "ukiyo-e print", "vaporwave", "art nouveau poster", "35mm film photo",
    "claymation", "studio photography", "digital painting", "pencil drawing", "stained glass", "comic book style",
    "impressionist painting", "hyperrealistic", "children's book illustration", "gothic", "synthwave",
    "minimalist vector art", "baroque painting", "polaroid photo", "concept art", "papercraft", "tilt-shift photo",
    "matte painting",
)
EXTRAS = (
    "", "4k", "8k, highly detailed", "soft lighting", "dramatic lighting", "trending on artstation", "bokeh",
    "wide angle", "volumetric light", "pastel colors", "golden hour", "high contrast", "muted colors",
    "ultra detailed, sharp focus", "symmetrical composition", "shallow depth of field", "vivid colors",
    "slow motion", "drone shot", "looping animation",
)
# Canary prompts (their raw text is known to the data-quality checks): another template, so
# they never coincide with an ordinary prompt. "a {medium} {animal} {place}, {finish}".
CANARY_MEDIA = ("watercolor", "gouache", "linocut", "pastel", "ink wash", "stained glass", "papercut", "embroidered",
                "mosaic", "charcoal", "origami", "woodcut", "oil pastel", "ceramic", "neon sign", "felt")
CANARY_ANIMALS = ("fox", "hare", "heron", "lynx", "otter", "badger", "owl", "stag", "hedgehog", "raven", "seal",
                  "marten", "crane", "bison", "beaver", "moth", "whale", "tortoise", "ibex", "wren")
CANARY_PLACES = ("in a misty forest", "on a frozen lake", "in a moonlit meadow", "under falling snow",
                 "beside a quiet river", "in an old library", "on a windy hill", "among red poppies",
                 "in a glass greenhouse", "at a night market", "under a paper lantern", "in a rainy courtyard")
CANARY_FINISHES = ("4k", "8k", "soft light", "muted palette", "film grain", "wide shot",
                   "highly detailed, dramatic rim lighting, muted earthy palette",
                   "cinematic composition, volumetric fog, ultra detailed textures",
                   "storybook illustration, warm evening light, gentle film grain")


# -- randomness and time ------------------------------------------------------------------


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent PCG64 stream per table: adding a draw to one table leaves the others alone."""
    return np.random.Generator(np.random.PCG64([seed, zlib.crc32(stream.encode())]))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def default_as_of() -> datetime:
    """Today 00:00 UTC."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _normalise_as_of(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Clock:
    """The reference now (as_of) and the instants the retention rules count back to, in epoch seconds."""

    as_of: datetime

    @property
    def now(self) -> int:
        return int(self.as_of.timestamp())

    def before(self, *, years: int = 0, months: int = 0, days: int = 0) -> int:
        """Calendar arithmetic, as the policy's periods use it (P1M before 31 March is 28/29 February)."""
        from dateutil.relativedelta import relativedelta

        return int((self.as_of - relativedelta(years=years, months=months, days=days)).timestamp())

    @property
    def start(self) -> int:
        return self.before(years=8)


def _near(rng: np.random.Generator, ts: np.ndarray, rows: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
          cutoff: int, share: float) -> np.ndarray:
    """Move a share of `rows` (at least one) onto `cutoff`, or 1 s, 1 h or 1 day either side of it.

    `bounds` are per-row arrays (lo, hi) aligned with `ts`; a row only moves where its new time
    stays inside them (never before its parent, never after its end). Returns the rows moved.
    """
    if len(rows) == 0:
        return rows
    target = cutoff + rng.choice(NEAR_OFFSETS, len(rows))
    lo, hi = bounds
    fits = (lo[rows] <= target) & (target <= hi[rows])
    candidates, targets = rows[fits], target[fits]
    if len(candidates) == 0:
        return candidates
    wanted = min(len(candidates), max(1, round(share * len(rows))))
    chosen = np.sort(rng.choice(len(candidates), wanted, replace=False))
    ts[candidates[chosen]] = targets[chosen]
    return candidates[chosen]


def _within(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform instant in [lo, hi] per row."""
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)


# -- prompts ------------------------------------------------------------------------------


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def canary_prompts(count: int = CANARY_COUNT) -> list[str]:
    """The canary prompts, in file order: unique, realistic, the same on every call."""
    return list(_canaries(count))


@cache
def _canaries(count: int) -> tuple[str, ...]:
    shape = (len(CANARY_MEDIA), len(CANARY_ANIMALS), len(CANARY_PLACES), len(CANARY_FINISHES))
    picks = np.random.Generator(np.random.PCG64(CANARY_SEED)).choice(int(np.prod(shape)), count, replace=False)
    prompts = []
    for m, a, p, f in zip(*np.unravel_index(picks, shape), strict=True):
        medium = CANARY_MEDIA[m]
        prompts.append(f"{_article(medium)} {medium} {CANARY_ANIMALS[a]} {CANARY_PLACES[p]}, {CANARY_FINISHES[f]}")
    return tuple(prompts)


def write_canary_file(path: Path = CANARY_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(canary_prompts()) + "\n")
    return path


@dataclass(frozen=True)
class Prompts:
    """Hashes of the prompts generations draw from: an ordinary pool and the canaries."""

    pool: np.ndarray  # object array of SHA-256 hex
    canaries: np.ndarray

    @classmethod
    def build(cls, rng: np.random.Generator, expected_uses: int) -> Prompts:
        shape = (len(SUBJECTS), len(SCENES), len(STYLES), len(EXTRAS))
        space = int(np.prod(shape))
        size = min(space, max(1000, expected_uses // 2))
        picks = rng.choice(space, size, replace=False)
        hashes = [
            sha256_hex(f"{SUBJECTS[s]} {SCENES[c]}, {STYLES[t]}" + (f", {EXTRAS[e]}" if EXTRAS[e] else ""))
            for s, c, t, e in zip(*np.unravel_index(picks, shape), strict=True)
        ]
        canaries = [sha256_hex(text) for text in canary_prompts()]
        return cls(np.array(hashes, dtype=object), np.array(canaries, dtype=object))

    def draw(self, rng: np.random.Generator, n: int, canary_share: float) -> np.ndarray:
        ordinary = self.pool[rng.integers(0, len(self.pool), n)]
        canary = self.canaries[rng.integers(0, len(self.canaries), n)]
        return np.where(rng.random(n) < canary_share, canary, ordinary)


# -- tables -------------------------------------------------------------------------------


@dataclass
class Table:
    """Columns of one app table as numpy arrays: int64 for ids and *_at (epoch seconds, NULL for null),
    bool for booleans, object (str or None) for text."""

    name: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @classmethod
    def empty(cls, name: str) -> Table:
        return cls.from_rows(name, [])

    @classmethod
    def from_rows(cls, name: str, rows: Sequence[dict[str, Any]]) -> Table:
        return cls(name, {column: _array(column, [row.get(column) for row in rows]) for column in COLUMNS[name]})

    def append(self, other: Table) -> Table:
        return Table(self.name, {c: np.concatenate([v, other.columns[c]]) for c, v in self.columns.items()})


def _array(column: str, values: list[Any]) -> np.ndarray:
    if column == "granted":
        return np.array(values, dtype=bool)
    if column in INT_COLUMNS or column.endswith("_at"):
        return np.array([NULL if v is None else v for v in values], dtype=np.int64)
    return np.array(values, dtype=object)


def _by_time(name: str, key: str, columns: dict[str, np.ndarray], ts_column: str = "created_at") -> Table:
    """Rows in time order (ties by user), numbered 1.. in that order, as ids grow in a live system."""
    order = np.lexsort((columns["user_id"], columns[ts_column]))
    ordered = {column: values[order] for column, values in columns.items()}
    ordered[key] = np.arange(1, len(order) + 1, dtype=np.int64)
    return Table(name, {column: ordered[column] for column in COLUMNS[name]})


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
        return owner, _within(rng, self.created[owner], self.end[owner])


def build_users(rng: np.random.Generator, n: int, clock: Clock) -> Users:
    ids = np.arange(1, n + 1, dtype=np.int64)
    span = clock.now - clock.start - HOUR
    age = (rng.random(n) ** 1.5 * span).astype(np.int64) + HOUR  # a growing service: more recent sign-ups
    created = clock.now - age
    deleted = np.full(n, NULL, dtype=np.int64)
    gone = np.flatnonzero(rng.random(n) < DELETED_USER_SHARE)
    gap = np.minimum(rng.exponential(120 * DAY, n), rng.random(n) * age).astype(np.int64)
    deleted[gone] = clock.now - gap[gone]
    _near(rng, deleted, gone, (created, np.full(n, clock.now)), clock.before(days=30), share=0.25)
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
    updated = np.where(changed_later, _within(rng, lo, hi), np.minimum(lo + rng.integers(0, 600, 3 * n), hi))
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
    _near(rng, ts, rows, bounds, clock.before(months=13), share=0.02)
    per_user = np.array([sha256_hex(ip) for ip in _ip_text(rng, 2 * len(users))], dtype=object).reshape(-1, 2)
    which = rng.integers(0, 2, len(owner))
    columns = {
        "session_id": rows, "user_id": users.table.columns["user_id"][owner],
        "ip_hash": per_user[owner, which] if len(owner) else np.array([], dtype=object),
        "user_agent": USER_AGENTS[rng.integers(0, len(USER_AGENTS), len(owner))], "created_at": ts,
    }
    return _by_time("sessions", "session_id", columns)


def build_usage_events(rng: np.random.Generator, users: Users, clock: Clock) -> Table:
    owner, ts = users.children(rng, MEANS["usage_events"])
    rows = np.arange(len(owner))
    _near(rng, ts, rows, (users.created[owner], users.end[owner]), clock.before(months=13), share=0.02)
    columns = {"event_id": rows, "user_id": users.table.columns["user_id"][owner],
               "event_type": EVENT_TYPES[rng.choice(len(EVENT_TYPES), len(owner), p=EVENT_TYPE_P)], "created_at": ts}
    return _by_time("usage_events", "event_id", columns)


def _deleted_by_user(rng: np.random.Generator, created: np.ndarray, end: np.ndarray, clock: Clock) -> np.ndarray:
    """deleted_at for ~5 % of rows (between creation and the owner's end), some within a day of now."""
    n = len(created)
    deleted = np.full(n, NULL, dtype=np.int64)
    rows = np.flatnonzero(rng.random(n) < DELETED_ROW_SHARE)
    deleted[rows] = _within(rng, created[rows], end[rows])
    _near(rng, deleted, rows, (created, end), clock.now, share=0.1)
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
    table = _by_time("generations", "generation_id", columns)
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
    table = _by_time("uploads", "upload_id", columns)
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
    forced = _near(rng, ts, rows, (lo, hi), clock.before(years=7), share=0.01)
    critical = rng.random(n) < CRITICAL_SHARE
    critical[forced] = True
    _near(rng, ts, rows[~critical], (lo, hi), clock.before(days=90), share=0.03)
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
    return _by_time("moderation_events", "event_id", columns)


def mark_removed_media(generations: Table, moderation: Table) -> None:
    """Content deleted by moderation has no media left: media_deleted_at is the first such event."""
    m, g = moderation.columns, generations.columns
    flagged = (m["action"] == "content_deleted") & (m["generation_id"] != NULL)
    first = np.full(len(generations), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, m["generation_id"][flagged] - 1, m["created_at"][flagged])  # generation_id = row + 1
    removed = (first != np.iinfo(np.int64).max) & (g["media_key"] != None)  # noqa: E711 (elementwise)
    g["media_deleted_at"] = np.where(removed, first, g["media_deleted_at"])


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
        _near(rng, ts, np.flatnonzero(code == billing), bounds, clock.before(years=years), share=0.05)
    columns = {
        "payment_id": np.arange(n), "user_id": users.table.columns["user_id"][owner], "processor": processor,
        "amount_minor": PRICE_MINOR[country] * PLAN_MULTIPLIER[rng.choice(3, n, p=PLAN_P)],
        "currency": CURRENCY[country], "billing_country": code, "created_at": ts,
    }
    return _by_time("payments", "payment_id", columns)


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
        "disclosed_at": _within(rng, users.created[chosen], users.end[chosen]),
    }
    return _by_time("disclosures", "disclosure_id", columns, ts_column="disclosed_at")


def build_tables(scale: int, seed: int, clock: Clock) -> dict[str, Table]:
    """The base data set: every table, in foreign-key order."""
    if scale == 0:
        return {name: Table.empty(name) for name in TABLE_ORDER}
    users = build_users(_rng(seed, "users"), scale, clock)
    prompts = Prompts.build(_rng(seed, "prompts"), int(scale * (MEANS["generations"] + MEANS["moderation_events"])))
    generations = build_generations(_rng(seed, "generations"), users, prompts, clock)
    moderation = build_moderation_events(_rng(seed, "moderation_events"), users, generations, prompts, clock)
    mark_removed_media(generations, moderation)
    return {
        "users": users.table,
        "cookie_consents": build_cookie_consents(_rng(seed, "cookie_consents"), users),
        "sessions": build_sessions(_rng(seed, "sessions"), users, clock),
        "usage_events": build_usage_events(_rng(seed, "usage_events"), users, clock),
        "generations": generations,
        "uploads": build_uploads(_rng(seed, "uploads"), users, clock),
        "moderation_events": moderation,
        "payments": build_payments(_rng(seed, "payments"), users, clock),
        "disclosures": build_disclosures(_rng(seed, "disclosures"), users),
    }


# -- injections ---------------------------------------------------------------------------


@dataclass
class Injection:
    """The rows one injection plants, on users of its own, with ids from its own block."""

    name: str
    clock: Clock
    rng: np.random.Generator
    next_id: int
    description: str = ""
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    violations: dict[str, list[Any]] = field(default_factory=dict)
    rules: dict[str, list[Any]] = field(default_factory=dict)

    def _add(self, table: str, row: dict[str, Any], *, violation: bool = False, rule: str | None = None) -> Any:
        self.rows.setdefault(table, []).append(row)
        key = [row["user_id"], row["category"]] if table == "cookie_consents" else row[KEYS[table]]
        if violation:
            self.violations.setdefault(table, []).append(key)
        if rule:
            self.rules.setdefault(rule, []).append(key)
        return key

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def days_ago(self, days: float) -> int:
        return self.clock.now - int(days * DAY)

    def user(self, *, created: int, deleted: int | None = None, **flags: Any) -> int:
        uid = self.new_id()
        self._add("users", {"user_id": uid, "email": f"user{uid}@example.com", "display_name": "Test U.",
                            "country": "DE", "created_at": created, "deleted_at": deleted, "trust_score": "50.00"},
                  **flags)
        for category in ("essential", "functional", "analytics"):
            self._add("cookie_consents", {"user_id": uid, "category": category, "granted": True,
                                          "updated_at": created})
        return uid

    def host(self) -> int:
        """A live account, three years old, that carries this injection's rows."""
        return self.user(created=self.days_ago(3 * 365))

    def session(self, uid: int, *, created: int, ip_hash: str | None = None, **flags: Any) -> int:
        sid = self.new_id()
        return self._add("sessions", {"session_id": sid, "user_id": uid, "created_at": created,
                                      "ip_hash": ip_hash or sha256_hex(f"192.0.2.{sid % 250 + 1}"),
                                      "user_agent": USER_AGENTS[0]}, **flags)

    def usage_event(self, uid: int, *, created: int, **flags: Any) -> int:
        return self._add("usage_events", {"event_id": self.new_id(), "user_id": uid, "event_type": "login",
                                          "created_at": created}, **flags)

    def generation(self, uid: int, *, created: int, prompt_hash: str | None = None, provider: str = "openai",
                   deleted: int | None = None, **flags: Any) -> int:
        gid = self.new_id()
        return self._add("generations", {
            "generation_id": gid, "user_id": uid, "kind": "image", "model_provider": provider,
            "prompt_hash": prompt_hash or sha256_hex(canary_prompts()[gid % CANARY_COUNT]),
            "media_key": f"generations/{uid}/{gid}.png", "status": "completed", "created_at": created,
            "deleted_at": deleted, "media_deleted_at": None}, **flags)

    def upload(self, uid: int, *, created: int, **flags: Any) -> int:
        up = self.new_id()
        return self._add("uploads", {"upload_id": up, "user_id": uid, "kind": "image",
                                     "media_key": f"uploads/{uid}/{up}.jpg", "created_at": created,
                                     "deleted_at": None}, **flags)

    def moderation(self, uid: int, *, created: int, prompt_hash: str, action: str, generation_id: int | None = None,
                   **flags: Any) -> int:
        return self._add("moderation_events", {
            "event_id": self.new_id(), "user_id": uid, "generation_id": generation_id, "prompt_hash": prompt_hash,
            "category": "nsfw", "severity": "standard", "action": action, "created_at": created}, **flags)

    def payment(self, uid: int, *, created: int, country: str = "DE", processor: str = "stripe", **flags: Any) -> int:
        where = COUNTRIES.tolist().index(country)
        return self._add("payments", {
            "payment_id": self.new_id(), "user_id": uid, "processor": processor,
            "amount_minor": int(PRICE_MINOR[where]), "currency": CURRENCY[where], "billing_country": country,
            "created_at": created}, **flags)

    def tables(self) -> dict[str, Table]:
        return {name: Table.from_rows(name, rows) for name, rows in self.rows.items()}

    def media_keys(self) -> list[str]:
        return [row["media_key"] for table in ("generations", "uploads") for row in self.rows.get(table, [])
                if row["media_key"] and not row.get("media_deleted_at")]

    def manifest(self, with_media: bool) -> dict[str, Any]:
        planted = {table: [[r["user_id"], r["category"]] if table == "cookie_consents" else r[KEYS[table]]
                           for r in rows] for table, rows in self.rows.items()}
        return {"description": self.description, "violations": self.violations, "rules": self.rules,
                "planted": planted, "media_keys": self.media_keys() if with_media else []}


def _inject_raw_prompts(j: Injection) -> None:
    j.description = "raw canary prompt text (<= 64 chars) stored in prompt_hash instead of its SHA-256"
    short = [text for text in canary_prompts() if len(text) <= 64]
    texts = [short[i] for i in j.rng.choice(len(short), 2 * INJECT_COUNT, replace=False)]
    host = j.host()
    for i, text in enumerate(texts[:INJECT_COUNT]):
        j.generation(host, created=j.days_ago(3 + i), prompt_hash=text, violation=True)
    for i, text in enumerate(texts[INJECT_COUNT:]):
        j.moderation(host, created=j.days_ago(2 + i), prompt_hash=text, action="prompt_blocked", violation=True)


def _inject_raw_ips(j: Injection) -> None:
    j.description = "raw IPv4/IPv6 addresses stored in sessions.ip_hash instead of their SHA-256"
    host = j.host()
    octets = j.rng.integers(1, 255, INJECT_COUNT).tolist()
    ips = [f"203.0.113.{o}" for o in octets[:-1]] + [f"2001:db8::{octets[-1]:x}"]
    for i, ip in enumerate(ips):
        j.session(host, created=j.days_ago(1 + i), ip_hash=ip, violation=True)


def _inject_overdue(j: Injection) -> None:
    j.description = ("rows past their retention: accounts deleted 60 days ago (with their rows), sessions and "
                     "usage events 2 years old, generations deleted by the user 10 days ago")
    host = j.host()
    for _ in range(INJECT_COUNT):
        gone = j.days_ago(60)
        uid = j.user(created=j.days_ago(2 * 365), deleted=gone, violation=True, rule="deleted_accounts")
        j.session(uid, created=gone - 30 * DAY)
        j.usage_event(uid, created=gone - 30 * DAY)
        j.generation(uid, created=gone - 20 * DAY)
        j.upload(uid, created=gone - 10 * DAY)
        j.payment(uid, created=gone - 40 * DAY)  # DE: kept 10 years, pseudonymised with the account
    for i in range(INJECT_COUNT):
        j.session(host, created=j.days_ago(730 + i), violation=True, rule="sessions")
        j.usage_event(host, created=j.days_ago(730 + i), violation=True, rule="usage_events")
        j.generation(host, created=j.days_ago(40 + i), deleted=j.days_ago(10), violation=True,
                     rule="deleted_generations")


def _inject_prohibited_media(j: Injection) -> None:
    j.description = "generations flagged content_deleted by moderation whose media object is still in the bucket"
    host = j.host()
    for i in range(INJECT_COUNT):
        created = j.days_ago(5 + i)
        gid = j.generation(host, created=created, violation=True, rule="prohibited_content")
        digest = j.rows["generations"][-1]["prompt_hash"]
        j.moderation(host, created=created + HOUR, prompt_hash=digest, action="content_deleted", generation_id=gid)


def _inject_unregistered_recipient(j: Injection) -> None:
    j.description = (f"generations sent to {UNREGISTERED_PROVIDER!r} and payments through "
                     f"{UNREGISTERED_PROCESSOR!r}: codes not in the recipient register")
    host = j.host()
    for i in range(INJECT_COUNT):
        j.generation(host, created=j.days_ago(4 + i), provider=UNREGISTERED_PROVIDER, violation=True)
        j.payment(host, created=j.days_ago(6 + i), country=("US", "GB", "KZ")[i % 3],
                  processor=UNREGISTERED_PROCESSOR, violation=True)


INJECTORS = {
    "raw_prompts": _inject_raw_prompts,
    "raw_ips": _inject_raw_ips,
    "overdue": _inject_overdue,
    "prohibited_media": _inject_prohibited_media,
    "unregistered_recipient": _inject_unregistered_recipient,
}


def parse_injections(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Injection names in canonical order; raises ValueError naming an unknown one."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    wanted = {name.strip() for name in names if name and name.strip()}
    unknown = sorted(wanted - set(INJECTIONS))
    if unknown:
        raise ValueError(f"unknown injection {', '.join(unknown)}; choose from {', '.join(INJECTIONS)}")
    return tuple(name for name in INJECTIONS if name in wanted)


def build_injections(names: Sequence[str], seed: int, clock: Clock) -> list[Injection]:
    planted = []
    for name in names:
        injection = Injection(name, clock, _rng(seed, f"inject:{name}"),
                              INJECT_ID_BASE + INJECTIONS.index(name) * INJECT_ID_BLOCK)
        INJECTORS[name](injection)
        planted.append(injection)
    return planted


# -- loading ------------------------------------------------------------------------------


def _as_text(column: str, values: np.ndarray) -> list[str]:
    """COPY text format of one column (values hold no tab, newline or backslash)."""
    if values.dtype == np.bool_:
        return np.where(values, "t", "f").tolist()
    if values.dtype.kind != "i":
        return ["\\N" if value is None else value for value in values.tolist()]
    if column.endswith("_at"):
        text = np.datetime_as_string(values.astype("datetime64[s]"), unit="s")
        return np.where(values == NULL, "\\N", text).tolist()
    text = list(map(str, values.tolist()))
    for row in np.flatnonzero(values == NULL).tolist():
        text[row] = "\\N"
    return text


def copy_table(cur: Any, table: Table) -> None:
    """COPY one table in chunks of text built column by column from its arrays."""
    from psycopg import sql

    if not len(table):
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier("app", table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns)))
    with cur.copy(statement) as copy:
        for start in range(0, len(table), COPY_CHUNK_ROWS):
            parts = [_as_text(column, values[start:start + COPY_CHUNK_ROWS])
                     for column, values in table.columns.items()]
            copy.write("\n".join(map("\t".join, zip(*parts, strict=True))) + "\n")


def load(conn: Any, tables: dict[str, Table]) -> dict[str, float]:
    """Replace the app tables (and legal holds) with `tables` in one transaction; seconds per table."""
    seconds: dict[str, float] = {}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL timezone TO 'UTC'")  # COPY's timestamps are written without an offset
        cur.execute("SET LOCAL synchronous_commit TO off")
        cur.execute(TRUNCATE)
        for name in TABLE_ORDER:
            started = time.perf_counter()
            copy_table(cur, tables[name])
            seconds[name] = time.perf_counter() - started
    return seconds


# -- media --------------------------------------------------------------------------------


def base_media_keys(tables: dict[str, Table]) -> list[str]:
    """Objects the rows name: every media_key, except of generations whose media moderation removed."""
    g, u = tables["generations"].columns, tables["uploads"].columns
    keep = (g["media_key"] != None) & (g["media_deleted_at"] == NULL)  # noqa: E711 (elementwise)
    return g["media_key"][keep].tolist() + [key for key in u["media_key"].tolist() if key]


def replace_media(s3: Any, bucket: str, keys: Sequence[str]) -> int:
    """Make generations/ and uploads/ in the bucket hold exactly `keys`; returns how many objects were put.

    Objects an earlier seed left there and no row names are deleted; a key already present is
    kept (its body depends only on its extension), so a rerun puts only what is missing. The
    puts run on a thread pool: the local S3 server, not the client, sets the pace (~400/s).
    """
    present = {key for prefix in ("generations/", "uploads/") for key in storage.list_keys(s3, bucket, prefix)}
    wanted = set(keys)
    for batch in storage.chunks(sorted(present - wanted), storage.DELETE_OBJECTS_MAX_KEYS):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    missing = [key for key in keys if key not in present]

    def put(key: str) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=MEDIA_BODIES[key.rsplit(".", 1)[1]])

    pool_size = getattr(s3.meta.config, "max_pool_connections", None) or MEDIA_WORKERS
    with ThreadPoolExecutor(max_workers=min(MEDIA_WORKERS, pool_size)) as pool:
        for _ in pool.map(put, missing):
            pass
    return len(missing)


# -- the seed -----------------------------------------------------------------------------


@dataclass
class SeedSummary:
    scale: int
    seed: int
    as_of: datetime
    counts: dict[str, int]
    media_objects: int  # objects the rows name (all in the bucket unless put_media=False)
    media_put: int  # of those, how many this run had to put (the rest were already there)
    injected: dict[str, dict[str, Any]]
    seconds: dict[str, float]

    def line(self) -> str:
        counts = " ".join(f"{name}={count}" for name, count in self.counts.items())
        injected = ",".join(self.injected) or "none"
        return (f"seeded scale={self.scale} seed={self.seed} as_of={self.as_of.isoformat()}: {counts} "
                f"media_objects={self.media_objects} (put {self.media_put}) injected={injected} "
                f"in {self.seconds['total']:.1f}s")

    def manifest(self) -> dict[str, Any]:
        return {"seed": self.seed, "scale": self.scale, "as_of": self.as_of.isoformat(), "injections": self.injected}


def seed(conn: Any, s3: Any, *, scale: int, seed: int = 42, as_of: datetime | str, media_bucket: str | None,
         put_media: bool = True, inject: Iterable[str] | str = ()) -> SeedSummary:
    """Replace the reference data with `scale` users' worth of rows (plus injections) and their media."""
    if scale < 0:
        raise ValueError("scale must be >= 0")
    names = parse_injections(inject)
    if put_media and (s3 is None or not media_bucket):
        raise ValueError("putting media needs an S3 client and a media bucket (or put_media=False)")
    started = time.perf_counter()
    clock = Clock(_normalise_as_of(as_of))
    tables = build_tables(scale, seed, clock)
    injections = build_injections(names, seed, clock)
    for injection in injections:
        for name, rows in injection.tables().items():
            tables[name] = tables[name].append(rows)
    seconds = {"build": time.perf_counter() - started}
    seconds.update(load(conn, tables))
    keys = base_media_keys(tables) if put_media else []
    media_put = 0
    if put_media:
        media_started = time.perf_counter()
        media_put = replace_media(s3, media_bucket, keys)
        seconds["media"] = time.perf_counter() - media_started
    seconds["total"] = time.perf_counter() - started
    return SeedSummary(scale=scale, seed=seed, as_of=clock.as_of,
                       counts={name: len(tables[name]) for name in TABLE_ORDER}, media_objects=len(keys),
                       media_put=media_put,
                       injected={j.name: j.manifest(put_media) for j in injections}, seconds=seconds)


# -- command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=None, help="number of users; 0 leaves the schema empty")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default=None, help="the reference now, ISO 8601 (default: today 00:00 UTC)")
    parser.add_argument("--database-url", default=os.environ.get("APP_DB_URL"))
    parser.add_argument("--media-bucket", default=os.environ.get("MEDIA_BUCKET"))
    parser.add_argument("--no-media", action="store_true", help="do not touch the media bucket")
    parser.add_argument("--inject", default="", help=f"comma-separated: {','.join(INJECTIONS)}")
    parser.add_argument("--injections-out", type=Path, default=DEFAULT_INJECTIONS_OUT)
    parser.add_argument("--write-canaries", action="store_true", help=f"write {CANARY_FILE.name} and exit")
    return parser


def _checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, ...]:
    if args.scale is None or args.scale < 0:
        parser.error("--scale N (N >= 0) is required")
    if not args.database_url:
        parser.error("--database-url or APP_DB_URL is required")
    if not args.no_media and not args.media_bucket:
        parser.error("--media-bucket or MEDIA_BUCKET is required (or --no-media)")
    try:
        return parse_injections(args.inject)
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits; this keeps type checkers content


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.write_canaries:
        print(f"wrote {CANARY_COUNT} canary prompts to {write_canary_file()}")
        return 0
    names = _checked(parser, args)
    import psycopg

    s3 = None if args.no_media else storage.client_from_env()
    with psycopg.connect(args.database_url) as conn:
        summary = seed(conn, s3, scale=args.scale, seed=args.seed, as_of=args.as_of or default_as_of(),
                       media_bucket=args.media_bucket, put_media=not args.no_media, inject=names)
    args.injections_out.parent.mkdir(parents=True, exist_ok=True)
    args.injections_out.write_text(json.dumps(summary.manifest(), indent=2) + "\n")
    print(summary.line())
    if names:
        print(f"injections: {', '.join(names)} ({INJECT_COUNT} violations each); keys in {args.injections_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
