"""The secret keys the workflows need, from the environment or a file, never from the database.

- the pseudonym key: HMAC-SHA256 key that replaces a person's id on rows the law keeps;
- the ledger key: HMAC-SHA256 key that signs every audit-ledger entry, so that only the
  governance service can append one that verifies.

Each is read from `NAME`, or from the file `NAME_FILE` names. Keep both secret and stable:
a changed pseudonym key breaks the link between an erased person's remaining rows, and a
changed ledger key makes every earlier entry fail verification.
"""

from __future__ import annotations

import os
from pathlib import Path

from governance.errors import PermanentError

MIN_KEY_LENGTH = 32
PSEUDONYM_KEY = "GOVERNANCE_PSEUDONYM_KEY"
LEDGER_KEY = "GOVERNANCE_LEDGER_KEY"


class MissingKey(PermanentError):
    """A secret key is not configured, or too short."""


def secret_key(name: str) -> bytes:
    """The key in environment variable NAME, or in the file NAME_FILE names (at least 32 characters)."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if not value and path:
        try:
            value = Path(path).read_text().strip()
        except OSError as exc:
            raise MissingKey(f"{name}_FILE names {path}, which cannot be read ({exc.strerror})") from None
    if not value or len(value) < MIN_KEY_LENGTH:
        raise MissingKey(
            f"no key: set {name} (at least {MIN_KEY_LENGTH} characters) or {name}_FILE; it must stay secret and stable"
        )
    return value.encode()


def pseudonym_key() -> bytes:
    return secret_key(PSEUDONYM_KEY)


def ledger_key() -> bytes:
    return secret_key(LEDGER_KEY)
