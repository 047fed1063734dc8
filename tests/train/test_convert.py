"""Weights both ways: the bundled CTranslate2 tiny.en into PyTorch and back.

Parity is measured against CTranslate2 itself (float32 compute): the encoder outputs, the
greedy tokens and their log-probabilities agree within float16 tolerance, and the model
exported again is the same model.bin, tensor for tensor.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from clinivox.asr.engines.whisper_ct2.scorer import read_model_bin  # noqa: E402
from clinivox.asr.models import resolve_model  # noqa: E402
from clinivox.asr.recognizer import Recognizer  # noqa: E402
from clinivox.asr.types import TranscribeOptions  # noqa: E402
from clinivox.export.ctranslate2 import export_ct2  # noqa: E402
from clinivox.train.models.whisper import (  # noqa: E402
    NotAWhisperModel,
    load_whisper,
    write_hf_dir,
)


@pytest.fixture(scope="module")
def tiny():
    model, src = load_whisper("tiny.en")
    return model, src


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    model, src = tiny
    root = tmp_path_factory.mktemp("convert")
    hf = write_hf_dir(model, src, root / "hf")
    return hf, export_ct2(hf, root / "ct2", "float16")


def features(src, audio):
    from faster_whisper.feature_extractor import FeatureExtractor

    feats = FeatureExtractor(feature_size=80)(np.pad(audio, (0, 480_000 - audio.shape[0])),
                                              padding=0)[:, :3000]
    return feats.astype(np.float32)


def test_logits_and_greedy_tokens_match_ctranslate2(tiny, speech):
    import ctranslate2

    model, src = tiny
    ct2 = ctranslate2.models.Whisper(str(src), device="cpu", compute_type="float32")
    feats = features(src, speech["clinic"])
    # encoder outputs
    enc_ct2 = np.array(ct2.encode(ctranslate2.StorageView.from_array(feats[None])))
    with torch.no_grad():
        enc_pt = model.model.encoder(torch.from_numpy(feats[None])).last_hidden_state.numpy()
    assert np.abs(enc_ct2 - enc_pt).max() < 2e-2
    assert np.abs(enc_ct2 - enc_pt).mean() < 1e-3
    # greedy decoding from <|startoftranscript|><|notimestamps|>
    prompt = [50257, 50362]
    out = ct2.generate(ctranslate2.StorageView.from_array(feats[None]), [prompt], beam_size=1,
                       return_scores=True, length_penalty=0.0, max_length=100)[0]
    tokens = out.sequences_ids[0]
    with torch.no_grad():
        ids = torch.tensor([prompt + tokens])
        logits = model(input_features=torch.from_numpy(feats[None]),
                       decoder_input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits, -1)
    steps = logp[len(prompt) - 1:-1]
    greedy = steps.argmax(-1).tolist()
    assert greedy == tokens  # the PyTorch model picks the same token at every step
    total = float(steps.gather(1, torch.tensor(tokens)[:, None]).sum())
    # CTranslate2's score counts the end-of-text token too
    eot = float(logp[-1, 50256])
    assert abs((total + eot) - out.scores[0]) < 0.02 * max(1.0, len(tokens))


def test_exported_model_is_the_same_model(tiny, exported, speech):
    _, src = tiny
    _, ct2_dir = exported
    a = read_model_bin(src / "model.bin", prefix="")
    b = read_model_bin(ct2_dir / "model.bin", prefix="")
    weights = [k for k in a if a[k].ndim > 0]
    assert set(weights) <= set(b)
    assert all(np.array_equal(a[k], b[k]) for k in weights)  # float16 -> float32 -> float16
    cfg_a = json.loads((src / "config.json").read_text())
    cfg_b = json.loads((ct2_dir / "config.json").read_text())
    for key in ("alignment_heads", "suppress_ids", "suppress_ids_begin", "lang_ids"):
        assert cfg_a[key] == cfg_b[key], key
    for f in ("tokenizer.json", "preprocessor_config.json"):
        assert (ct2_dir / f).is_file()
    # it loads through the same door as any model, and transcribes the same
    opts = TranscribeOptions(beam_size=1, word_timestamps=True)
    before = list(Recognizer(str(src)).transcribe(speech["fox"], opts)[0])
    after = list(Recognizer(str(ct2_dir)).transcribe(speech["fox"], opts)[0])
    assert [s.text for s in before] == [s.text for s in after]
    assert [(w.word, round(w.start_s, 2)) for s in before for w in s.words] == \
        [(w.word, round(w.start_s, 2)) for s in after for w in s.words]


def test_int8_export_loads_and_transcribes(exported, tmp_path, speech):
    hf, _ = exported
    out = export_ct2(hf, tmp_path / "int8", "int8")
    assert resolve_model(str(out)).path == out
    segs = list(Recognizer(str(out)).transcribe(speech["fox"])[0])
    assert "fox" in " ".join(s.text for s in segs).lower()


def test_a_directory_that_is_not_a_whisper_model_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotAWhisperModel, match="not a Whisper model"):
        load_whisper(tmp_path)
    (tmp_path / "model.bin").write_bytes(b"\x01\x00")
    with pytest.raises(NotAWhisperModel):
        load_whisper(tmp_path)


def test_a_hugging_face_directory_loads_as_is(exported):
    hf, _ = exported
    model, path = load_whisper(hf)
    assert path == hf and model.config.d_model == 384
