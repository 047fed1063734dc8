"""The endpointer: speech/silence decisions from VAD window probabilities, with hysteresis.

One state machine for batch segmentation (`audio.vad.SpeechSegmenter`) and streaming
(`asr.streaming.StreamingRecognizer`), so both agree on when speech starts, continues and
ends:

* a window at or above `threshold` is speech; when nothing is open it starts speech (onset);
* once speech is open, a window at or above `neg_threshold` still continues it, as long as
  no silence has begun (hysteresis: a dip between the two thresholds does not open a pause);
* a window below `neg_threshold` begins silence; after that only a window at or above
  `threshold` resumes speech;
* `ended` is true once the silence since the last speech reaches `endpoint_samples`.

What to do at an endpoint (close a region, finalise an utterance, split a long run) is the
caller's policy; the endpointer only keeps the state.
"""

from __future__ import annotations

from enum import Enum


class Activity(Enum):
    IDLE = "idle"  # no speech open, and this window does not start any
    ONSET = "onset"  # this window starts speech
    SPEECH = "speech"  # speech continues (or resumes after a pause)
    SILENCE = "silence"  # a pause inside open speech (not yet an endpoint, perhaps one)


class Endpointer:
    def __init__(self, threshold: float, neg_threshold: float, endpoint_samples: int) -> None:
        if not 0.0 < neg_threshold <= threshold < 1.0:
            raise ValueError(f"need 0 < neg_threshold <= threshold < 1, got "
                             f"{neg_threshold}, {threshold}")
        if endpoint_samples < 0:
            raise ValueError("endpoint_samples must be >= 0")
        self.threshold = threshold
        self.neg_threshold = neg_threshold
        self.endpoint_samples = endpoint_samples
        self.active = False  # speech is open
        self.onset = 0  # sample where the open speech started
        self.last_speech = 0  # end sample of the last speech window
        self.silence = 0  # samples of silence since `last_speech` (0 while speaking)
        self.pause = 0  # after SPEECH: the silence that this window ended (0: none)

    @staticmethod
    def default_neg(threshold: float) -> float:
        return max(threshold - 0.15, 0.01)

    @property
    def ended(self) -> bool:
        """The open speech has been followed by at least `endpoint_samples` of silence."""
        return self.active and self.silence > 0 and self.silence >= self.endpoint_samples

    def step(self, p: float, win_start: int, win_end: int) -> Activity:
        """Take one window's speech probability `p` covering samples [win_start, win_end)."""
        self.pause = 0
        if not self.active:
            if p >= self.threshold:
                self.start(win_start, win_end)
                return Activity.ONSET
            return Activity.IDLE
        if p >= self.threshold or (p >= self.neg_threshold and self.silence == 0):
            self.pause, self.silence = self.silence, 0
            self.last_speech = win_end
            return Activity.SPEECH
        self.silence += win_end - win_start
        return Activity.SILENCE

    def start(self, onset: int, last_speech: int) -> None:
        """Open speech at `onset` (a window's start, or a cut inside a long run)."""
        self.active, self.onset, self.last_speech, self.silence = True, onset, last_speech, 0

    def reset(self) -> None:
        """Close the open speech (after an endpoint, a split or a drop)."""
        self.active, self.silence, self.pause = False, 0, 0

    def clear_silence(self) -> None:
        """Forget a pause in progress (a forced cut starts the next run afresh)."""
        self.silence = 0
