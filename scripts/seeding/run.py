"""One seeding run: build the tables and injections, load them, put the media; and its summary."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scripts.seeding.clock import Clock, normalise_as_of
from scripts.seeding.injections import build_injections, parse_injections
from scripts.seeding.load import base_media_keys, load, replace_media
from scripts.seeding.schema import TABLE_ORDER
from scripts.seeding.shape import partition_months
from scripts.seeding.tables import build_tables


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
    partitions: dict[str, int]  # month partitions per partitioned table; empty in the plain shape

    def line(self) -> str:
        counts = " ".join(f"{name}={count}" for name, count in self.counts.items())
        injected = ",".join(self.injected) or "none"
        shape = ("partitioned (" + ", ".join(f"{name} {months} months" for name, months in self.partitions.items())
                 + ", each with a DEFAULT partition)") if self.partitions else "plain"
        return (f"seeded scale={self.scale} seed={self.seed} as_of={self.as_of.isoformat()}: {counts} "
                f"media_objects={self.media_objects} (put {self.media_put}) injected={injected} shape={shape} "
                f"in {self.seconds['total']:.1f}s")

    def manifest(self) -> dict[str, Any]:
        return {"seed": self.seed, "scale": self.scale, "as_of": self.as_of.isoformat(), "injections": self.injected}


def seed(conn: Any, s3: Any, *, scale: int, seed: int = 42, as_of: datetime | str, media_bucket: str | None,
         put_media: bool = True, inject: Iterable[str] | str = (), partitioned: bool = False) -> SeedSummary:
    """Replace the reference data with `scale` users' worth of rows (plus injections) and their media.

    `partitioned` gives the event tables the partitioned shape (seeding.shape); the rows are the same.
    """
    if scale < 0:
        raise ValueError("scale must be >= 0")
    names = parse_injections(inject)
    if put_media and (s3 is None or not media_bucket):
        raise ValueError("putting media needs an S3 client and a media bucket (or put_media=False)")
    started = time.perf_counter()
    clock = Clock(normalise_as_of(as_of))
    tables = build_tables(scale, seed, clock)
    injections = build_injections(names, seed, clock)
    for injection in injections:
        for name, rows in injection.tables().items():
            tables[name] = tables[name].append(rows)
    seconds = {"build": time.perf_counter() - started}
    months = partition_months(tables, clock.as_of) if partitioned else None
    seconds.update(load(conn, tables, months))
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
                       injected={j.name: j.manifest(put_media) for j in injections}, seconds=seconds,
                       partitions={name: len(found) for name, found in (months or {}).items()})
