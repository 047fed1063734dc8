"""Story: a run tried as a new user would found gaps in the Python API and the REST API.

- An int16 numpy array was accepted and silently mis-transcribed (cast to float unscaled),
  and arrays at another rate had no way to say so (`sample_rate_hz`).
- `POST /v1/audio/translations` (OpenAI API) was missing.
- `/docs` was off; with it behind the key, callers can read the API.
- A multilingual model asked for the wrong language gave no sign of it.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import soxr

from clinivox.errors import InputError
from tests.serve.conftest import wav_bytes


def _text(recognizer, audio, **kw) -> str:
    segments, _ = recognizer.transcribe(audio, **kw)
    return " ".join(s.text for s in segments).lower()


def test_int16_and_other_rates_are_transcribed_right(recognizer, speech):
    x = speech["fox"]
    pcm16 = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    assert "fox" in _text(recognizer, pcm16)
    at_8k = soxr.resample(x, 16_000, 8_000).astype(np.float32)
    assert "fox" in _text(recognizer, at_8k, sample_rate_hz=8_000)
    with pytest.raises(InputError, match="int16"):
        recognizer.transcribe(np.zeros(16000, np.uint8))
    with pytest.raises(InputError, match="arrays only"):
        recognizer.transcribe(b"RIFF", sample_rate_hz=8_000)


def test_translations_route_and_docs_behind_the_key(server, client, speech):
    from openai import OpenAI

    oa = OpenAI(base_url=server.url + "/v1", api_key=client.headers["authorization"][7:],
                max_retries=0)
    out = oa.audio.translations.create(model="whisper-1",
                                       file=("f.wav", wav_bytes(speech["fox"])))
    assert "fox" in out.text.lower()
    assert httpx.get(server.url + "/openapi.json").status_code == 401
    spec = client.get("/openapi.json").json()
    assert "/v1/audio/translations" in spec["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/..%2Fswagger_ui_bundle%2F__init__.py").status_code == 404


def test_multilingual_model_flags_a_language_that_does_not_match(speech):
    from clinivox import Recognizer

    base = Recognizer("base", device="cpu", compute_type="int8")
    audio = np.concatenate([speech["clinic"], speech["weather"]])
    segments, info = base.transcribe(audio, {"language": "de"})
    list(segments)
    assert info.language_mismatch is not None and info.language_mismatch[0] == "en"
    segments, info = base.transcribe(audio, {"language": "en"})
    list(segments)
    assert info.language_mismatch is None
