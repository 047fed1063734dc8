"""Training-time audio augmentation, one transform per module, each usable by any trainer.

Every transform takes `(samples,) float32` audio at 16 kHz and a `numpy.random.Generator`
and returns new audio; none reads global random state, so a seeded pipeline is repeatable.
`SpecAugment` works on log-mel features instead (it runs inside the training step).
"""

from clinivox.train.augment.noise import AddNoise, mix_at_snr
from clinivox.train.augment.reverb import Reverb, convolve_rir
from clinivox.train.augment.specaugment import SpecAugment
from clinivox.train.augment.speed import SpeedPerturb, change_speed
from clinivox.train.augment.telephone import TelephoneBand, telephone_band

__all__ = ["AddNoise", "Reverb", "SpecAugment", "SpeedPerturb", "TelephoneBand",
           "change_speed", "convolve_rir", "mix_at_snr", "telephone_band"]
