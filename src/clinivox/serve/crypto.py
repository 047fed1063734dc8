"""Transcripts encrypted at rest: AES-256-GCM on each stored text (segment text and words,
alert text), with the key from `$CLINIVOX_STORAGE_KEY` or a key file.

A stored value reads `enc:v1:<key id>:<base64(nonce | ciphertext)>`; the key id (the first
8 hex digits of the key's SHA-256) tells a wrong key from damaged data, so a server given
the wrong key refuses to start with a clear error instead of failing on every read, and
nothing is lost. `clinivox keys rotate-storage` re-encrypts every row under a new key in
one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from clinivox.errors import ClinivoxError

PREFIX = "enc:v1:"
ENV = "CLINIVOX_STORAGE_KEY"


class StorageKeyError(ClinivoxError):
    """The storage key is missing, malformed, or not the one the data was encrypted with."""

    exit_code = 2
    http_status = 500


def new_key() -> str:
    """A fresh key, base64 (32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_key(key_file: Path | None = None) -> bytes | None:
    """The key from `key_file`, else `$CLINIVOX_STORAGE_KEY`, else None (no encryption)."""
    if key_file is not None:
        try:
            raw = key_file.read_text().strip()
        except OSError as exc:
            raise StorageKeyError(f"cannot read the storage key file {key_file}: "
                                  f"{exc.strerror}") from None
    else:
        raw = os.environ.get(ENV, "").strip()
        if not raw:
            return None
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise StorageKeyError("the storage key must be base64 of 32 bytes "
                              "(make one with `clinivox keys storage-key`)") from None
    if len(key) != 32:
        raise StorageKeyError(f"the storage key must be 32 bytes, got {len(key)}")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class Cipher:
    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.aead = AESGCM(key)
        self.id = key_id(key)

    def seal(self, value: Any) -> str:
        """`value` (text, or anything JSON) as a stored token."""
        plain = json.dumps(value, ensure_ascii=False).encode()
        nonce = secrets.token_bytes(12)
        sealed = self.aead.encrypt(nonce, plain, self.id.encode())
        return f"{PREFIX}{self.id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: Any) -> Any:
        """The value a token holds; a value that is not a token is returned as it is (rows
        stored before encryption was turned on)."""
        if not (isinstance(token, str) and token.startswith(PREFIX)):
            return token
        kid, _, data = token[len(PREFIX):].partition(":")
        if kid != self.id:
            raise StorageKeyError(f"stored data was encrypted with another storage key (id "
                                  f"{kid}); this key's id is {self.id}")
        raw = base64.b64decode(data)
        from cryptography.exceptions import InvalidTag

        try:
            plain = self.aead.decrypt(raw[:12], raw[12:], kid.encode())
        except InvalidTag:
            raise StorageKeyError("a stored value failed authentication: damaged data") \
                from None
        return json.loads(plain)


def token_key_id(value: Any) -> str | None:
    """The key id of a stored token, None for a plain value."""
    if isinstance(value, str) and value.startswith(PREFIX):
        return value[len(PREFIX):].partition(":")[0]
    return None
