"""Authenticated encryption of field values (AES-256-GCM).

Ciphertext text form: ``cw1$<data key id>$<base64url(nonce || ciphertext+tag)>``. The associated
data binds each value to its column ("people.person.given_name"), so a value copied into another
column, or altered by one bit, fails to decrypt instead of being read as something else.

A value is encrypted with the primary data key of the agency it belongs to (`agency_id`), or of
the instance when it belongs to no agency (a staff member's second-factor secret); decryption
finds the key by the id in the ciphertext, whoever's it is.
"""

from __future__ import annotations

import base64
import logging
import secrets

from cryptography.exceptions import InvalidTag

from casework.vault.keys import data_key_for, keyring_knowing

PREFIX = "cw1"
logger = logging.getLogger(__name__)


class Unreadable(str):
    """What a value reads as once its key is gone (purge) or its ciphertext was tampered with."""

    __slots__ = ()

    def __new__(cls) -> Unreadable:
        return super().__new__(cls, "•••")


def encrypt_bytes(plaintext: bytes, *, context: str, agency_id: int | None = None) -> str:
    key_id, aead = data_key_for(agency_id)
    nonce = secrets.token_bytes(12)
    sealed = aead.encrypt(nonce, plaintext, context.encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{PREFIX}${key_id}${body}"


def key_id_of(ciphertext: str) -> int | None:
    parts = ciphertext.split("$", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isdigit():
        return None
    return int(parts[1])


def decrypt_bytes(ciphertext: str, *, context: str) -> bytes | None:
    """The plaintext, or None if the key is gone or the value was altered (logged, no values)."""
    key_id = key_id_of(ciphertext)
    if key_id is None:
        logger.warning("Unrecognised ciphertext format in %s", context)
        return None
    aead = keyring_knowing(key_id).data.get(key_id)
    if aead is None:
        return None
    blob = base64.urlsafe_b64decode(ciphertext.split("$", 2)[2])
    try:
        return aead.decrypt(blob[:12], blob[12:], context.encode())
    except InvalidTag:
        logger.warning("A value in %s failed authentication (altered or wrong column)", context)
        return None


def encrypt_text(plaintext: str, *, context: str, agency_id: int | None = None) -> str:
    """Encrypt for the agency `agency_id`, or for the instance (None) when the value belongs to
    no agency."""
    return encrypt_bytes(plaintext.encode("utf-8"), context=context, agency_id=agency_id)


def decrypt_text(ciphertext: str, *, context: str) -> str:
    raw = decrypt_bytes(ciphertext, context=context)
    return Unreadable() if raw is None else raw.decode("utf-8")
