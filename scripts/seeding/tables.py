"""The base data set: every app table built from its own random stream, in foreign-key order."""

from __future__ import annotations

from scripts.seeding.accounts import (
    build_cookie_consents,
    build_disclosures,
    build_payments,
    build_sessions,
    build_usage_events,
    build_users,
)
from scripts.seeding.clock import Clock, stream
from scripts.seeding.content import build_generations, build_moderation_events, build_uploads, mark_removed_media
from scripts.seeding.prompts import Prompts
from scripts.seeding.schema import TABLE_ORDER, Table
from scripts.seeding.vocabulary import MEANS


def build_tables(scale: int, seed: int, clock: Clock) -> dict[str, Table]:
    """The base data set: every table, in foreign-key order."""
    if scale == 0:
        return {name: Table.empty(name) for name in TABLE_ORDER}
    users = build_users(stream(seed, "users"), scale, clock)
    prompts = Prompts.build(stream(seed, "prompts"), int(scale * (MEANS["generations"] + MEANS["moderation_events"])))
    generations = build_generations(stream(seed, "generations"), users, prompts, clock)
    moderation = build_moderation_events(stream(seed, "moderation_events"), users, generations, prompts, clock)
    mark_removed_media(generations, moderation)
    return {
        "users": users.table,
        "cookie_consents": build_cookie_consents(stream(seed, "cookie_consents"), users),
        "sessions": build_sessions(stream(seed, "sessions"), users, clock),
        "usage_events": build_usage_events(stream(seed, "usage_events"), users, clock),
        "generations": generations,
        "uploads": build_uploads(stream(seed, "uploads"), users, clock),
        "moderation_events": moderation,
        "payments": build_payments(stream(seed, "payments"), users, clock),
        "disclosures": build_disclosures(stream(seed, "disclosures"), users),
    }
