"""Blind index: keyed hashes of normalised names, so names can be found without decrypting.

A search term is normalised and hashed the same way and matched against the stored digests. The
key is a DataKey (purpose "index"), so the digests mean nothing without the key; phonetic codes
(Metaphone over a Latin transliteration, so "Mohamed", "Muhammad" and "محمد" land close) let
near-spellings match; two sounds together ("pair") are a composite key, so that everyone called
Fatoumata Traoré is found without reading every Fatoumata and every Traoré. Digests are
truncated to 128 bits.

Each agency has its own index key, so a purged agency's digests (in a backup, say) cannot be
tested against a list of names with a key that survived it. A person's digests are made with
their agency's key; a search hashes the typed words with the key of each agency it searches
(every agency's when none are named, which finds what the same search found with one key:
digests made with different keys never collide). Until `casework reencrypt --to-agency-keys`
has rebuilt the index, the instance's old index key is searched as well.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

import jellyfish
from unidecode import unidecode

from casework.vault.keys import index_key_for, search_index_keys

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


def _keyed(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def digest(kind: str, value: str, *, agency_id: int | None) -> str:
    """The digest of one value under the agency's index key (None: the instance's old key)."""
    return _keyed(index_key_for(agency_id), kind, value)


# Sound pairs are kept for the first few names only: a long name gains nothing from ten pairs.
PAIRED_TOKENS = 4


def sound_pairs(words: list[str]) -> list[str]:
    """Two name sounds together ("FTMT TR"), in a fixed order: the composite key that finds
    everyone called Fatoumata Traoré without reading every Fatoumata and every Traoré."""
    codes = sorted({code for word in words[:PAIRED_TOKENS] if (code := phonetic(word))})
    return [f"{a} {b}" for i, a in enumerate(codes) for b in codes[i + 1 :]]


def name_digests(*names: str, agency_id: int | None) -> list[tuple[str, str]]:
    """(kind, digest) pairs to store for the names of a person of the agency `agency_id`."""
    key = index_key_for(agency_id)
    pairs: list[tuple[str, str]] = []
    full = normalise(" ".join(n for n in names if n))
    if full:
        pairs.append(("full", _keyed(key, "full", full)))
    words = tokens(*names)
    for token in words:
        pairs.append(("token", _keyed(key, "token", token)))
        code = phonetic(token)
        if code:
            pairs.append(("phonetic", _keyed(key, "phonetic", code)))
    pairs += [("pair", _keyed(key, "pair", both)) for both in sound_pairs(words)]
    return list(dict.fromkeys(pairs))


def query_keys(query: str, *, agency_ids: Iterable[int]) -> list[tuple[str, str]]:
    """(kind, digest) to look up for a registration's search in the persons of `agency_ids`:
    every token exactly and by sound, and every two sounds together, under each one's key."""
    words = tokens(query)
    plain = [("token", token) for token in words]
    plain += [("phonetic", code) for t in words if (code := phonetic(t))]
    plain += [("pair", both) for both in sound_pairs(words)]
    keys = [
        (kind, _keyed(key, kind, value))
        for key in search_index_keys(agency_ids)
        for kind, value in plain
    ]
    return list(dict.fromkeys(keys))


def query_digests(
    query: str, *, phonetic_match: bool = True, agency_ids: Iterable[int] | None = None
) -> list[str]:
    """Digests to look up for a typed search: every token, exactly and (optionally) by sound,
    under the index key of each agency of `agency_ids` (of every agency if None)."""
    plain = []
    for token in tokens(query):
        plain.append(("token", token))
        if phonetic_match and (code := phonetic(token)):
            plain.append(("phonetic", code))
    return [
        _keyed(key, kind, value) for key in search_index_keys(agency_ids) for kind, value in plain
    ]
