"""Injections: known violations planted on users of their own, with ids from a block per kind,
so the base rows are the same with or without them. Each lists the keys it planted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scripts.seeding.clock import DAY, HOUR, Clock, stream
from scripts.seeding.prompts import CANARY_COUNT, canary_prompts, sha256_hex
from scripts.seeding.schema import KEYS, Table
from scripts.seeding.vocabulary import COUNTRIES, CURRENCY, PRICE_MINOR, USER_AGENTS

INJECTIONS = ("raw_prompts", "raw_ips", "overdue", "prohibited_media", "unregistered_recipient", "raw_prompt_in_text",
              "disclosure_without_basis")
INJECT_COUNT = 5
INJECT_ID_BASE = 9_000_000_000
INJECT_ID_BLOCK = 1_000_000
UNREGISTERED_PROVIDER = "shadow_ai_labs"
UNREGISTERED_PROCESSOR = "quickpay_offshore"


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

    def disclosure(self, uid: int, *, disclosed: int, country: str = "DE", legal_basis: str = "GDPR art. 6(1)(c)",
                   **flags: Any) -> int:
        return self._add("disclosures", {
            "disclosure_id": self.new_id(), "user_id": uid, "authority": "Bundeskriminalamt", "country": country,
            "legal_basis": legal_basis, "disclosed_at": disclosed}, **flags)

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


def _inject_raw_prompt_in_text(j: Injection) -> None:
    j.description = ("raw canary prompt text in a column no one expects to hold prompts: "
                     "usage_events.event_type, where a client logged the prompt it sent")
    texts = canary_prompts()
    host = j.host()
    for i in range(INJECT_COUNT):
        j.usage_event(host, created=j.days_ago(1 + i), violation=True)
        j.rows["usage_events"][-1]["event_type"] = f"generate_image: {texts[(7 * i + 3) % CANARY_COUNT]}"


def _inject_disclosure_without_basis(j: Injection) -> None:
    j.description = "disclosures to a foreign authority with no recorded legal basis (an empty legal_basis)"
    host = j.host()
    for i in range(INJECT_COUNT):
        j.disclosure(host, disclosed=j.days_ago(3 + i), legal_basis=" " * (i % 2), violation=True)


INJECTORS = {
    "raw_prompts": _inject_raw_prompts,
    "raw_ips": _inject_raw_ips,
    "overdue": _inject_overdue,
    "prohibited_media": _inject_prohibited_media,
    "unregistered_recipient": _inject_unregistered_recipient,
    "raw_prompt_in_text": _inject_raw_prompt_in_text,
    "disclosure_without_basis": _inject_disclosure_without_basis,
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
        injection = Injection(name, clock, stream(seed, f"inject:{name}"),
                              INJECT_ID_BASE + INJECTIONS.index(name) * INJECT_ID_BLOCK)
        INJECTORS[name](injection)
        planted.append(injection)
    return planted
