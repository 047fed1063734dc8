"""Speaker embeddings with the resemblyzer voice encoder, run in numpy (no torch).

resemblyzer ships its weights (`pretrained.pt`, a 3-layer LSTM over 40-band mel frames, a
linear layer to 256 dimensions) in its wheel. The checkpoint is read here with a small
reader for PyTorch's legacy serialisation, so diarization needs neither torch nor the
network: the package is located with `find_spec` and its file read directly.
"""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinivox.errors import ModelIntegrityError, ModelNotFoundError
from clinivox.resources import package_dir
from clinivox.units import SAMPLE_RATE_HZ

N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s of mel frames per partial embedding

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32}


@dataclass
class _Storage:
    key: str
    dtype: type
    data: np.ndarray | None = None


@dataclass
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> np.ndarray:
        flat = self.storage.data
        assert flat is not None, "tensor storage not loaded"
        if not self.size:
            return flat[self.offset:self.offset + 1].reshape(())
        item = flat.itemsize
        return np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride]).copy()


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, f, storages: dict[str, _Storage]) -> None:
        super().__init__(f)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return lambda storage, offset, size, stride, *rest: _Tensor(storage, offset,
                                                                       tuple(size), tuple(stride))
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in checkpoint")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected persistent id in checkpoint")
        _, storage_type, key, _location, _numel = pid[:5]
        if key not in self.storages:
            self.storages[key] = _Storage(key, _DTYPES[storage_type])
        return self.storages[key]


def load_legacy_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """The state dict of a `torch.save` legacy (non-zip) checkpoint as numpy arrays."""
    storages: dict[str, _Storage] = {}
    try:
        with open(path, "rb") as f:
            for _ in range(3):  # magic number, protocol version, system info
                pickle.load(f)  # the packaged model file, never user input
            obj = _LegacyUnpickler(f, storages).load()
            keys = pickle.load(f)
            for key in keys:
                (numel,) = struct.unpack("<q", f.read(8))
                st = storages[key]
                st.data = np.frombuffer(f.read(numel * np.dtype(st.dtype).itemsize),
                                        dtype=st.dtype)
    except (OSError, pickle.UnpicklingError, struct.error, KeyError, EOFError) as exc:
        raise ModelIntegrityError(f"cannot read speaker encoder weights {path.name}: {exc}") \
            from None
    state = obj.get("model_state", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ModelIntegrityError(f"{path.name}: no model state in checkpoint")
    return {k: v.array() for k, v in state.items() if isinstance(v, _Tensor)}


def _mel_filters() -> np.ndarray:
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor.get_mel_filters(SAMPLE_RATE_HZ, N_FFT, N_MELS).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class SpeakerEncoder:
    """`embed(partials)`: (B, 160, 40) mel power frames -> (B, 256) unit vectors."""

    def __init__(self, weights: str | Path | None = None) -> None:
        if weights is None:
            pkg = package_dir("resemblyzer")
            if pkg is None:
                raise ModelNotFoundError("speaker encoder missing: pip install resemblyzer "
                                         "(clinivox reads its weights; torch is not needed)")
            weights = pkg / "pretrained.pt"
        weights = Path(weights)
        if not weights.is_file():
            raise ModelNotFoundError(f"speaker encoder weights not found: {weights}")
        sd = load_legacy_checkpoint(weights)
        try:
            self.layers = []
            for i in range(3):
                w_ih, w_hh = sd[f"lstm.weight_ih_l{i}"], sd[f"lstm.weight_hh_l{i}"]
                bias = sd[f"lstm.bias_ih_l{i}"] + sd[f"lstm.bias_hh_l{i}"]
                self.layers.append((np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T),
                                    bias.astype(np.float32)))
            self.linear_w = np.ascontiguousarray(sd["linear.weight"].T)
            self.linear_b = sd["linear.bias"]
        except KeyError as exc:
            raise ModelIntegrityError(f"{weights.name}: missing tensor {exc}") from None
        self.filters = _mel_filters()
        self.window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)

    def mel_frames(self, audio: np.ndarray) -> np.ndarray:
        """(samples,) float32 -> (frames, 40) mel power, 10 ms hop, centred frames."""
        pad = N_FFT // 2
        x = np.pad(audio.astype(np.float32), (pad, pad))
        n = 1 + (x.shape[0] - N_FFT) // HOP
        if n <= 0:
            return np.zeros((0, N_MELS), np.float32)
        out = np.empty((n, N_MELS), np.float32)
        for f0 in range(0, n, 20_000):  # blocks of 200 s: memory stays flat on long files
            f1 = min(n, f0 + 20_000)
            idx = np.arange(N_FFT)[None, :] + HOP * np.arange(f0, f1)[:, None]
            spec = np.abs(np.fft.rfft(x[idx] * self.window, axis=1)) ** 2
            out[f0:f1] = spec.astype(np.float32) @ self.filters.T
        return out

    def embed(self, partials: np.ndarray) -> np.ndarray:
        h_in = partials.astype(np.float32)
        batch = h_in.shape[0]
        for w_ih, w_hh, bias in self.layers:
            hidden = w_hh.shape[0]
            pre = h_in @ w_ih + bias  # (B, T, 4H): input projection for all steps at once
            h = np.zeros((batch, hidden), np.float32)
            c = np.zeros((batch, hidden), np.float32)
            outs = np.empty((batch, pre.shape[1], hidden), np.float32)
            for t in range(pre.shape[1]):
                g = pre[:, t] + h @ w_hh
                i, f, gg, o = np.split(g, 4, axis=1)
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
                h = _sigmoid(o) * np.tanh(c)
                outs[:, t] = h
            h_in = outs
        raw = np.maximum(h @ self.linear_w + self.linear_b, 0.0)
        return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-9)
