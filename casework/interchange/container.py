"""The `.cwx` container: an export with personal data, encrypted under a password.

Why not a password-protected ZIP: ZipCrypto is broken, and AES ZIPs need a library outside the
standard set and are opened by tools that may write the contents to disk in clear. A `.cwx` file
is opened only by `casework decrypt-export FILE.cwx` (or by anyone with Python's `cryptography`,
following this description), using the project's existing dependency.

Layout (all integers big-endian):

    offset 0   4 bytes   magic  b"CWX1"
    offset 4   4 bytes   n = length of the header
    offset 8   n bytes   header, UTF-8 JSON:
                         {"version": 1, "kdf": "scrypt", "n": 131072, "r": 8, "p": 1,
                          "salt": base64(16 bytes), "cipher": "AES-256-GCM",
                          "nonce": base64(12 bytes), "content": "zip"}
    offset 8+n           ciphertext and 16-byte tag: AES-256-GCM of the content under
                         key = scrypt(password UTF-8, salt, n, r, p, length 32), with the first
                         8+n bytes (magic, length and header) as associated data, so the header
                         cannot be altered without the tag failing.

The content is a ZIP archive of the exported files (cases.csv and surveys.csv, or export.xlsx).
scrypt at n = 2^17, r = 8 costs about 128 MiB and a fraction of a second per attempt, which is
what makes guessing a reasonable password impractical.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import zipfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.utils.translation import gettext as _

from casework.core.errors import CaseworkError

MAGIC = b"CWX1"
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 12
EXTENSION = ".cwx"


class ContainerError(CaseworkError):
    code = "cannot_decrypt"


def _key(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CaseworkError(
            _("Use a password of at least %(length)d characters.")
            % {"length": MIN_PASSWORD_LENGTH},
            code="weak_password",
            field="password",
        )


def zip_files(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unzip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def seal(files: dict[str, bytes], password: str, *, n: int = SCRYPT_N) -> bytes:
    """Encrypt `files` (name → content) into a .cwx container."""
    check_password(password)
    salt = os.urandom(16)
    nonce = os.urandom(12)
    header = json.dumps(
        {
            "version": 1,
            "kdf": "scrypt",
            "n": n,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode("ascii"),
            "cipher": "AES-256-GCM",
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "content": "zip",
        },
        sort_keys=True,
    ).encode("utf-8")
    prefix = MAGIC + struct.pack(">I", len(header)) + header
    key = _key(password, salt, n, SCRYPT_R, SCRYPT_P)
    return prefix + AESGCM(key).encrypt(nonce, zip_files(files), prefix)


def open_container(data: bytes, password: str) -> dict[str, bytes]:
    """The files inside a .cwx container, or ContainerError (wrong password, altered file)."""
    if data[:4] != MAGIC or len(data) < 8:
        raise ContainerError(_("This is not a Casework encrypted export (.cwx)."))
    (length,) = struct.unpack(">I", data[4:8])
    if length > 4096 or len(data) < 8 + length + 16:
        raise ContainerError(_("This encrypted export is damaged."))
    prefix = data[: 8 + length]
    try:
        header = json.loads(prefix[8:].decode("utf-8"))
        if header.get("version") != 1 or header.get("kdf") != "scrypt":
            raise ValueError("unsupported")
        if header.get("cipher") != "AES-256-GCM":
            raise ValueError("unsupported")
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        # Refuse parameters that would make opening a crafted file exhaust memory.
        if not (2**14 <= n <= 2**20 and 1 <= r <= 16 and 1 <= p <= 4):
            raise ValueError("unsupported")
        salt = base64.b64decode(header["salt"])
        nonce = base64.b64decode(header["nonce"])
    except (ValueError, KeyError, TypeError) as error:
        raise ContainerError(
            _("This encrypted export is damaged or of an unknown kind.")
        ) from error
    try:
        content = AESGCM(_key(password, salt, n, r, p)).decrypt(nonce, data[8 + length :], prefix)
    except InvalidTag as error:
        raise ContainerError(_("Wrong password, or the file was altered.")) from error
    return unzip_files(content)
