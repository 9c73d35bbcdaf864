"""Signatures over records kept in the database, under a key kept outside it.

The same key the audit chain and its checkpoints are signed with (the audit key, a file or an
environment variable, never a row), derived once more for each purpose, so that a signature made
for one kind of record never vouches for another. Someone who can edit the database but does
not hold the key cannot change a signed record without its signature failing (a frozen report
as submitted to a donor, casework/indicators/frozen.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from casework.vault.keys import audit_key


def canonical(content: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (what is signed)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _key(purpose: str) -> bytes:
    return hmac.new(audit_key(), f"casework signature|{purpose}".encode(), hashlib.sha256).digest()


def sign(purpose: str, content: Any) -> str:
    """The hex HMAC-SHA256 of `content` (made canonical) under the key for `purpose`."""
    return hmac.new(_key(purpose), canonical(content), hashlib.sha256).hexdigest()


def matches(purpose: str, content: Any, signature: str) -> bool:
    """Whether `signature` is the one `sign` gives for this content (in constant time)."""
    return hmac.compare_digest(sign(purpose, content), signature)
