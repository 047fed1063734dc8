"""Audio in: decode any common format, resample to 16 kHz, normalise, detect speech."""

from clinivox.audio.decode import AudioInfo, iter_audio, load_audio, probe
from clinivox.audio.normalize import normalize_loudness, rms_dbfs
from clinivox.units import SAMPLE_RATE_HZ

__all__ = [
    "SAMPLE_RATE_HZ",
    "AudioInfo",
    "iter_audio",
    "load_audio",
    "normalize_loudness",
    "probe",
    "rms_dbfs",
]
