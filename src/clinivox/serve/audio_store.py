"""Optional audio retention: a stream session's audio kept, encrypted, for a set period.

Off by default (`--retain-audio-days 0`): the server keeps no audio. When on, it needs the
storage key (audio is PHI), and each stream session's audio is written as it arrives to
`<data dir>/audio/<session id>.cvxa` (owner-only) in AES-256-GCM chunks of about 2 s. Each
chunk's associated data binds it to its session and position, so chunks cannot be swapped
or moved between files undetected. Files older than the period are deleted when the server
starts and whenever a session ends; a session's audio goes with the session; `keys
rotate-storage` re-encrypts it. A session asked to redact PHI keeps no audio: the audio is
the PHI.

File: a header line `CVXA1 <json: key_id, sample_rate_hz, format>`, then chunks of
`<4-byte big-endian length><12-byte nonce><ciphertext>`.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import struct
import time
import wave
from pathlib import Path

from clinivox.serve.crypto import StorageKeyError, key_id

MAGIC = b"CVXA1 "
CHUNK_BYTES = 64 * 1024  # about 2 s of 16 kHz 16-bit audio
_SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")


class AudioStore:
    def __init__(self, directory: Path, key: bytes, retention_s: float) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if retention_s <= 0:
            raise ValueError("the retention period must be > 0")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        self.aead = AESGCM(key)
        self.key_id = key_id(key)
        self.retention_s = retention_s

    def path(self, session_id: str) -> Path:
        if not _SESSION.fullmatch(session_id):
            raise ValueError("not a session id")
        return self.dir / f"{session_id}.cvxa"

    def writer(self, session_id: str, sample_rate_hz: int) -> AudioWriter:
        return AudioWriter(self, session_id, sample_rate_hz)

    def read_wav(self, session_id: str) -> bytes | None:
        """The session's audio as a WAV file; None when none is kept (or it expired)."""
        path = self.path(session_id)
        if not path.is_file() or self._expired(path):
            return None
        header, pcm = self._read(path, session_id)
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(header["sample_rate_hz"]))
            w.writeframes(pcm)
        return out.getvalue()

    def delete(self, session_id: str) -> bool:
        try:
            self.path(session_id).unlink()
            return True
        except (FileNotFoundError, ValueError):
            return False

    def purge(self, now: float | None = None) -> int:
        """Delete the audio kept longer than the retention period; returns how many."""
        n = 0
        for path in self.dir.glob("*.cvxa"):
            if self._expired(path, now):
                path.unlink(missing_ok=True)
                n += 1
        return n

    def rotate(self, new_key: bytes) -> int:
        """Re-encrypt every kept file under `new_key` (each replaced atomically)."""
        fresh = AudioStore(self.dir, new_key, self.retention_s)
        n = 0
        for path in sorted(self.dir.glob("*.cvxa")):
            session_id = path.stem
            header, pcm = self._read(path, session_id)
            stat = path.stat()
            tmp = path.with_suffix(".tmp")
            w = AudioWriter(fresh, session_id, int(header["sample_rate_hz"]), path=tmp)
            w.write(pcm)
            w.close()
            os.utime(tmp, (stat.st_atime, stat.st_mtime))  # the retention clock is kept
            os.replace(tmp, path)
            n += 1
        return n

    def _expired(self, path: Path, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) - path.stat().st_mtime > \
            self.retention_s

    def _read(self, path: Path, session_id: str) -> tuple[dict, bytes]:
        from cryptography.exceptions import InvalidTag

        with open(path, "rb") as f:
            line = f.readline()
            if not line.startswith(MAGIC):
                raise StorageKeyError(f"kept audio of session {session_id[:12]} is damaged")
            header = json.loads(line[len(MAGIC):])
            if header.get("key_id") != self.key_id:
                raise StorageKeyError(f"kept audio was encrypted with another storage key "
                                      f"(id {header.get('key_id')}); this key's id is "
                                      f"{self.key_id}")
            out, index = [], 0
            while head := f.read(4):
                (size,) = struct.unpack(">I", head)
                blob = f.read(size)
                try:
                    out.append(self.aead.decrypt(blob[:12], blob[12:],
                                                 _aad(self.key_id, session_id, index)))
                except InvalidTag:
                    raise StorageKeyError(f"kept audio of session {session_id[:12]} failed "
                                          "authentication: damaged data") from None
                index += 1
        return header, b"".join(out)


def _aad(kid: str, session_id: str, index: int) -> bytes:
    return f"{kid}|{session_id}|{index}".encode()


class AudioWriter:
    """Appends a session's 16-bit PCM in encrypted chunks as it arrives."""

    def __init__(self, store: AudioStore, session_id: str, sample_rate_hz: int,
                 path: Path | None = None) -> None:
        self.store, self.session_id = store, session_id
        path = path or store.path(session_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.f = os.fdopen(fd, "wb")
        header = {"key_id": store.key_id, "sample_rate_hz": sample_rate_hz,
                  "format": "pcm_s16le"}
        self.f.write(MAGIC + json.dumps(header).encode() + b"\n")
        self.buf = bytearray()
        self.index = 0

    def write(self, pcm: bytes) -> None:
        self.buf += pcm
        while len(self.buf) >= CHUNK_BYTES:
            self._seal(bytes(self.buf[:CHUNK_BYTES]))
            del self.buf[:CHUNK_BYTES]

    def _seal(self, data: bytes) -> None:
        nonce = secrets.token_bytes(12)
        blob = nonce + self.store.aead.encrypt(
            nonce, data, _aad(self.store.key_id, self.session_id, self.index))
        self.f.write(struct.pack(">I", len(blob)) + blob)
        self.index += 1

    def close(self) -> None:
        if self.f.closed:
            return
        if self.buf:
            self._seal(bytes(self.buf))
            self.buf.clear()
        self.f.close()
