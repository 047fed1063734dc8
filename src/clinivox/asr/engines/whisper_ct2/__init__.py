"""Whisper on CTranslate2 (CPU int8, CUDA float16), with a numpy decoder for rescoring."""

from clinivox.asr.engines.whisper_ct2.engine import (
    CHUNK_SAMPLES,
    N_FRAMES,
    WhisperEngine,
    encoder_frames,
    pick_device,
    token_positions,
)

__all__ = ["CHUNK_SAMPLES", "N_FRAMES", "WhisperEngine", "encoder_frames", "pick_device",
           "token_positions"]
