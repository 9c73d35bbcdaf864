"""Blind index: keyed hashes of normalised names, so names can be found without decrypting.

A search term is normalised and hashed the same way and matched against the stored digests. The
key is a DataKey (purpose "index"), so the digests mean nothing without the key; phonetic codes
(Metaphone over a Latin transliteration, so "Mohamed", "Muhammad" and "محمد" land close) let
near-spellings match; two sounds together ("pair") are a composite key, so that everyone called
Fatoumata Traoré is found without reading every Fatoumata and every Traoré. Digests are
truncated to 128 bits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import jellyfish
from unidecode import unidecode

from casework.vault.keys import keyring

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-folded, accents removed, punctuation to spaces, runs of spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", stripped.casefold()).replace("_", " ").split())


def tokens(*names: str) -> list[str]:
    seen: list[str] = []
    for name in names:
        for token in normalise(name or "").split():
            if token not in seen:
                seen.append(token)
    return seen


def phonetic(token: str) -> str:
    latin = unidecode(token).lower()
    latin = re.sub(r"[^a-z]", "", latin)
    return jellyfish.metaphone(latin) if latin else ""


def digest(kind: str, value: str) -> str:
    key = keyring().index_key
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


# Sound pairs are kept for the first few names only: a long name gains nothing from ten pairs.
PAIRED_TOKENS = 4


def sound_pairs(words: list[str]) -> list[str]:
    """Two name sounds together ("FTMT TR"), in a fixed order: the composite key that finds
    everyone called Fatoumata Traoré without reading every Fatoumata and every Traoré."""
    codes = sorted({code for word in words[:PAIRED_TOKENS] if (code := phonetic(word))})
    return [f"{a} {b}" for i, a in enumerate(codes) for b in codes[i + 1 :]]


def name_digests(*names: str) -> list[tuple[str, str]]:
    """(kind, digest) pairs to store for a person's names."""
    pairs: list[tuple[str, str]] = []
    full = normalise(" ".join(n for n in names if n))
    if full:
        pairs.append(("full", digest("full", full)))
    words = tokens(*names)
    for token in words:
        pairs.append(("token", digest("token", token)))
        code = phonetic(token)
        if code:
            pairs.append(("phonetic", digest("phonetic", code)))
    pairs += [("pair", digest("pair", both)) for both in sound_pairs(words)]
    return list(dict.fromkeys(pairs))


def query_keys(query: str) -> list[tuple[str, str]]:
    """(kind, digest) to look up for a registration's search: every token exactly and by sound,
    and every two sounds together."""
    words = tokens(query)
    keys = [("token", digest("token", token)) for token in words]
    keys += [("phonetic", digest("phonetic", code)) for t in words if (code := phonetic(t))]
    keys += [("pair", digest("pair", both)) for both in sound_pairs(words)]
    return list(dict.fromkeys(keys))


def query_digests(query: str, *, phonetic_match: bool = True) -> list[str]:
    """Digests to look up for a typed search: every token, exactly and (optionally) by sound."""
    found = []
    for token in tokens(query):
        found.append(digest("token", token))
        if phonetic_match and (code := phonetic(token)):
            found.append(digest("phonetic", code))
    return found
