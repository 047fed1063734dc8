"""CUDA paths: auto device choice and CPU/GPU equivalence. Skipped without a CUDA device.

Audio: speech synthesised with Piper when it is installed, else the file named by
CLINIVOX_GPU_TEST_AUDIO (GPU machines may not carry the TTS extra).
"""

from __future__ import annotations

import os

import pytest

from clinivox.eval.metrics import wer

pytestmark = pytest.mark.gpu


def _cuda_count() -> int:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    except Exception:
        return 0


requires_cuda = pytest.mark.skipif(_cuda_count() == 0, reason="no CUDA device")


@pytest.fixture(scope="module")
def audio():
    path = os.environ.get("CLINIVOX_GPU_TEST_AUDIO")
    if path:
        return path
    try:
        from clinivox.testing.synth import synthesize
    except ImportError:
        pytest.skip("no test audio: install clinivox[tts] or set CLINIVOX_GPU_TEST_AUDIO")
    return synthesize("The patient reports a mild headache and a sore throat since Tuesday.")


@requires_cuda
def test_auto_device_picks_cuda_float16():
    from clinivox.asr.engines.whisper_ct2 import pick_device

    assert pick_device("auto", "auto") == ("cuda", "float16")


@requires_cuda
@pytest.mark.parametrize("compute_type", ["float16", "int8_float16"])
def test_cuda_matches_cpu(audio, compute_type):
    from clinivox import Recognizer

    model = os.environ.get("CLINIVOX_GPU_TEST_MODEL", "tiny.en")
    cpu_segments, _ = Recognizer(model, device="cpu", compute_type="int8").transcribe(audio)
    gpu_segments, info = Recognizer(model, device="cuda",
                                    compute_type=compute_type).transcribe(audio)
    cpu_text = " ".join(s.text for s in cpu_segments)
    gpu_segments = list(gpu_segments)
    gpu_text = " ".join(s.text for s in gpu_segments)
    assert info.device == "cuda"
    assert cpu_text and wer(cpu_text, gpu_text) <= 0.1
    words = [w for s in gpu_segments for w in s.words]
    assert words and all(w.end_s >= w.start_s for w in words)


@requires_cuda
def test_biasing_scores_on_cuda_match_cpu(audio):
    """The medical rescoring reads encoder output back from the GPU (numpy cannot see device
    memory) and scores rewrites teacher-forced on CUDA, as on the CPU."""
    import numpy as np

    from clinivox.asr.engines.whisper_ct2 import WhisperEngine
    from clinivox.asr.types import TranscribeOptions
    from clinivox.audio.decode import load_audio
    from clinivox.biasing.context import encoder_rows

    model = os.environ.get("CLINIVOX_GPU_TEST_MODEL", "tiny.en")
    x = load_audio(audio) if isinstance(audio, str) else audio
    scores = {}
    for device, compute in (("cpu", "int8"), ("cuda", "float16")):
        e = WhisperEngine(model, device=device, compute_type=compute)
        rows = encoder_rows(e._encode(e.log_mel(x, TranscribeOptions())[None]))
        assert rows.shape[:2] == (1, 1500)
        tok = e.tokenizer("en", "transcribe")
        text = " ".join(s.text for s in e.decode_batch([x], TranscribeOptions())[0].segments)
        lp = e.token_logprobs(rows[0], x.shape[0], "en", "transcribe",
                              [tok.encode(" " + text.strip())] * 4,
                              prompt=tok.encode(" apixaban, metformin."))
        assert all(np.allclose(lp[0], p) for p in lp[1:])
        scores[device] = float(lp[0].sum())
    assert abs(scores["cpu"] - scores["cuda"]) < 0.1 * abs(scores["cpu"]) + 1.0
