"""The deterministic reference-data seeder behind scripts/seed.py (its docstring describes the data).

    vocabulary  the constant tables: shares, countries and prices, providers, categories, names, prompt words
    clock       random streams per table, the reference now (Clock), near-cutoff sampling
    schema      the app columns the seed writes, Table (columns as numpy arrays)
    prompts     canary prompts, the ordinary prompt pool, sha256_hex
    accounts    builders: users, cookie consents, sessions, usage events, payments, disclosures
    content     builders: generations, uploads, moderation events
    tables      build_tables: the base data set
    injections  known violations and their manifest
    load        TRUNCATE and COPY, the media bucket
    run         seed() and SeedSummary
"""

from scripts.seeding.clock import Clock, default_as_of
from scripts.seeding.injections import (
    INJECT_COUNT,
    INJECT_ID_BASE,
    INJECT_ID_BLOCK,
    INJECTIONS,
    UNREGISTERED_PROCESSOR,
    UNREGISTERED_PROVIDER,
    Injection,
    build_injections,
    parse_injections,
)
from scripts.seeding.load import base_media_keys, copy_table, load, put_media, replace_media
from scripts.seeding.prompts import CANARY_COUNT, CANARY_FILE, canary_prompts, sha256_hex, write_canary_file
from scripts.seeding.run import SeedSummary, seed
from scripts.seeding.schema import COLUMNS, KEYS, NULL, TABLE_ORDER, Table
from scripts.seeding.tables import build_tables
from scripts.seeding.vocabulary import PAYMENT_YEARS

__all__ = [
    "CANARY_COUNT",
    "CANARY_FILE",
    "COLUMNS",
    "INJECTIONS",
    "INJECT_COUNT",
    "INJECT_ID_BASE",
    "INJECT_ID_BLOCK",
    "KEYS",
    "NULL",
    "PAYMENT_YEARS",
    "TABLE_ORDER",
    "UNREGISTERED_PROCESSOR",
    "UNREGISTERED_PROVIDER",
    "Clock",
    "Injection",
    "SeedSummary",
    "Table",
    "base_media_keys",
    "build_injections",
    "build_tables",
    "canary_prompts",
    "copy_table",
    "default_as_of",
    "load",
    "parse_injections",
    "put_media",
    "replace_media",
    "seed",
    "sha256_hex",
    "write_canary_file",
]
