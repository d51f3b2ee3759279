"""Prompts: the canary prompts (their raw text is known to the checks) and the ordinary prompt pool.

The database only ever holds their SHA-256 hex (sha256_hex), as it does for IP addresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from scripts.seeding.vocabulary import (
    CANARY_ANIMALS,
    CANARY_FINISHES,
    CANARY_MEDIA,
    CANARY_PLACES,
    EXTRAS,
    SCENES,
    STYLES,
    SUBJECTS,
)

ROOT = Path(__file__).resolve().parents[2]
CANARY_FILE = ROOT / "include" / "canaries" / "prompts.txt"
CANARY_COUNT = 300
CANARY_SEED = 20260417


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
