"""The numpy decoder that scores rewrites (`whisper_ct2/scorer.py`), against
CTranslate2's `align` on real speech: same log-probabilities within int8 noise, same
ranking of rewrites."""

from __future__ import annotations

import struct

import numpy as np
import pytest


@pytest.fixture(scope="module")
def clinic(recognizer, speech):
    """(engine, encoder output (frames, d) of the clinic sentence, tokenizer)."""
    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    audio = speech["clinic"]
    feats = engine.log_mel(audio, TranscribeOptions(language="en"))[None]
    row = np.asarray(engine._encode(feats))[0]
    frames = min(row.shape[0], audio.shape[0] // 320 + 50)
    return engine, row[:frames], engine.tokenizer("en", "transcribe")


def _align(engine, enc, rows, prompt=None):
    engine.scorer_backend = "ctranslate2"
    try:
        return engine.token_logprobs(enc, enc.shape[0] * 320, "en", "transcribe", rows,
                                     prompt=prompt)
    finally:
        engine.scorer_backend = "auto"


def _rows(tok):
    said = " The patient reports a mild headache and a sore throat since Tuesday."
    return [tok.encode(said),
            tok.encode(" The patient reports a mild head egg and a sore throat since Tuesday."),
            tok.encode(" The patient reports a wild headache and a sore throat since Tuesday."),
            tok.encode(" The patient reports a mild headache and a sore thought.")]


def test_the_numpy_decoder_scores_as_ctranslate2_does(clinic):
    engine, enc, tok = clinic
    scorer = engine.scorer()
    assert scorer is not None  # tiny.en on the CPU
    rows = _rows(tok)
    for prompt in (None, tok.encode(" headache, migraine, sore throat.")):
        ref = _align(engine, enc, rows, prompt)
        got = engine.token_logprobs(enc, enc.shape[0] * 320, "en", "transcribe", rows,
                                    prompt=prompt)
        for a, b in zip(ref, got, strict=True):
            assert a.shape == b.shape
            # CTranslate2 runs the decoder in int8, this one in float32
            assert np.abs(a - b).mean() < 0.1
            assert abs(a.sum() - b.sum()) < 1.0
        # the sentence as spoken is the most likely under both, and the order agrees
        assert int(np.argmax([r.sum() for r in got])) == 0
        order = np.argsort([r.sum() for r in ref])
        assert list(np.argsort([r.sum() for r in got])) == list(order)


def test_rows_scored_together_match_rows_scored_alone(clinic):
    engine, enc, tok = clinic
    scorer = engine.scorer()
    rows = _rows(tok)
    start = [*tok.sot_sequence, tok.no_timestamps]
    alone = [scorer.logprobs(enc, start, [row])[0] for row in rows]
    # each row reuses the trunk's states up to where it leaves the trunk
    for trunk in (None, rows[2], tok.encode(" The patient"), tok.encode(" Nothing alike")):
        together = scorer.logprobs(enc, start, rows, trunk=trunk)
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_allclose(a, b, atol=2e-3)


def test_rows_leaving_the_trunk_at_one_place_each_read_their_own_token(clinic):
    """The screen's rows differ from the words as written at the same place: their first
    new token is predicted from one trunk state, projected once and read per row."""
    engine, enc, tok = clinic
    scorer = engine.scorer()
    start = [*tok.sot_sequence, tok.no_timestamps]
    stem = " The patient reports a"
    rows = [tok.encode(f"{stem} {w} headache and a sore throat since Tuesday.")
            for w in ("mild", "wild", "severe", "mild")]
    n = len(tok.encode(stem))
    alone = [scorer.logprobs(enc, start, [row], [[(n, n + 3)]])[0] for row in rows]
    together = scorer.logprobs(enc, start, rows, [[(n, n + 3)]] * len(rows), trunk=rows[0])
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-3)
    firsts = [float(b[n]) for b in together]
    assert firsts[0] == firsts[3] and len(set(firsts[:3])) == 3  # each its own word
    assert firsts[0] > firsts[1]  # "mild" was said


def test_only_the_wanted_ranges_are_computed(clinic):
    engine, enc, tok = clinic
    scorer = engine.scorer()
    rows = _rows(tok)
    start = [*tok.sot_sequence, tok.no_timestamps]
    full = scorer.logprobs(enc, start, rows)
    want = [[(0, 2)], [(5, 7), (9, 11)], [(3, len(rows[2]))], [(len(rows[3]) - 1, 99)]]
    part = scorer.logprobs(enc, start, rows, want)
    for ranges, a, b in zip(want, full, part, strict=True):
        mask = np.zeros(len(a), dtype=bool)
        for lo, hi in ranges:
            mask[lo:hi] = True
        assert not b[~mask].any() and (b[mask] < 0).all()
        np.testing.assert_allclose(a[mask], b[mask], atol=2e-3)
    with pytest.raises(ValueError, match="one list of ranges per row"):
        scorer.logprobs(enc, start, rows, want[:2])


def test_the_audio_window_is_remembered_only_while_it_is_the_same(clinic):
    engine, enc, tok = clinic
    scorer = engine.scorer()
    start = [*tok.sot_sequence, tok.no_timestamps]
    row = _rows(tok)[:1]
    a = scorer.logprobs(enc, start, row)[0]
    silence = np.zeros_like(enc)
    b = scorer.logprobs(silence, start, row)[0]  # a new window: new keys and values
    assert b.sum() < a.sum() - 5.0
    np.testing.assert_allclose(scorer.logprobs(enc, start, row)[0], a, atol=1e-5)


def test_the_last_context_is_reused_exactly(clinic):
    """A segment's words as written, then its rewrites: the second call's context is a
    prefix of the first (sliced from it). A context that is not (here: longer) runs
    afresh."""
    engine, enc, tok = clinic
    scorer = engine.scorer()
    rows = _rows(tok)
    start = [tok.sot_prev, *tok.encode(" headache, sore throat."), *tok.sot_sequence,
             tok.no_timestamps]

    def cold(call_rows, trunk):
        scorer._context = None
        return scorer.logprobs(enc, start, call_rows, trunk=trunk)

    for first, then in (((rows[:1], None), (rows, rows[0])),  # then: a prefix
                        ((rows[3:], tok.encode(" The patient")), (rows, rows[0]))):  # longer
        want = cold(*then)
        scorer._context = None
        scorer.logprobs(enc, start, first[0], trunk=first[1])
        got = scorer.logprobs(enc, start, then[0], trunk=then[1])
        for a, b in zip(want, got, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4)
    # another window: nothing is reused
    silence = np.zeros_like(enc)
    a = scorer.logprobs(silence, start, rows[:1])[0]
    scorer._context = None
    np.testing.assert_allclose(a, scorer.logprobs(silence, start, rows[:1])[0], atol=1e-5)


def test_bad_input_is_a_clear_error(clinic):
    engine, enc, tok = clinic
    scorer = engine.scorer()
    with pytest.raises(ValueError, match="start-of-transcript"):
        scorer.logprobs(enc, [], _rows(tok)[:1])
    with pytest.raises(ValueError, match="empty row"):
        scorer.logprobs(enc, [tok.sot], [[]])
    with pytest.raises(ValueError, match="context"):
        scorer.logprobs(enc, [tok.sot], [[220] * 500])
    assert scorer.logprobs(enc, [tok.sot], []) == []


def test_an_unreadable_model_file_falls_back_to_align(tmp_path, recognizer, clinic):
    from clinivox.asr.engines.whisper_ct2.scorer import (
        DecoderScorer,
        ScorerUnavailable,
        read_model_bin,
    )

    bin_path = tmp_path / "model.bin"
    bin_path.write_bytes(struct.pack("I", 6) + b"\x05\x00Whis")  # cut off mid-header
    with pytest.raises(ScorerUnavailable):
        read_model_bin(bin_path)
    with pytest.raises(ScorerUnavailable):
        DecoderScorer.load(tmp_path / "nowhere")
    # a decoder over the size limit is refused before its weights are copied
    with pytest.raises(ScorerUnavailable, match="over 1000000"):
        DecoderScorer.load(recognizer.engine.ref.path, max_parameters=1_000_000)
    # the engine keeps scoring with CTranslate2 when its scorer is unusable
    engine, enc, tok = clinic
    saved = engine._scorer
    engine._scorer = False
    try:
        assert engine.scorer() is None
        lp = engine.token_logprobs(enc, enc.shape[0] * 320, "en", "transcribe",
                                   _rows(tok)[:1])[0]
        assert lp.shape == (len(_rows(tok)[0]),) and (lp < 0).all()
    finally:
        engine._scorer = saved
