"""Silero VAD through onnxruntime and the streaming segmenter."""

from __future__ import annotations

import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clinivox.asr.types import VadOptions
from clinivox.audio.vad import SileroVad, SpeechSegmenter, iter_speech, speech_regions
from clinivox.testing.synth import silence, white_noise


def test_vad_does_not_import_torch():
    """In a fresh interpreter: the test session itself imports torch (tests/train), so
    checking this process's sys.modules passed or failed with the order of the tests."""
    import subprocess

    code = ("import sys; from clinivox.audio.vad import SileroVad; SileroVad(); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-500:]


def test_speech_region_covers_the_sentence(speech):
    x = np.concatenate([silence(2.0), speech["clinic"], silence(2.0)])
    regions = speech_regions(x)
    assert regions, "speech not detected"
    start = regions[0].start / 16_000
    end = regions[-1].end / 16_000
    dur = speech["clinic"].shape[0] / 16_000
    assert 1.5 <= start <= 2.3
    assert 2.0 + dur - 0.5 <= end <= 2.0 + dur + 0.6


def test_silence_and_noise_give_no_regions():
    assert speech_regions(silence(20.0)) == []
    assert speech_regions(white_noise(20.0, level_dbfs=-25.0)) == []


def test_threshold_is_configurable(speech):
    x = np.concatenate([silence(1.0), 0.05 * speech["fox"], silence(1.0)])
    assert speech_regions(x, VadOptions(threshold=0.99)) == [] or \
        len(speech_regions(x, VadOptions(threshold=0.99))) <= len(speech_regions(x))
    assert speech_regions(x, VadOptions(threshold=0.3))


def test_long_speech_is_split_below_the_window(speech):
    x = np.concatenate([speech["weather"]] * 12)  # ~50 s of nearly continuous speech
    opts = VadOptions(max_speech_s=12.0)
    regions = speech_regions(x, opts)
    assert len(regions) >= 4
    assert all(r.duration_s <= 12.0 + 1e-6 for r in regions)


def test_streaming_equals_whole_array(speech):
    x = np.concatenate([silence(1.0), speech["fox"], silence(3.0), speech["clinic"],
                        silence(1.0)])
    whole = [(r.start, r.end) for r in speech_regions(x)]
    blocks = [x[i:i + 7_777] for i in range(0, x.shape[0], 7_777)]
    streamed = [(r.start, r.end) for r, _ in iter_speech(blocks)]
    assert streamed == whole
    for region, audio in iter_speech(blocks):
        np.testing.assert_array_equal(audio, x[region.start:region.end])


def test_streams_share_the_model_but_not_the_state(speech):
    """Every SileroVad uses one onnxruntime session (built once, ~50 ms) and keeps its own
    recurrent state: two streams fed in alternation score as each does alone."""
    a = np.concatenate([silence(0.5), speech["fox"], silence(0.5)])
    b = np.concatenate([speech["clinic"], silence(1.0)])[: a.shape[0]]
    alone_a, alone_b = SileroVad()(a), SileroVad()(b)
    va, vb = SileroVad(), SileroVad()
    assert va._session is vb._session
    assert np.abs(alone_a - alone_b).max() > 0.5  # different audio, different scores
    got_a, got_b = [], []
    for i in range(0, a.shape[0], 5_000):  # alternate between the two streams
        got_a.append(va(a[i:i + 5_000]))
        got_b.append(vb(b[i:i + 5_000]))
    np.testing.assert_allclose(np.concatenate(got_a), alone_a, atol=1e-5)
    np.testing.assert_allclose(np.concatenate(got_b), alone_b, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=0, max_size=600),
       st.integers(1, 50))
def test_segmenter_regions_are_ordered_disjoint_and_bounded(probs, cut):
    opts = VadOptions(max_speech_s=3.0, min_speech_ms=100, min_silence_ms=200)
    seg = SpeechSegmenter(opts)
    regions = seg.push(probs[:cut]) + seg.push(probs[cut:])
    total = len(probs) * 512
    regions += seg.flush(total)
    last = 0
    for r in regions:
        assert last <= r.start < r.end <= max(total, 1)
        assert r.duration_s <= opts.max_speech_s + 1e-9
        last = r.end


def test_endpointer_hysteresis_shared_by_batch_and_streaming():
    """One state machine decides onset, continuation, pause and endpoint for both the batch
    segmenter and the streaming recogniser."""
    import pytest

    from clinivox.audio.endpoint import Activity, Endpointer

    ep = Endpointer(0.5, 0.35, endpoint_samples=3 * 512)
    seq = [0.2, 0.6, 0.4, 0.3, 0.45, 0.6, 0.1, 0.1, 0.1]
    got = []
    for i, p in enumerate(seq):
        got.append((ep.step(p, i * 512, (i + 1) * 512), ep.pause, ep.ended))
    assert [a for a, _, _ in got] == [
        Activity.IDLE, Activity.ONSET,
        Activity.SPEECH,  # 0.4: between the thresholds, no pause yet: speech goes on
        Activity.SILENCE,  # 0.3: below neg: a pause begins
        Activity.SILENCE,  # 0.45: between the thresholds inside a pause: still a pause
        Activity.SPEECH,  # 0.6: resumes; the pause it ended was 2 windows
        Activity.SILENCE, Activity.SILENCE, Activity.SILENCE]
    assert got[5][1] == 2 * 512
    assert [e for _, _, e in got] == [False] * 8 + [True]
    assert ep.onset == 512 and ep.last_speech == 6 * 512
    with pytest.raises(ValueError):
        Endpointer(0.5, 0.6, 100)
