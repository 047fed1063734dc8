"""Domain exceptions, each mapped once to a CLI exit code (and later to an HTTP status).

Messages name the problem and the remedy. They never contain transcript text or audio.
"""

from __future__ import annotations


class ClinivoxError(Exception):
    """Base class of every error clinivox raises on purpose."""

    exit_code: int = 1
    http_status: int = 500


class InputError(ClinivoxError):
    """The caller gave something clinivox cannot use."""

    exit_code = 2
    http_status = 400


class AudioDecodeError(InputError):
    """The bytes are not decodable audio (corrupt, truncated, not audio at all)."""

    exit_code = 3
    http_status = 415


class EmptyAudioError(AudioDecodeError):
    """The file is empty or holds zero samples."""

    http_status = 400


class AudioTooLongError(InputError):
    """The audio is longer than a configured limit."""

    http_status = 413


class ModelNotFoundError(ClinivoxError):
    """An unknown model name or a directory that is not a CTranslate2 Whisper model."""

    exit_code = 4
    http_status = 404


class ModelIntegrityError(ClinivoxError):
    """A bundled model failed its checksum."""

    exit_code = 4


class OutputError(ClinivoxError):
    """Results cannot be written (unwritable or invalid output directory)."""

    exit_code = 5


class ManifestError(InputError):
    """An evaluation manifest is malformed."""


class DeviceError(ClinivoxError):
    """The requested device or compute type is not available."""

    exit_code = 6
