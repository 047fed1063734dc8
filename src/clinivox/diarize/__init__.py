"""Speaker diarization: who spoke when (`Diarizer`), by channel (`diarize_channels`), and
speaker-attributed transcripts (`attribute_words`, `infer_roles`)."""

from clinivox.diarize.pipeline import Diarization, DiarizeOptions, Diarizer, Turn

__all__ = ["Diarization", "DiarizeOptions", "Diarizer", "Turn", "diarize_file"]


def diarize_file(path, options: DiarizeOptions | None = None, *, by_channel: bool = False,
                 diarizer: Diarizer | None = None) -> Diarization:
    """Diarize an audio file (any format clinivox decodes). by_channel: one speaker per
    channel of a multi-channel recording."""
    import numpy as np

    from clinivox.audio.decode import load_audio, probe
    from clinivox.diarize.pipeline import diarize_channels
    from clinivox.errors import InputError

    if by_channel:
        info = probe(path)
        if info.channels < 2:
            raise InputError(f"{getattr(path, 'name', path)}: --by-channel needs a multi-channel "
                             f"recording (this one has {info.channels} channel)")
        multi = load_audio(path, mono=False)  # (samples, channels)
        return diarize_channels(np.ascontiguousarray(multi.T), options)
    return (diarizer or Diarizer())(load_audio(path), options)
