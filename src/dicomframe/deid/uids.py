"""Replacement UIDs (action U) derived from the original UID and a secret salt.

A replacement is ``2.25.`` followed by the first 128 bits of
HMAC-SHA256(salt, original) as a decimal integer (at most 39 digits, so at
most 44 characters, well under the 64 of PS3.5 9.1). ``2.25`` is the root
that ITU-T X.667 gives to UIDs made from 128-bit numbers, so no registered
root is needed. The same original and salt always give the same
replacement: files of one study de-identified one at a time, even in
different processes, keep their references (Referenced SOP Instance UID,
Frame of Reference UID, Study and Series Instance UID) consistent. Without
the salt the mapping cannot be recomputed, so a UID cannot be confirmed by
hashing guesses.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["keyed_digest", "new_uid"]


def keyed_digest(salt: bytes, purpose: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` under ``salt``, separated by ``purpose`` so uses never collide."""
    return hmac.new(salt, purpose + b"\0" + data, hashlib.sha256).digest()


def new_uid(uid: str, salt: bytes) -> str:
    """The replacement for ``uid`` under ``salt`` (padding and spaces around it ignored)."""
    original = uid.strip(" \0").encode("ascii", "replace")
    number = int.from_bytes(keyed_digest(salt, b"uid", original)[:16], "big")
    return f"2.25.{number}"
