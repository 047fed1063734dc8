"""`clinivox data synth`: a seeded, cached, multi-process corpus of synthetic clinical speech.

The corpus is planned first, entirely from the seed: each item's text, voice and
augmentation chain (with its parameters) is drawn in the parent process, so the plan does
not depend on the number of workers or on what is already cached. Each item is keyed by a
hash of its plan; its audio is written once under `audio/` and reused by later builds that
plan the same item. Manifests (`train.jsonl`, `validation.jsonl`) use the evaluation
format: audio, text, language, terms, plus voice and augmentation fields.

The validation split is disjoint from training in its texts' names and consultations
(`text.held_out`), its voices (`voices.voice_bank`) and its noise recordings.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.errors import InputError
from clinivox.io.writers import check_output_dir
from clinivox.train.data.text import (
    Names,
    TextItem,
    consultation_sentences,
    find_terms,
    held_out,
    name_list_sentences,
    template_sentences,
    user_sentences,
)
from clinivox.train.data.voices import Voice, VoiceBankSpec, speak, voice_bank
from clinivox.units import SAMPLE_RATE_HZ

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class AugmentSpec:
    noise_p: float = 0.5
    snr_db: tuple[float, float] = (5.0, 20.0)
    reverb_p: float = 0.25
    speed_p: float = 0.3
    speed: tuple[float, float] = (0.8, 1.2)
    telephone_p: float = 0.1

    def validate(self) -> None:
        for p in (self.noise_p, self.reverb_p, self.speed_p, self.telephone_p):
            if not 0.0 <= p <= 1.0:
                raise InputError("augmentation probabilities must be within [0, 1]")
        if not 0.5 <= self.speed[0] <= self.speed[1] <= 2.0:
            raise InputError("speed range must satisfy 0.5 <= low <= high <= 2.0")
        if self.snr_db[0] > self.snr_db[1]:
            raise InputError("SNR range must be low <= high")


@dataclass(frozen=True)
class CorpusSpec:
    train_size: int = 2000
    validation_size: int = 300
    seed: int = 0
    template_share: float = 0.6  # share of items from lexicon templates (rest: sentences)
    consultations: Path | None = None  # PriMock57-style TextGrid transcripts
    user_text: tuple[Path, ...] = ()  # a sentence per line, training split
    exclude_manifests: tuple[Path, ...] = ()  # texts of the sets you report on: never used
    name_share: float = 0.1  # drug and diagnosis names held out for validation
    # share of items that are names said alone or in short lists (taken before templates)
    list_share: float = 0.0
    noise_dirs: tuple[Path, ...] = ()
    rir_dirs: tuple[Path, ...] = ()
    voices: VoiceBankSpec = field(default_factory=VoiceBankSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)

    def validate(self) -> None:
        if self.train_size < 0 or self.validation_size < 0 or \
                self.train_size + self.validation_size == 0:
            raise InputError("the corpus needs at least one item")
        if not 0.0 <= self.template_share <= 1.0:
            raise InputError("template_share must be within [0, 1]")
        if not 0.0 <= self.list_share <= 1.0:
            raise InputError("list_share must be within [0, 1]")
        self.augment.validate()


def _audio_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if not d.exists():
            raise InputError(f"directory not found: {d}")
        files += sorted(p for p in d.rglob("*") if p.suffix.lower() in AUDIO_EXTS)
    return files


def _excluded_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The rows of the manifests whose texts and terms the corpus must never use (the sets
    you report on): their texts are left out of the sentences, their terms out of the name
    lists."""
    rows: list[dict[str, Any]] = []
    for p in paths:
        try:
            rows += [json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines()
                     if line.strip()]
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read manifest {p}: {exc}") from None
    return rows


def plan_texts(spec: CorpusSpec, split: str, n: int) -> list[TextItem]:
    rng = random.Random(f"{spec.seed}:texts:{split}")
    n_lists = round(n * spec.list_share)
    n = n - n_lists
    n_templates = round(n * spec.template_share)
    excluded = _excluded_rows(spec.exclude_manifests) \
        if spec.consultations is not None or n_lists else []
    sentences: list[TextItem] = []
    if spec.consultations is not None:
        texts = [r["text"] for r in excluded if isinstance(r.get("text"), str)]
        sentences += [s for s in consultation_sentences(spec.consultations, texts)
                      if s.split == split]
    if split == "train":
        for path in spec.user_text:
            sentences += list(user_sentences(path))
    if not sentences:
        n_templates = n
    names = Names.from_lexicon(spec.name_share) if n_templates or n_lists else None
    items: list[TextItem] = []
    if n_templates and names is not None:
        items += list(template_sentences(names, split, n_templates, spec.seed))
    if n > n_templates:
        rng.shuffle(sentences)
        picked = [sentences[i % len(sentences)] for i in range(n - n_templates)]
        items += list(find_terms(picked))
    if n_lists and names is not None:
        terms = [t for r in excluded for t in r.get("terms") or [] if isinstance(t, str)]
        items += list(name_list_sentences(names, split, n_lists, spec.seed, exclude=terms))
    rng.shuffle(items)
    return items


def plan(spec: CorpusSpec) -> list[dict[str, Any]]:
    """Every item of the corpus: text, voice, augmentation chain with its parameters."""
    spec.validate()
    voices = voice_bank(spec.voices)
    noises = _audio_files(spec.noise_dirs)
    rirs = _audio_files(spec.rir_dirs)
    out: list[dict[str, Any]] = []
    for split, n in (("train", spec.train_size), ("validation", spec.validation_size)):
        if n == 0:
            continue
        pool = [v for v in voices if v.split == split]
        if not pool:
            raise InputError(f"no TTS voice for the {split} split: install piper "
                             "(clinivox[tts]), espeak-ng or flite")
        split_noises = [f for f in noises if held_out(f.name, 0.25) == (split == "validation")]
        split_noises = split_noises or noises
        rng = random.Random(f"{spec.seed}:plan:{split}")
        a = spec.augment
        for text in plan_texts(spec, split, n):
            voice = rng.choice(pool)
            chain: list[dict[str, Any]] = []
            if rirs and rng.random() < a.reverb_p:
                chain.append({"type": "reverb", "rir": str(rng.choice(rirs))})
            if split_noises and rng.random() < a.noise_p:
                chain.append({"type": "noise", "noise": str(rng.choice(split_noises)),
                              "snr_db": round(rng.uniform(*a.snr_db), 1)})
            if rng.random() < a.speed_p:
                chain.append({"type": "speed", "factor": round(rng.uniform(*a.speed), 3)})
            if rng.random() < a.telephone_p:
                chain.append({"type": "telephone"})
            # "text" is what the voice speaks, and with the voice and chain it keys the
            # audio; "reference" (the manifest's text) may differ only in written style
            item = {"text": text.spoken or text.text, "terms": list(text.terms),
                    "drugs": list(text.drugs), "diagnoses": list(text.diagnoses),
                    "source": text.source, "split": split, "voice": voice.to_dict(),
                    "augmentation": chain}
            item["key"] = hashlib.sha1(json.dumps(item, sort_keys=True).encode()).hexdigest()
            item["reference"] = text.text
            out.append(item)
    return out


def _load(path: str) -> np.ndarray:
    from clinivox.audio.decode import load_audio

    return load_audio(path)


def render(item: dict[str, Any], session: Any = None) -> np.ndarray:
    """The item's audio: spoken by its voice, then its augmentation chain, in order.
    `session`: the seeded Piper voice of the item's group (see `build_corpus`)."""
    from clinivox.train.augment import change_speed, convolve_rir, mix_at_snr, telephone_band

    v = item["voice"]
    voice = Voice(v["engine"], v["name"], tuple(sorted(v["settings"].items())), v["split"])
    audio = speak(voice, item["text"], seed=int(item["key"][:8], 16), session=session)
    rng = np.random.default_rng(int(item["key"][:12], 16))
    for step in item["augmentation"]:
        kind = step["type"]
        if kind == "reverb":
            rir = _load(step["rir"])
            audio = convolve_rir(audio, rir[: SAMPLE_RATE_HZ])  # the first second
        elif kind == "noise":
            audio = mix_at_snr(audio, _load(step["noise"]), step["snr_db"], rng)
        elif kind == "speed":
            audio = change_speed(audio, step["factor"])
        elif kind == "telephone":
            audio = telephone_band(audio)
    return audio


PIPER_GROUP = 8  # Piper items rendered on one seeded session (a session costs ~0.5 s)


def _path(root: str, key: str) -> Path:
    return Path(root) / "audio" / key[:2] / f"{key}.flac"


def _render_group(args: tuple[list[dict[str, Any]], str]) -> list[tuple[str, float]]:
    """Render a group of items (one item, or up to PIPER_GROUP Piper items sharing one
    session seeded from the group's first key, always rendered together and in plan order
    so that the noise each gets does not depend on the cache or on the workers)."""
    import soundfile as sf

    items, root = args
    paths = [_path(root, it["key"]) for it in items]
    if all(p.is_file() for p in paths):
        return [(it["key"], sf.info(str(p)).duration) for it, p in zip(items, paths,
                                                                      strict=True)]
    session = None
    if items[0]["voice"]["engine"] == "piper" and len(items) > 1:
        from clinivox.train.data.voices import piper_session

        session = piper_session(int(items[0]["key"][:8], 16))
    out = []
    for it, path in zip(items, paths, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        audio = render(it, session)
        # a temporary name of this process's own: two workers never write one file (a
        # shared name let two renderings of one key interleave into a corrupt FLAC)
        fd, tmp = tempfile.mkstemp(suffix=".flac", prefix=".render-", dir=path.parent)
        os.close(fd)
        try:
            sf.write(tmp, np.clip(audio, -1, 1), SAMPLE_RATE_HZ, subtype="PCM_16")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        out.append((it["key"], audio.shape[0] / SAMPLE_RATE_HZ))
    return out


def _groups(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    piper = [it for it in items if it["voice"]["engine"] == "piper"]
    groups = [piper[i:i + PIPER_GROUP] for i in range(0, len(piper), PIPER_GROUP)]
    return groups + [[it] for it in items if it["voice"]["engine"] != "piper"]


def build_corpus(spec: CorpusSpec, out_dir: Path, workers: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Path]:
    """Plan and render the corpus into `out_dir`; returns the manifests by split."""
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    items = plan(spec)
    durations: dict[str, float] = {}
    # Items that plan the same audio (a sentence drawn twice for one voice and chain) share a
    # key: each key is rendered once.
    unique = list({it["key"]: it for it in items}.values())
    jobs = [(g, str(out_dir)) for g in _groups(unique)]
    done = 0
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            for res in pool.imap_unordered(_render_group, jobs):
                durations.update(res)
                done += len(res)
                if progress:
                    progress(done, len(unique))
    else:
        for job in jobs:
            res = _render_group(job)
            durations.update(res)
            done += len(res)
            if progress:
                progress(done, len(unique))
    manifests: dict[str, Path] = {}
    for split in ("train", "validation"):
        rows = [it for it in items if it["split"] == split]
        if not rows:
            continue
        path = out_dir / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for it in rows:
                row = {"audio": f"audio/{it['key'][:2]}/{it['key']}.flac",
                       "text": it["reference"], "language": "en", "terms": it["terms"],
                       "drugs": it["drugs"],
                       "diagnoses": it["diagnoses"], "duration": round(durations[it["key"]], 3),
                       "voice": it["voice"]["id"], "voice_engine": it["voice"]["engine"],
                       "augmentation": it["augmentation"], "source": it["source"],
                       "split": split}
                if it["text"] != it["reference"]:
                    row["spoken"] = it["text"]
                f.write(json.dumps(row) + "\n")
        manifests[split] = path
    (out_dir / "corpus.json").write_text(json.dumps(
        {"spec": _jsonable(spec), "items": len(items)}, indent=2, default=str))
    return manifests


def _jsonable(obj: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def tqdm_progress(desc: str) -> Callable[[int, int], None]:
    """A progress callback drawing a tqdm bar on stderr."""
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=desc, unit="utt", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update
