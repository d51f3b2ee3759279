"""Pseudonyms: what replaces a person's id on the rows the law makes outlive their account.

A pseudonym is HMAC-SHA256(pseudonym key, "<subject table>:<id>"): the same person gets the
same pseudonym on every row (so their payments still belong together), and without the key
nobody can compute it from an id, or an id from it.
"""

from __future__ import annotations

import hashlib
import hmac


def email_key(key: bytes, email: str) -> str:
    """A keyed hash of an email address (compared without case): recognises it again, never reveals it."""
    return hmac.new(key, f"email:{email.strip().lower()}".encode(), hashlib.sha256).hexdigest()


def pseudonym(key: bytes, subject_table: str, subject_id: int) -> str:
    """A keyed hash that links a person's remaining rows to each other, never to the person."""
    return hmac.new(key, f"{subject_table}:{subject_id}".encode(), hashlib.sha256).hexdigest()
