"""Who spoke when: VAD -> sliding speaker embeddings -> clustering -> turns.

1. Silero VAD finds speech; nothing outside it is given a speaker.
2. Windows of 1.6 s (the encoder's partial length) slide through speech every `hop_s`;
   each gets a resemblyzer embedding (numpy, `SpeakerEncoder`).
3. Average-linkage agglomerative clustering on cosine distance. The number of speakers is
   where merging would join clusters further apart than `threshold` (clamped to
   `min_speakers..max_speakers`), or exactly `num_speakers` when given. Clusters too small
   to be a speaker are folded into their nearest neighbour, then windows are reassigned to
   the nearest centroid (two k-means steps), which fixes early merge mistakes.
4. Each 20 ms frame of speech takes the label of the windows covering it (a vote weighted
   by distance to the window centre), then short turns are absorbed by their neighbours.
5. A pause shorter than `fill_pause_s` between two turns of the same speaker is part of
   that speaker's turn (pyannote's `min_duration_off`): people pause mid-sentence and VAD
   cuts there, but the speaker still holds the floor. Far-field meetings gain most: on
   the AMI debug excerpts VAD-cut pauses were the larger part of missed speech.

Overlapped speech gets one speaker (the dominant one in the window votes); where two
clusters both vote strongly for a frame, the runner-up is reported as a second, overlapping
turn (`overlap=True`) so that DER counts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clinivox.asr.types import VadOptions
from clinivox.audio.vad import speech_regions
from clinivox.diarize.encoder import HOP, PARTIAL_FRAMES, SpeakerEncoder
from clinivox.errors import InputError
from clinivox.units import FRAME_S, SAMPLE_RATE_HZ

MAX_CLUSTER_WINDOWS = 3000
WINDOW_S = PARTIAL_FRAMES * HOP / SAMPLE_RATE_HZ  # 1.6 s


@dataclass(frozen=True)
class DiarizeOptions:
    num_speakers: int | None = None  # exact count, when known
    min_speakers: int = 1
    max_speakers: int = 8
    hop_s: float = 0.25  # window step
    threshold: float = 0.3  # cosine distance (raw embeddings) at which clusters stop merging
    min_cluster_s: float = 3.0  # a cluster covering less speech than this is not a speaker
    min_turn_s: float = 0.3  # shorter turns are absorbed by their neighbours
    fill_pause_s: float = 1.0  # a shorter pause between two turns of one speaker is filled
    center: bool = True  # subtract the file's mean embedding before clustering
    overlap_ratio: float = 0.8  # runner-up vote share (of the winner's) that marks overlap
    vad: VadOptions = field(default_factory=lambda: VadOptions(
        threshold=0.35, min_speech_ms=200, min_silence_ms=300, speech_pad_ms=60,
        max_speech_s=30.0))

    def validate(self) -> None:
        if not 1 <= self.min_speakers <= self.max_speakers <= 32:
            raise InputError("speaker bounds must satisfy 1 <= min <= max <= 32")
        if self.num_speakers is not None and not 1 <= self.num_speakers <= 32:
            raise InputError("num_speakers must be within [1, 32]")
        if not 0.05 <= self.hop_s <= WINDOW_S:
            raise InputError(f"hop_s must be within [0.05, {WINDOW_S}]")
        if not 0.0 <= self.fill_pause_s <= 10.0:
            raise InputError("fill_pause_s must be within [0, 10] s (0 fills no pause)")


@dataclass(frozen=True)
class Turn:
    start_s: float
    end_s: float
    speaker: str
    overlap: bool = False  # a second speaker under another turn

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class Diarization:
    turns: list[Turn]
    duration_s: float
    speakers: list[str]
    method: str = "embedding-clustering"

    def speaker_at(self, t_s: float) -> str | None:
        """The (main) speaker at time t, or the nearest turn's speaker within 1 s."""
        best, dist = None, 1.0
        for turn in self.turns:
            if turn.overlap:
                continue
            if turn.start_s <= t_s <= turn.end_s:
                return turn.speaker
            d = min(abs(t_s - turn.start_s), abs(t_s - turn.end_s))
            if d < dist:
                best, dist = turn.speaker, d
        return best

    def speaker_over(self, start_s: float, end_s: float) -> str | None:
        """The speaker with most speech inside [start, end] (nearest turn if none)."""
        totals: dict[str, float] = {}
        for turn in self.turns:
            if turn.overlap:
                continue
            o = min(end_s, turn.end_s) - max(start_s, turn.start_s)
            if o > 0:
                totals[turn.speaker] = totals.get(turn.speaker, 0.0) + o
        if totals:
            return max(totals, key=totals.__getitem__)
        return self.speaker_at(0.5 * (start_s + end_s))

    def to_rttm(self, uri: str) -> str:
        uri = uri.replace(" ", "_") or "audio"
        return "".join(f"SPEAKER {uri} 1 {t.start_s:.3f} {t.duration_s:.3f} <NA> <NA> "
                       f"{t.speaker} <NA> <NA>\n" for t in self.turns)

    def to_dict(self) -> dict:
        return {"duration_s": round(self.duration_s, 3), "num_speakers": len(self.speakers),
                "speakers": self.speakers, "method": self.method,
                "turns": [{"start_s": round(t.start_s, 3), "end_s": round(t.end_s, 3),
                           "speaker": t.speaker, **({"overlap": True} if t.overlap else {})}
                          for t in self.turns]}


class Diarizer:
    def __init__(self, encoder: SpeakerEncoder | None = None,
                 vad_model: str | Path | None = None) -> None:
        self.encoder = encoder or SpeakerEncoder()
        self._vad_model = vad_model

    # -- embeddings ----------------------------------------------------------------------------
    def windows(self, audio: np.ndarray, regions, hop_s: float
                ) -> tuple[np.ndarray, np.ndarray]:
        """(centres_s, embeddings) of windows sliding through speech."""
        centres: list[float] = []
        for r in regions:
            s, e = r.start / SAMPLE_RATE_HZ, r.end / SAMPLE_RATE_HZ
            if e - s <= WINDOW_S:
                centres.append(0.5 * (s + e))
                continue
            c = s + WINDOW_S / 2
            while c <= e - WINDOW_S / 2 + 1e-6:
                centres.append(c)
                c += hop_s
            if e - WINDOW_S / 2 - centres[-1] > hop_s / 2:
                centres.append(e - WINDOW_S / 2)
        if not centres:
            return np.zeros(0), np.zeros((0, 256), np.float32)
        # resemblyzer's preprocessing: speech brought up to -30 dBFS (never turned down)
        speech = np.concatenate([audio[r.start:r.end] for r in regions])
        rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2))) if speech.size else 0.0
        gain = 1.0
        if rms > 0:
            gain = max(1.0, 10 ** ((-30.0 - 20 * np.log10(rms)) / 20))
        mel = self.encoder.mel_frames(audio * np.float32(gain))
        frames_per_s = SAMPLE_RATE_HZ / HOP
        starts = [min(max(0, round((c - WINDOW_S / 2) * frames_per_s)),
                      max(0, mel.shape[0] - PARTIAL_FRAMES)) for c in centres]
        embs = []
        for i in range(0, len(starts), 128):  # batches: memory stays flat on long files
            batch = starts[i:i + 128]
            parts = np.zeros((len(batch), PARTIAL_FRAMES, mel.shape[1]), np.float32)
            for k, f0 in enumerate(batch):
                chunk = mel[f0:f0 + PARTIAL_FRAMES]
                parts[k, :chunk.shape[0]] = chunk
            embs.append(self.encoder.embed(parts))
        emb = np.concatenate(embs)
        return np.asarray(centres), emb

    # -- clustering -----------------------------------------------------------------------------
    @staticmethod
    def cluster(emb: np.ndarray, options: DiarizeOptions, hop_s: float) -> np.ndarray:
        n = emb.shape[0]
        if n > MAX_CLUSTER_WINDOWS:
            # Long recordings: cluster an even subsample (the linkage is quadratic in
            # memory), then give every window the label of its nearest cluster centroid.
            step = int(np.ceil(n / MAX_CLUSTER_WINDOWS))
            sub = Diarizer.cluster(emb[::step], options, hop_s * step)
            cen = _centred(emb, options.center)
            ids = np.unique(sub)
            cents = np.stack([cen[::step][sub == c].mean(0) for c in ids])
            return ids[np.argmax(cen @ cents.T, axis=1)]
        if n == 0:
            return np.zeros(0, int)
        if n < 3 or options.num_speakers == 1 or options.max_speakers == 1:
            return np.zeros(n, int)
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import pdist

        min_size = max(1, int(options.min_cluster_s / hop_s))
        if options.num_speakers is not None:
            k = min(options.num_speakers, n)
        else:
            # How many: raw embeddings, average linkage cut at a fixed cosine distance,
            # clusters too small to be a speaker folded into their neighbours.
            z_raw = linkage(pdist(emb, metric="cosine"), method="average")
            raw = fcluster(z_raw, t=options.threshold, criterion="distance") - 1
            raw = _fold_small(emb, raw, min_size)
            k = int(np.clip(len(np.unique(raw)), options.min_speakers, options.max_speakers))
        if k <= 1:
            return np.zeros(n, int)
        # Who: the file's mean embedding carries the channel and room, common to every
        # speaker; without it the clusters follow voices, not conditions. Cut the tree at k
        # clusters, then refine with k-means steps.
        cen = _centred(emb, options.center)
        z = linkage(pdist(cen, metric="cosine"), method="average")
        labels = _refine(cen, fcluster(z, t=k, criterion="maxclust") - 1)
        _, labels = np.unique(labels, return_inverse=True)
        return labels

    # -- the whole thing ---------------------------------------------------------------------------
    def __call__(self, audio: np.ndarray, options: DiarizeOptions | None = None) -> Diarization:
        options = options or DiarizeOptions()
        options.validate()
        duration = audio.shape[0] / SAMPLE_RATE_HZ
        regions = speech_regions(audio, options.vad, self._vad_model)
        centres, emb = self.windows(audio, regions, options.hop_s)
        if centres.size == 0:
            return Diarization([], duration, [])
        labels = self.cluster(emb, options, options.hop_s)
        turns = self._turns(regions, centres, labels, options, duration)
        # speakers named by order of first appearance
        order: dict[int, str] = {}
        for t in sorted(turns, key=lambda t: t.start_s):
            order.setdefault(int(t.speaker), f"SPEAKER_{len(order):02d}")
        named = [Turn(t.start_s, t.end_s, order[int(t.speaker)], t.overlap) for t in turns]
        return Diarization(tidy_turns(named), duration, list(order.values()))

    @staticmethod
    def _turns(regions, centres: np.ndarray, labels: np.ndarray, options: DiarizeOptions,
               duration: float) -> list[Turn]:
        k = int(labels.max()) + 1
        n_frames = int(np.ceil(duration / FRAME_S))
        speech = np.zeros(n_frames, bool)
        for r in regions:
            speech[int(r.start / SAMPLE_RATE_HZ / FRAME_S):int(np.ceil(r.end / SAMPLE_RATE_HZ
                                                                       / FRAME_S))] = True
        votes = np.zeros((n_frames, k), np.float32)
        half = WINDOW_S / 2
        for c, lab in zip(centres, labels, strict=True):
            f0, f1 = int(max(0.0, c - half) / FRAME_S), int(min(duration, c + half) / FRAME_S)
            if f1 <= f0:
                continue
            t = (np.arange(f0, f1) * FRAME_S + FRAME_S / 2 - c) / half
            votes[f0:f1, lab] += np.maximum(0.05, 1.0 - np.abs(t))  # triangular weight
        has = votes.sum(1) > 0
        main = np.where(speech & has, votes.argmax(1), -1)
        # speech frames no window reached take the nearest labelled frame's speaker
        idx = np.flatnonzero(main >= 0)
        if idx.size:
            for f in np.flatnonzero(speech & ~has):
                j = idx[np.clip(np.searchsorted(idx, f), 0, idx.size - 1)]
                main[f] = main[j]
        main = _absorb_short(main, int(options.min_turn_s / FRAME_S))
        if options.fill_pause_s > 0:
            main = _fill_gaps(main, round(options.fill_pause_s / FRAME_S))
        turns = _runs(main, speaker_of=lambda v: str(v))
        if k > 1 and options.overlap_ratio < 1.0:
            srt = np.sort(votes, axis=1)
            second = votes.argsort(1)[:, -2]
            ov = speech & (srt[:, -2] >= options.overlap_ratio * srt[:, -1]) & (srt[:, -2] > 0.5)
            ov_lab = np.where(ov, second, -1)
            ov_lab = _absorb_short(ov_lab, int(options.min_turn_s / FRAME_S), keep_gaps=True)
            turns += [Turn(t.start_s, t.end_s, t.speaker, True)
                      for t in _runs(ov_lab, speaker_of=lambda v: str(v))]
        return turns


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def _centred(emb: np.ndarray, center: bool) -> np.ndarray:
    """Unit rows after removing the file's mean embedding (channel and room, common to
    every speaker), or just unit rows."""
    return _unit_rows(emb - emb.mean(axis=0, keepdims=True) if center else emb)


def _refine(x: np.ndarray, labels: np.ndarray, steps: int = 3) -> np.ndarray:
    """k-means steps from the clustering's centroids (fixes early merge mistakes)."""
    for _ in range(steps):
        ids = np.unique(labels)
        cents = _unit_rows(np.stack([x[labels == c].mean(0) for c in ids]))
        labels = ids[np.argmax(x @ cents.T, axis=1)]
    return labels


def _fold_small(emb: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= 1 or counts.min() >= min_size:
            return labels
        small = ids[np.argmin(counts)]
        big = [c for c in ids if c != small]
        cents = np.stack([emb[labels == c].mean(0) for c in big])
        mine = emb[labels == small].mean(0)
        sims = cents @ mine / (np.linalg.norm(cents, axis=1) * np.linalg.norm(mine) + 1e-9)
        labels[labels == small] = big[int(np.argmax(sims))]


def _absorb_short(lab: np.ndarray, min_frames: int, keep_gaps: bool = False) -> np.ndarray:
    """Runs of a label shorter than `min_frames` take the label of the longer neighbour."""
    lab = lab.copy()
    for _ in range(3):
        runs = _label_runs(lab)
        changed = False
        for i, (s, e, v) in enumerate(runs):
            if v < 0 or e - s >= min_frames:
                continue
            prev = runs[i - 1] if i > 0 else None
            nxt = runs[i + 1] if i + 1 < len(runs) else None
            cands = [r for r in (prev, nxt) if r is not None and r[2] >= 0 and r[2] != v]
            if not cands:
                if keep_gaps:
                    lab[s:e] = -1
                    changed = True
                continue
            lab[s:e] = max(cands, key=lambda r: r[1] - r[0])[2]
            changed = True
        if not changed:
            break
    return lab


def _fill_gaps(lab: np.ndarray, max_gap: int) -> np.ndarray:
    """Pauses shorter than `max_gap` frames between two runs of one label join them."""
    lab = lab.copy()
    runs = _label_runs(lab)
    for i in range(1, len(runs) - 1):
        s, e, v = runs[i]
        if v < 0 and e - s <= max_gap and runs[i - 1][2] == runs[i + 1][2] >= 0:
            lab[s:e] = runs[i - 1][2]
    return lab


def _label_runs(lab: np.ndarray) -> list[tuple[int, int, int]]:
    if lab.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(lab)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [lab.size]])
    return [(int(s), int(e), int(lab[s])) for s, e in zip(starts, ends, strict=True)]


MIN_TURN_OUT_S = 0.1  # shorter turns left after merging are dropped (frame noise, not speech)


def tidy_turns(turns: list[Turn]) -> list[Turn]:
    """Turns as an RTTM reader expects them: one speaker's turns never overlap or touch (a
    second-speaker overlap turn beside that speaker's own main turn becomes one turn), and
    none is shorter than MIN_TURN_OUT_S. Sorted by start, main turns first."""
    by_speaker: dict[str, list[Turn]] = {}
    for t in sorted(turns, key=lambda t: (t.start_s, t.end_s)):
        by_speaker.setdefault(t.speaker, []).append(t)
    out: list[Turn] = []
    for speaker, own in by_speaker.items():
        cur = own[0]
        for t in own[1:]:
            if t.start_s <= cur.end_s + 1e-6:
                cur = Turn(cur.start_s, max(cur.end_s, t.end_s), speaker,
                           cur.overlap and t.overlap)
            else:
                out.append(cur)
                cur = t
        out.append(cur)
    return sorted((t for t in out if t.duration_s >= MIN_TURN_OUT_S),
                  key=lambda t: (t.start_s, t.overlap))


def _runs(lab: np.ndarray, speaker_of) -> list[Turn]:
    return [Turn(s * FRAME_S, e * FRAME_S, speaker_of(v)) for s, e, v in _label_runs(lab)
            if v >= 0]


def diarize_channels(audio_channels: np.ndarray, options: DiarizeOptions | None = None,
                     vad_model: str | Path | None = None) -> Diarization:
    """One speaker per channel: `audio_channels: (channels, samples)` at 16 kHz. A channel's
    speech (VAD) is its speaker's; crosstalk quieter than the other channel is ignored."""
    options = options or DiarizeOptions()
    n_ch, n = audio_channels.shape
    duration = n / SAMPLE_RATE_HZ
    n_frames = int(np.ceil(duration / FRAME_S))
    active = np.zeros((n_ch, n_frames), bool)
    energy = np.zeros((n_ch, n_frames), np.float32)
    hop = int(FRAME_S * SAMPLE_RATE_HZ)
    for ch in range(n_ch):
        x = audio_channels[ch]
        for r in speech_regions(x, options.vad, vad_model):
            active[ch, int(r.start / hop):int(np.ceil(r.end / hop))] = True
        pad = np.pad(x, (0, n_frames * hop - n))
        energy[ch] = np.sqrt(np.mean(pad.reshape(n_frames, hop) ** 2, axis=1))
    turns: list[Turn] = []
    for ch in range(n_ch):
        others = np.delete(energy, ch, axis=0).max(0) if n_ch > 1 else np.zeros(n_frames)
        mine = active[ch] & (energy[ch] >= 0.1 * others)  # crosstalk is >= 20 dB quieter
        lab = _fill_gaps(np.where(mine, ch, -1), int(2 * options.min_turn_s / FRAME_S))
        lab = _absorb_short(lab, int(options.min_turn_s / FRAME_S), keep_gaps=True)
        turns += _runs(lab, speaker_of=lambda v: f"CHANNEL_{v}")
    speakers = sorted({t.speaker for t in turns})
    return Diarization(tidy_turns(turns), duration, speakers, method="channel")
