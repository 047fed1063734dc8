"""`redact_phi` on the server: the REST form field and the WebSocket config. PHI never
leaves the server or reaches the store; the clinical words stay."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from clinivox.testing.synth import silence, synthesize
from tests.serve.conftest import pcm_frames, wav_bytes
from tests.serve.test_stream import run_session

SAID = "Hello, my name is Margaret Thornbury and I take aspirin every day."


def _audio() -> np.ndarray:
    return np.concatenate([silence(0.3), synthesize(SAID), silence(1.0)])


def test_rest_redacts_every_output(client):
    r = client.post("/v1/audio/transcriptions", files={"file": ("v.wav", wav_bytes(_audio()))},
                    data={"redact_phi": "true", "response_format": "verbose_json",
                          "timestamp_granularities[]": "word"})
    assert r.status_code == 200, r.text
    body = r.text
    assert "[NAME]" in body and "Thornbury" not in body and "Margaret" not in body
    assert "aspirin" in r.json()["text"].lower()
    plain = client.post("/v1/audio/transcriptions",
                        files={"file": ("v.wav", wav_bytes(_audio()))})
    assert "[NAME]" not in plain.json()["text"]  # only when asked


def test_stream_sends_and_stores_redacted_text(server, api_key, client):
    events = asyncio.run(run_session(f"{server.ws_url}?api_key={api_key}",
                                     pcm_frames(_audio()),
                                     {"type": "config", "redact_phi": True}))
    sent = json.dumps(events)
    assert "Thornbury" not in sent and "Margaret" not in sent
    finals = [e for e in events if e["type"] == "final"]
    assert finals and "[NAME]" in " ".join(f["text"] for f in finals)
    stored = client.get(f"/v1/sessions/{events[0]['session_id']}").json()
    assert "Thornbury" not in json.dumps(stored) and "aspirin" in stored["text"].lower()
