from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clinivox.asr.guards import compression_ratio, is_silence, trim_repetitions


def test_loop_is_cut_after_max_repeats():
    tokens = [1, 2] + [7, 8, 9] * 20 + [3]
    assert trim_repetitions(tokens, max_repeats=4) == [1, 2] + [7, 8, 9] * 4


def test_normal_text_is_untouched():
    tokens = list(range(100))
    assert trim_repetitions(tokens, 4) == tokens


@given(st.lists(st.integers(0, 5), max_size=80), st.integers(1, 6))
def test_trim_returns_a_prefix_without_long_runs(tokens, k):
    out = trim_repetitions(tokens, k)
    assert out == tokens[: len(out)]
    for n in range(1, 9):
        for i in range(0, max(0, len(out) - n * (k + 1) + 1)):
            gram = out[i:i + n]
            assert any(out[i + j * n:i + (j + 1) * n] != gram for j in range(1, k + 1))


def test_compression_ratio_flags_repetition():
    assert compression_ratio("see you in the next video " * 20) > 2.4
    assert compression_ratio("The patient was started on apixaban for atrial fibrillation.") < 2.0


def test_silence_rule():
    assert is_silence(0.9, -1.5, 0.6, -1.0)
    assert not is_silence(0.9, -0.2, 0.6, -1.0)  # confident text wins over no-speech
    assert not is_silence(0.2, -1.5, 0.6, -1.0)


def test_loop_across_timestamped_segments_is_cut():
    ts = 1000  # ids >= ts are timestamps
    sentence = [5, 6, 7, 8]
    tokens = []
    for k in range(10):
        tokens += [ts + 2 * k, *sentence, ts + 2 * k + 1]
    out = trim_repetitions(tokens, 4, text_below=ts)
    assert sum(t < ts for t in out) == 4 * len(sentence)
    assert out == tokens[: len(out)]


def test_stock_phrase_dropped_only_with_evidence_of_silence():
    from clinivox.asr.guards import is_hallucination

    assert is_hallucination("Thank you.", 0.79, [0.06, 0.98], 0.6)
    assert not is_hallucination("Thank you.", 0.02, [0.9, 0.95], 0.6)  # real speech
    assert not is_hallucination("Start apixaban today.", 0.7, [0.9, 0.8, 0.9], 0.6)
    assert is_hallucination("Start apixaban today.", 0.7, [0.2, 0.1, 0.3], 0.6)
