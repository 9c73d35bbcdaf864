"""Text folding shared by plan individualisation, imports and indicators."""

from __future__ import annotations

import hashlib
import re

from django.utils.translation import ngettext

_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """The contract's folding: lower-case; every run of characters that are not Unicode letters or
    digits becomes one space; trimmed (../shared/contracts/case-interchange.md, INDIVIDUAL_PLAN).
    """
    return _NOT_LETTER_OR_DIGIT.sub(" ", (text or "").lower()).strip()


def fold_hash(text: str) -> str:
    """A digest of the folded text ('' for text that folds to nothing): equal plans, equal hashes.

    Plain SHA-256 is enough: the hash is only compared, never published, and it sits next to the
    encrypted plan text in rows only the access gate reads.
    """
    folded = fold(text)
    return hashlib.sha256(folded.encode()).hexdigest() if folded else ""


def too_long(text: str, limit: int) -> str | None:
    """The error for a free text longer than `limit` characters once trimmed, or None. Services
    check it before writing, so the API (which has no form) refuses what the screen refuses."""
    if len((text or "").strip()) <= limit:
        return None
    return ngettext(
        "Use at most %(limit)d character.", "Use at most %(limit)d characters.", limit
    ) % {"limit": limit}
