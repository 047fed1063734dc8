"""SpecAugment (Park et al., 2019) on log-mel features, at training time.

The seed's configuration: 2 time masks of at most 10 frames and 1 frequency mask of at most
5 mel bins. Masked values are set to the features' mean, so masking never creates values
the model has not seen (Whisper's log-mels are floored, not zero-centred).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpecAugment:
    time_masks: int = 2
    time_width: int = 10  # frames (10 ms each)
    freq_masks: int = 1
    freq_width: int = 5  # mel bins
    valid_frames: int | None = None  # mask only within the first frames (the speech)

    def __post_init__(self) -> None:
        if min(self.time_masks, self.time_width, self.freq_masks, self.freq_width) < 0:
            raise ValueError("SpecAugment counts and widths must be >= 0")

    def __call__(self, feats: np.ndarray, rng: np.random.Generator,
                 valid_frames: int | None = None) -> np.ndarray:
        """`feats: (n_mels, frames)` -> a masked copy."""
        out = np.array(feats, dtype=np.float32, copy=True)
        n_mels, frames = out.shape
        span = min(frames, valid_frames or self.valid_frames or frames)
        fill = float(out[:, :span].mean()) if span else 0.0
        for _ in range(self.freq_masks):
            w = int(rng.integers(0, self.freq_width + 1))
            if w and w < n_mels:
                f0 = int(rng.integers(0, n_mels - w + 1))
                out[f0:f0 + w, :span] = fill
        for _ in range(self.time_masks):
            w = int(rng.integers(0, self.time_width + 1))
            if w and w < span:
                t0 = int(rng.integers(0, span - w + 1))
                out[:, t0:t0 + w] = fill
        return out
