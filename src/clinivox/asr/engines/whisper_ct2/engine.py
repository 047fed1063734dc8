"""Whisper on CTranslate2: batched decoding of speech chunks with guards and word timing.

A chunk is up to 30 s of speech, possibly several VAD regions joined. The engine decodes a
list of chunks at once and returns chunk-relative results; `Recognizer` maps them back to
the timeline of the file.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from clinivox.asr.engine import ChunkResult, ChunkSegment, ChunkWord, DecodeHook
from clinivox.asr.guards import compression_ratio, is_hallucination, is_silence, trim_repetitions
from clinivox.asr.models import RECORDS, ModelRef, model_record, resolve_model
from clinivox.asr.types import TranscribeOptions
from clinivox.audio.normalize import normalize_loudness, rms_dbfs
from clinivox.errors import DeviceError, ModelNotFoundError
from clinivox.units import FRAME_S, SAMPLE_RATE_HZ

HOP_SAMPLES = 160
CHUNK_SAMPLES = 30 * SAMPLE_RATE_HZ  # Whisper's fixed 30 s window
N_FRAMES = CHUNK_SAMPLES // HOP_SAMPLES  # 3000 mel frames
TIME_PER_TOKEN_S = FRAME_S  # one timestamp token and one encoder position = 20 ms
MAX_LENGTH = 448  # decoder positions
MEDIAN_FILTER_WIDTH = 7
MAX_SCORER_PARAMS = 250_000_000  # decoders up to Whisper small's are scored in numpy on a CPU


def pick_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """Choose device and compute type: CUDA float16 when a GPU is present, else CPU int8."""
    import ctranslate2

    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}: use auto, cpu or cuda")
    cuda_count = ctranslate2.get_cuda_device_count()
    if device == "auto":
        device = "cuda" if cuda_count > 0 else "cpu"
    elif device == "cuda" and cuda_count == 0:
        raise DeviceError("device cuda requested but no CUDA device is visible; use --device cpu")
    if compute_type in ("auto", "default"):
        compute_type = "float16" if device == "cuda" else "int8"
    supported = ctranslate2.get_supported_compute_types(device)
    if compute_type not in supported:
        raise DeviceError(
            f"compute type {compute_type!r} is not supported on {device} "
            f"(supported: {', '.join(sorted(supported))})"
        )
    return device, compute_type


def encoder_frames(n_samples: int, options: TranscribeOptions) -> int:
    """Mel frames given to the encoder: all 3000 (30 s), or with `encoder_margin_s` the audio
    plus the margin rounded up to 5 s (fewer distinct shapes, same window for a batch)."""
    if options.encoder_margin_s is None:
        return N_FRAMES
    seconds = n_samples / SAMPLE_RATE_HZ + options.encoder_margin_s
    return min(N_FRAMES, int(np.ceil(seconds / 5.0)) * 500)


def trained_language(path: Path) -> str | None:
    """The one language a model directory says clinivox fine-tuned it on (`languages` in
    `clinical.json` or `clinivox.json`), or None: not fine-tuned here, several languages,
    or no record."""
    for name in RECORDS:
        info = model_record(path, name)
        langs = info.get("languages") if info is not None else None
        if isinstance(langs, list) and len(langs) == 1 and isinstance(langs[0], str):
            return langs[0]
    return None


class WhisperEngine:
    """One loaded Whisper model. Thread-compatible; decode calls are serialised by the caller."""

    def __init__(self, model: str | os.PathLike | None = None, *, device: str = "auto",
                 compute_type: str = "auto", cpu_threads: int = 0, num_workers: int = 1,
                 device_index: int = 0, seed: int = 0) -> None:
        import ctranslate2
        import tokenizers
        from faster_whisper.feature_extractor import FeatureExtractor

        self.ref: ModelRef = resolve_model(model)
        self.device, self.compute_type = pick_device(device, compute_type)
        threads = cpu_threads or (os.cpu_count() or 1)
        try:
            self.model = ctranslate2.models.Whisper(
                str(self.ref.path), device=self.device, device_index=device_index,
                compute_type=self.compute_type, intra_threads=threads, inter_threads=num_workers,
            )
        except RuntimeError as exc:
            raise ModelNotFoundError(f"{self.ref.name}: cannot load model ({exc})") from None
        # Temperature fallback samples. Seeding once makes a process run reproducible (same
        # inputs in the same order, same transcripts); a later call continues the random
        # stream, and CTranslate2 samples on its own threads, so reseeding per call does not
        # take effect.
        ctranslate2.set_random_seed(seed)
        self.multilingual = bool(self.model.is_multilingual)
        # A multilingual model clinivox fine-tuned on one language (a clinical build, a
        # `clinivox finetune` export) decodes that language unless asked for another:
        # detection read accented English as French or Spanish and the model, never trained
        # there, answered in them.
        self.trained_language = trained_language(self.ref.path) if self.multilingual else None
        self.hf_tokenizer = tokenizers.Tokenizer.from_file(str(self.ref.path / "tokenizer.json"))
        self.n_mels = int(getattr(self.model, "n_mels", 80) or 80)
        self.features = FeatureExtractor(feature_size=self.n_mels)
        self._tokenizers: dict[tuple[str | None, str], object] = {}
        # Teacher-forced scoring (`token_logprobs`): "auto" runs the numpy decoder
        # (`scorer.py`) on the CPU when the model's decoder is small enough, else
        # CTranslate2's `align`; "ctranslate2" always uses `align`.
        self.scorer_backend = "auto"
        self._scorer = None  # DecoderScorer, False once found unusable
        self._general = None  # the general model of a clinical build, False when none
        self._threads = (threads, num_workers, device_index)

    # -- helpers -------------------------------------------------------------------------
    def tokenizer(self, language: str | None, task: str):
        from faster_whisper.tokenizer import Tokenizer

        key = (language, task)
        if key not in self._tokenizers:
            lang = language if self.multilingual else "en"
            self._tokenizers[key] = Tokenizer(self.hf_tokenizer, self.multilingual, task=task,
                                              language=lang or "en")
        return self._tokenizers[key]

    def log_mel(self, audio: np.ndarray, options: TranscribeOptions) -> np.ndarray:
        """`audio: (samples,) float32` (<= 30 s) -> `(n_mels, 3000) float32` log-mel."""
        if options.normalize_loudness:
            audio = normalize_loudness(audio, target_dbfs=options.target_dbfs,
                                       max_gain_db=options.max_gain_db)
        n = min(audio.shape[0], CHUNK_SAMPLES)
        # Frames whose 400-sample window lies wholly in the zero padding are all equal (the
        # log floor), so only the frames that reach the audio are computed: identical values
        # to the full 30 s transform, at the cost of the audio's length.
        last = -(-(n + 200) // HOP_SAMPLES)  # first frame that sees only padding
        padded = np.zeros(min((last + 2) * HOP_SAMPLES, CHUNK_SAMPLES), dtype=np.float32)
        padded[:n] = audio[:n]
        feats = self.features(padded, padding=0)[:, :N_FRAMES]
        if feats.shape[1] == N_FRAMES:
            return feats
        out = np.empty((feats.shape[0], N_FRAMES), dtype=feats.dtype)
        out[:, :feats.shape[1]] = feats
        out[:, feats.shape[1]:] = feats[:, -1:]  # the floor value, from a padding-only frame
        return out

    def _encode(self, feats: np.ndarray):
        import ctranslate2

        return self.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(feats)),
                                 to_cpu=False)

    def _rows(self, encoded, idx: list[int], feats: np.ndarray):
        """The encoder output of the chunks `idx` (a temperature retry): `encoded` itself
        where they are all of the batch, else its rows copied on the host, so the encoder
        runs once per batch (it is deterministic; running it again cost tiny.en 0.3 s a
        30 s chunk on 2 CPU cores). On a GPU the rows are encoded again (`feats`), as
        before: the host copy was measured on CPU only."""
        if len(idx) == feats.shape[0]:
            return encoded
        if self.device != "cpu":
            return self._encode(feats[idx])
        import ctranslate2

        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(encoded)[idx]))

    def _prompt(self, tokenizer, options: TranscribeOptions) -> list[int]:
        prev = tokenizer.encode(" " + options.initial_prompt.strip()) \
            if options.initial_prompt else None
        return _with_previous(tokenizer, prev, list(tokenizer.sot_sequence))

    # -- decoding --------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.ref.name

    def decode_batch(self, chunks: list[np.ndarray], options: TranscribeOptions,
                     biaser: DecodeHook | None = None) -> list[ChunkResult]:
        """Decode up to `batch_size` chunks. chunks: each `(samples,) float32`, <= 30 s.
        biaser: a hook run on the decoded batch before word alignment (medical biasing,
        `clinivox.biasing.MedicalBiaser`), or None."""
        if not chunks:
            return []
        if options.language is None and self.trained_language:
            options = replace(options, language=self.trained_language)
        # Near-silent chunks cannot hold speech: answer them without decoding, since Whisper
        # invents text ("You", "Thank you.") on silence.
        levels = [rms_dbfs(c) for c in chunks]
        live = [i for i, level in enumerate(levels) if level > options.silence_dbfs]
        if len(live) < len(chunks):
            decoded = self.decode_batch([chunks[i] for i in live], options, biaser) \
                if live else []
            out = [ChunkResult([], options.language, 0.0, 0.0, 1.0, 1.0, 0.0)
                   for _ in chunks]
            for i, r in zip(live, decoded, strict=True):
                out[i] = r
            return out
        feats = np.stack([self.log_mel(c, options) for c in chunks])  # (B, n_mels, 3000)
        feats = feats[:, :, :encoder_frames(max(c.shape[0] for c in chunks), options)]
        encoded = self._encode(feats)
        languages: list[tuple[str | None, float]] = []
        detected: list[tuple[str, float]] = []
        if self.multilingual:  # one decoder step: cheap beside the decode itself
            detected = [(ranked[0][0][2:-2], float(ranked[0][1]))
                        for ranked in self.model.detect_language(encoded)]
        if options.language is not None or not self.multilingual:
            lang = options.language if self.multilingual else "en"
            languages = [(lang, 1.0)] * len(chunks)
        else:
            languages = list(detected)
        # A biaser's domain prompt (English clinical terms) primes English chunks only; a
        # user's own prompt is kept.
        primed = getattr(biaser, "prompt", None)
        if primed and not options.initial_prompt and all(lang == "en" for lang, _ in languages):
            options = replace(options, initial_prompt=primed)
        results: list[ChunkResult | None] = [None] * len(chunks)
        attempts: dict[int, list[tuple[ChunkResult, bool]]] = {}
        todo = list(range(len(chunks)))
        for t_idx, temperature in enumerate(options.temperatures):
            if not todo:
                break
            enc = encoded if t_idx == 0 else self._rows(encoded, todo, feats)
            last = t_idx == len(options.temperatures) - 1
            longest = max(chunks[i].shape[0] for i in todo) / SAMPLE_RATE_HZ
            generated = self._generate(enc, [languages[i] for i in todo], options, temperature,
                                     longest, getattr(biaser, "n_best", 1))
            retry = []
            for i, (tokens, avg_logprob, no_speech_prob, looped, others) in zip(
                    todo, generated, strict=True):
                lang, lang_p = languages[i]
                tok = self.tokenizer(lang, options.task)
                text = tok.decode([t for t in tokens if t < tok.eot])
                ratio = compression_ratio(text)
                result = ChunkResult([], lang, lang_p, avg_logprob, no_speech_prob, ratio,
                                     temperature)
                if detected and options.language is not None:
                    result.detected_language = detected[i]
                result.alternatives = [tok.decode([t for t in h if t < tok.eot])
                                       for h in others]
                result.hypotheses = [tokens, *others] if others else []
                if is_silence(no_speech_prob, avg_logprob, options.no_speech_threshold,
                              options.log_prob_threshold):
                    results[i] = result  # no segments: silence or non-speech
                    continue
                result.segments = self.split(tokens, tok, chunks[i].shape[0] / SAMPLE_RATE_HZ)
                if not decode_failed(looped, ratio, avg_logprob, options):
                    results[i] = result
                    continue
                attempts.setdefault(i, []).append((result, looped))
                if not last:
                    retry.append(i)
                    continue
                # Every temperature failed: keep the most confident decode that did not
                # loop; a chunk that loops at every temperature is hallucination.
                clean = [r for r, was_loop in attempts[i] if not was_loop]
                if clean:
                    results[i] = max(clean, key=lambda r: r.avg_logprob)
                else:
                    result.segments = []
                    results[i] = result
            todo = retry
        done = [r for r in results if r is not None]
        if biaser is not None:  # the hook returns the results, edited copies where it changed any
            done = biaser.apply(self, encoded, chunks, done, options)
        if options.word_timestamps:
            self._align_words(encoded, chunks, done, options)
        for r in done:
            r.segments = [s for s in r.segments if not is_hallucination(
                s.text, r.no_speech_prob, [w.probability for w in s.words] or None,
                options.no_speech_threshold)]
        return done

    def _generate(self, encoded, languages, options: TranscribeOptions, temperature: float,
                  audio_s: float = 30.0, n_best: int = 1, model=None
                  ) -> list[tuple[list[int], float, float, bool, list[list[int]]]]:
        prompts = [self._prompt(self.tokenizer(lang, options.task), options)
                   for lang, _ in languages]
        max_length = MAX_LENGTH
        if options.max_tokens_per_s is not None:
            max_length = min(MAX_LENGTH, int(options.max_tokens_per_s * audio_s) + 10)
        kwargs = dict(
            max_length=max_length, return_scores=True, return_no_speech_prob=True,
            suppress_blank=options.suppress_blank, suppress_tokens=[-1],
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            max_initial_timestamp_index=50,
        )
        if temperature > 0:
            kwargs.update(beam_size=1, num_hypotheses=min(5, max(1, options.beam_size)),
                          sampling_topk=0, sampling_temperature=temperature)
        else:
            kwargs.update(beam_size=options.beam_size, patience=options.patience,
                          length_penalty=options.length_penalty)
            if n_best > 1 and options.beam_size > 1:
                kwargs.update(num_hypotheses=min(n_best, options.beam_size))
        out = []
        eot = self.tokenizer(languages[0][0], options.task).eot
        for res in (model or self.model).generate(encoded, prompts, **kwargs):
            best = int(np.argmax(res.scores)) if temperature > 0 else 0
            raw = list(res.sequences_ids[best])
            tokens = trim_repetitions(raw, options.max_repeat_ngram, text_below=eot)
            seq_len = max(len(raw), 1)
            cum = res.scores[best] * (seq_len ** options.length_penalty)
            others = [list(h) for k, h in enumerate(res.sequences_ids) if k != best] \
                if temperature == 0 else []
            out.append((tokens, float(cum / (seq_len + 1)), float(res.no_speech_prob),
                        len(tokens) < len(raw), others))
        return out

    # -- the general model of a clinical build ---------------------------------------------
    def general_model(self):
        """The bundled Whisper a clinical build was made from (`asr.clinical.general_model`),
        loaded on first use on this engine's device with its compute type; None for any
        other model. Its decoder reads this engine's encoder output."""
        if self._general is None:
            import ctranslate2

            from clinivox.asr.clinical import general_model

            path = general_model(self.ref.path)
            self._general = False
            if path is not None:
                threads, workers, index = self._threads
                self._general = ctranslate2.models.Whisper(
                    str(path), device=self.device, device_index=index,
                    compute_type=self.compute_type, intra_threads=threads,
                    inter_threads=workers)
        return self._general or None

    def decode_general(self, rows: np.ndarray, chunks: list[np.ndarray],
                       languages: list[str | None], options: TranscribeOptions
                       ) -> list[ChunkResult | None]:
        """Decode chunks again with `general_model()` from their encoder output `rows: (B,
        frames, d)` (temperature 0, the options' beam); results are marked `general`. A
        chunk whose decode is silence or fails the guards (`decode_failed`), or all chunks
        where there is no general model, gives None: the caller keeps what it had."""
        import ctranslate2

        model = self.general_model()
        if model is None or not chunks:
            return [None] * len(chunks)
        enc = ctranslate2.StorageView.from_array(np.ascontiguousarray(rows))
        longest = max(c.shape[0] for c in chunks) / SAMPLE_RATE_HZ
        langs = [(lang, 1.0) for lang in languages]
        out: list[ChunkResult | None] = []
        for chunk, (lang, _), (tokens, avg_logprob, no_speech_prob, looped, _o) in zip(
                chunks, langs, self._generate(enc, langs, options, 0.0, longest, 1, model),
                strict=True):
            tok = self.tokenizer(lang, options.task)
            text = tok.decode([t for t in tokens if t < tok.eot])
            ratio = compression_ratio(text)
            if is_silence(no_speech_prob, avg_logprob, options.no_speech_threshold,
                          options.log_prob_threshold) or \
                    decode_failed(looped, ratio, avg_logprob, options):
                out.append(None)
                continue
            result = ChunkResult([], lang, 1.0, avg_logprob, no_speech_prob, ratio, 0.0,
                                 general=True)
            result.segments = self.split(tokens, tok, chunk.shape[0] / SAMPLE_RATE_HZ)
            out.append(result if result.segments else None)
        return out

    @staticmethod
    def split(tokens: list[int], tok, duration_s: float) -> list[ChunkSegment]:
        """Split decoded tokens into segments at timestamp-token pairs."""
        ts_begin = tok.timestamp_begin
        segments: list[ChunkSegment] = []
        cur: list[int] = []
        start: float | None = None
        last_ts: float | None = None
        for t in tokens:
            if t >= ts_begin:
                ts = (t - ts_begin) * TIME_PER_TOKEN_S
                if cur:
                    segments.append(ChunkSegment(start if start is not None else 0.0, ts,
                                                 tok.decode(cur), cur))
                    cur, start = [], None
                else:
                    start = ts
                last_ts = ts
            elif t < tok.eot:
                if start is None:
                    start = last_ts if last_ts is not None else 0.0
                cur.append(t)
        if cur:
            segments.append(ChunkSegment(start or 0.0, duration_s, tok.decode(cur), cur))
        segments = [s for s in segments if s.text.strip()]
        for s in segments:
            s.start_s = min(s.start_s, duration_s)
            s.end_s = min(max(s.end_s, s.start_s), duration_s)
        return segments

    def scorer(self):
        """The numpy decoder for teacher-forced scoring, or None where `align` is used: on
        a GPU, for decoders over `MAX_SCORER_PARAMS`, or a model file it cannot read."""
        if self.scorer_backend != "auto" or self.device != "cpu":
            return None
        if self._scorer is None:
            from clinivox.asr.engines.whisper_ct2.scorer import DecoderScorer, ScorerUnavailable

            try:
                self._scorer = DecoderScorer.load(self.ref.path, MAX_SCORER_PARAMS)
            except ScorerUnavailable:
                self._scorer = False
        return self._scorer or None

    def token_logprobs(self, encoder_row: np.ndarray, n_samples: int, language: str | None,
                       task: str, rows: list[list[int]],
                       prompt: list[int] | None = None, positions: bool = False,
                       want: list[list[tuple[int, int]]] | None = None,
                       trunk: list[int] | None = None) -> list:
        """Teacher-forced log-probabilities of each row's text tokens given one chunk's encoder
        output `encoder_row: (frames, d)`: one batched decoder pass, no search. Used to
        rescore rewritten hypotheses. With `want` (per row, token ranges [a, b)), log-probs
        outside them may be left 0 (not computed: each costs the full-vocabulary output
        projection).
        `trunk`: tokens most rows begin with (the words as written), computed once.
        With `positions`, each row is `(log-probs, the first encoder position of each
        token)`, read from the cross-attention alignment (one position is 20 ms)."""
        import ctranslate2

        tok = self.tokenizer(language, task)
        start = _with_previous(tok, prompt, list(tok.sot_sequence))
        texts = [r or [tok.eot] for r in rows]
        scorer = None if positions else self.scorer()
        if scorer is not None:  # `align` puts no-timestamps after the start tokens itself
            return scorer.logprobs(encoder_row, [*start, tok.no_timestamps], texts, want, trunk)
        enc = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(encoder_row[None], len(rows), axis=0)))
        frames = min(N_FRAMES, max(1, n_samples // HOP_SAMPLES))
        out = self.model.align(enc, start, texts,
                               [frames] * len(rows), median_filter_width=MEDIAN_FILTER_WIDTH)
        logps = [np.log(np.maximum(np.asarray(a.text_token_probs, dtype=np.float64), 1e-12))
                 for a in out]
        if not positions:
            return logps
        return [(lp, token_positions(a.alignments, len(lp)))
                for lp, a in zip(logps, out, strict=True)]

    def continue_text(self, encoder_row: np.ndarray, language: str | None, task: str,
                      prefix: list[int], max_new: int, prompt: list[int] | None = None,
                      beam_size: int = 1) -> tuple[list[int], bool]:
        """Decode what follows `prefix` (text tokens forced as the chunk's first words) for
        at most `max_new` tokens, given one chunk's encoder output `(frames, d)` and an
        optional previous-text `prompt`. Returns the new text tokens and whether the decode
        ended on its own (end of text) rather than at `max_new`.

        A short search from the middle of a chunk: far cheaper than decoding it again."""
        import ctranslate2

        tok = self.tokenizer(language, task)
        start = _with_previous(tok, prompt, [*tok.sot_sequence, tok.no_timestamps])
        want = len(prefix) + max_new  # tokens out, the forced prefix included
        # CTranslate2 caps the output at min(max_length / 2, max_length - len(start))
        max_length = min(MAX_LENGTH, max(2 * want, len(start) + want))
        # a host array: CTranslate2 moves encoder output to the model's device and type
        enc = ctranslate2.StorageView.from_array(np.ascontiguousarray(encoder_row[None]))
        res = self.model.generate(enc, [start + prefix], beam_size=beam_size,
                                  max_length=max_length, suppress_tokens=[-1])[0]
        ids = list(res.sequences_ids[0])
        if ids[:len(prefix)] != prefix:  # the model never leaves a forced prefix; be safe
            return [], False
        new = ids[len(prefix):]
        text = [t for t in new if t < tok.eot]
        return text[:max_new], len(new) < max_new

    # -- word timestamps -----------------------------------------------------------------
    def _align_words(self, encoded, chunks: list[np.ndarray], results: list[ChunkResult],
                     options: TranscribeOptions) -> None:
        if not any(r.segments for r in results):
            return
        text_tokens = []
        for r in results:
            toks = [t for s in r.segments for t in s.tokens]
            text_tokens.append(toks)
        tok0 = self.tokenizer(results[0].language, options.task)
        sot = list(tok0.sot_sequence)
        num_frames = [min(N_FRAMES, max(1, c.shape[0] // HOP_SAMPLES)) for c in chunks]
        # align() needs one text per batch row; rows without text get a lone EOT.
        aligned = self.model.align(encoded, sot, [t or [tok0.eot] for t in text_tokens],
                                   num_frames, median_filter_width=MEDIAN_FILTER_WIDTH)
        for r, toks, al in zip(results, text_tokens, aligned, strict=True):
            if not toks:
                continue
            tok = self.tokenizer(r.language, options.task)
            words = self._words_from_alignment(tok, toks, al, options)
            self._assign_words(r.segments, words)

    @staticmethod
    def _words_from_alignment(tok, text_tokens: list[int], al,
                              options: TranscribeOptions) -> list[tuple[ChunkWord, int]]:
        words, word_tokens = tok.split_to_word_tokens([*text_tokens, tok.eot])
        if len(word_tokens) <= 1:
            return []
        pairs = np.asarray(al.alignments, dtype=np.int64).reshape(-1, 2)
        probs = np.asarray(al.text_token_probs, dtype=np.float64)
        if pairs.shape[0] == 0:
            return []
        text_idx, time_idx = pairs[:, 0], pairs[:, 1]
        jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
        jump_times = time_idx[jumps] * TIME_PER_TOKEN_S
        bounds = np.cumsum([0] + [len(t) for t in word_tokens[:-1]])
        out: list[tuple[ChunkWord, int]] = []
        for k, (w, wt) in enumerate(zip(words[:-1], word_tokens[:-1], strict=True)):
            i, j = int(bounds[k]), int(bounds[k + 1])
            if i >= len(jump_times):
                break
            start = float(jump_times[i])
            end = float(jump_times[min(j, len(jump_times) - 1)])
            p = float(np.mean(probs[i:j])) if j > i and probs.size >= j else 0.0
            out.append((ChunkWord(start, max(end, start), w, p), len(wt)))
        return _merge_punctuation(out, options.prepend_punctuations,
                                  options.append_punctuations)

    @staticmethod
    def _assign_words(segments: list[ChunkSegment], words: list[tuple[ChunkWord, int]]) -> None:
        wi = 0
        for seg in segments:
            need = len(seg.tokens)
            got = 0
            while wi < len(words) and got < need:
                word, n_tok = words[wi]
                if word.word.strip():
                    seg.words.append(word)
                got += n_tok
                wi += 1
            if seg.words:
                seg.start_s = seg.words[0].start_s
                seg.end_s = max(seg.words[-1].end_s, seg.start_s)


def decode_failed(looped: bool, ratio: float, avg_logprob: float,
                  options: TranscribeOptions) -> bool:
    """Whether a decode fails Whisper's guards and calls for the next temperature: it
    looped, its text is too repetitive (gzip ratio) or the model was too unsure."""
    return looped or (options.compression_ratio_threshold is not None
                      and ratio > options.compression_ratio_threshold) or (
        options.log_prob_threshold is not None and avg_logprob < options.log_prob_threshold)


def _with_previous(tok, prompt: list[int] | None, start: list[int]) -> list[int]:
    """`start` (the start-of-transcript tokens) after `prompt` as previous text, cut to the
    last half of the decoder's context as Whisper does."""
    if not prompt:
        return start
    return [tok.sot_prev, *prompt[-(MAX_LENGTH // 2 - 1):], *start]


def token_positions(alignments, n_tokens: int) -> np.ndarray:
    """The first encoder position of each of `n_tokens` text tokens on an alignment path
    (pairs of text index and position; index `n_tokens` is the end of text). A token the
    path does not visit takes the position of the next one that it does."""
    pairs = np.asarray(alignments, dtype=np.int64).reshape(-1, 2)
    out = np.full(n_tokens + 1, -1, dtype=np.int64)
    for t, f in pairs[::-1]:  # backwards, so each token keeps its first position
        if 0 <= t <= n_tokens:
            out[t] = f
    if out[n_tokens] < 0:
        out[n_tokens] = int(pairs[:, 1].max()) if pairs.size else 0
    for t in range(n_tokens - 1, -1, -1):
        if out[t] < 0:
            out[t] = out[t + 1]
    return out[:n_tokens]


def _merge_punctuation(words: list[tuple[ChunkWord, int]], prepended: str,
                       appended: str) -> list[tuple[ChunkWord, int]]:
    """Attach leading/trailing punctuation tokens to their neighbour words."""
    out: list[tuple[ChunkWord, int]] = []
    carry: tuple[str, int] | None = None
    for w, n in words:
        stripped = w.word.strip()
        if carry is not None:
            w = ChunkWord(w.start_s, w.end_s, carry[0] + w.word.lstrip(), w.probability)
            n += carry[1]
            carry = None
        if out and stripped and all(ch in appended for ch in stripped) \
                and not w.word.startswith(" "):
            pw, pn = out[-1]
            out[-1] = (ChunkWord(pw.start_s, pw.end_s, pw.word + w.word, pw.probability), pn + n)
            continue
        if stripped and all(ch in prepended for ch in stripped) and w.word.startswith(" ") \
                and stripped == w.word.strip():
            carry = (w.word, n)
            continue
        out.append((w, n))
    if carry is not None:
        out.append((ChunkWord(0.0, 0.0, carry[0], 0.0), carry[1]))
    return out
