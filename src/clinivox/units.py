"""Unit constants: the one home of sample rates and frame sizes.

Whisper and the VAD work on 16 kHz mono audio. Whisper's encoder gives one position per
20 ms (two 10 ms mel frames), and one timestamp token is 20 ms; the diarizer votes on frames
of the same 20 ms.
"""

from __future__ import annotations

SAMPLE_RATE_HZ = 16_000  # every model in clinivox reads 16 kHz mono
FRAME_S = 0.02  # one Whisper encoder position, one timestamp token, one diarization frame
FRAMES_PER_S = 50  # 1 / FRAME_S
SAMPLES_PER_FRAME = SAMPLE_RATE_HZ // FRAMES_PER_S  # 320
