"""`transcribe_file(...) -> Transcript`: the one orchestration of a transcription.

Decode, bias, diarize, attribute words to speakers, list terms and check the language, in
one place: the CLI's `transcribe` and `scribe`, and the server's REST routes, parse their
input, call this, and format the `Transcript`. (Each wrote its own copy before: the chunk
tail rounds, diarize-then-attribute and the term listing drifted apart.)

The server passes `decode`, which routes each batch of chunks through its shared scheduler
instead of the engine directly; everything else is the same code path.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinivox.asr.recognizer import Recognizer, TranscriptionInfo
from clinivox.asr.types import Segment, TranscribeOptions
from clinivox.io.writers import transcript_dict

if TYPE_CHECKING:
    from clinivox.privacy.transcript import Redaction


@dataclass
class Transcript:
    """A transcribed recording and what was found in it."""

    segments: list[Segment]
    info: TranscriptionInfo
    speakers: list[dict] | None = None  # [{"speaker", "role"}] when diarized
    diarization: dict | None = None  # turns, when diarized
    terms: list[dict] | None = None  # lexicon terms per segment, when a biaser was given
    warnings: dict[str, Any] = field(default_factory=dict)  # e.g. language_warning

    def extra(self) -> dict[str, Any]:
        """The JSON document's additions beside text, language and segments."""
        out: dict[str, Any] = {}
        if self.speakers is not None:
            out["speakers"] = self.speakers
        if self.diarization is not None:
            out["diarization"] = self.diarization
        if self.terms is not None:
            out["terms"] = self.terms
        out.update(self.warnings)
        return out

    def redact(self, policy: str = "tag", salt: str = "") -> Redaction:
        """PHI redacted in the segments, so in every output made from them; the result
        holds the redacted words' audio times (for `--redact-audio`)."""
        from clinivox.privacy.transcript import redact_segments

        r = redact_segments(self.segments, policy, salt)
        self.segments = r.segments
        self.warnings["redaction"] = {"policy": policy, "spans": r.categories}
        return r

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON document; it names the model that decoded (`--medical` replaces a
        bundled model by its clinical build, so a reader of the record can tell)."""
        return transcript_dict(self.segments, language=self.info.language,
                               duration_s=self.info.duration_s,
                               extra={"model": self.info.model, **self.extra()})


def transcribe_file(recognizer: Recognizer, source: str | Path | bytes, options:
                    TranscribeOptions | None = None, *, biaser: Any = None,
                    diarize: bool = False, diarizer: Any = None, diarize_options: Any = None,
                    by_channel: bool = False,
                    split_channels: bool = False, max_duration_s: float | None = None,
                    decode: Callable | None = None,
                    on_segment: Callable[[Segment], None] | None = None) -> Transcript:
    """Transcribe `source` (a path or the file's bytes).

    biaser: a decode hook (`clinivox.biasing.load_biaser`); its terms are listed per segment.
    diarize: speakers by voice (`diarizer`, a `clinivox.diarize.Diarizer`, reused across
    calls when given), or one per channel with `by_channel`; each word gets the speaker
    heard at its time and roles are inferred. split_channels: each channel transcribed on
    its own. decode: `(audios, options, hook) -> [ChunkResult]` to schedule decoding (the
    server's scheduler); default: the recognizer's engine. on_segment: called with each
    segment as it is decoded (progress)."""
    options = options or TranscribeOptions()
    by_channel = by_channel and diarize
    pending = _diarize_async(source, diarize_options, by_channel, diarizer) if diarize \
        else None
    if split_channels or by_channel:
        segments, info = recognizer.transcribe_channels(_open(source), options, biaser=biaser)
    else:
        seg_iter, info = recognizer.transcribe(_open(source), options, biaser=biaser,
                                               max_duration_s=max_duration_s, decode=decode)
        segments = []
        for seg in seg_iter:
            segments.append(seg)
            if on_segment is not None:
                on_segment(seg)
    out = Transcript(segments, info)
    if pending is not None:
        attribute_speakers(out, pending.result(), by_channel, biaser)
    if biaser is not None:
        out.terms = segment_terms(out.segments, biaser)
    if info.language_mismatch is not None:
        heard, share = info.language_mismatch
        out.warnings["language_warning"] = {"requested": info.options.language,
                                            "detected": heard,
                                            "share_of_chunks": round(share, 3)}
    return out


def segment_terms(segments: list[Segment], biaser: Any) -> list[dict]:
    """The clinical entities of each segment by the NLU (codes and assertions: "denies
    chest pain" lists chest pain as absent), read with the biaser's own lexicon (the full
    one with `--medical`, the user's terms with `--vocab`); the everyday-word symptoms and
    body parts of `clinivox extract` are not listed."""
    out: list[dict] = []
    for s in segments:
        where = {"segment": s.id, "start_s": round(s.start_s, 3)}
        out += [{**t, **where} for t in text_terms(s.text, biaser.matcher)]
    return out


def text_terms(text: str, matcher: Any = None) -> list[dict]:
    """The terms of one text as the outputs list them: the NLU's entities (with `matcher`'s
    lexicon, else the NLU's own, which never reads an everyday word such as "all" or "other"
    as a diagnosis), with normalised form, code, label and assertion."""
    from clinivox.nlu.entities import extract_text

    return [{"term": e.text, "canonical": e.normalized, "category": e.category,
             "code": e.code, "label": e.label, "assertion": e.assertion,
             **({"attributes": e.attributes} if e.attributes else {})}
            for e in extract_text(text, matcher=matcher, everyday=False)]


def attribute_speakers(transcript: Transcript, diarization: Any, by_channel: bool,
                       biaser: Any = None) -> None:
    """Speakers on the transcript's segments (split at speaker changes), with roles."""
    from clinivox.diarize.attribution import attribute_words, infer_roles

    if by_channel:  # each channel was transcribed on its own: its speaker is known
        attributed = [replace(s, speaker=f"CHANNEL_{s.channel}") for s in transcript.segments]
    else:
        attributed = attribute_words(transcript.segments, diarization)
    counter = (lambda text: len(biaser.terms(text))) if biaser is not None else None
    roles = infer_roles(attributed, counter)
    transcript.segments = attributed
    transcript.speakers = [{"speaker": s, "role": roles.get(s, "other")}
                           for s in diarization.speakers]
    transcript.diarization = diarization.to_dict()


def _open(source: str | Path | bytes) -> Any:
    return io.BytesIO(source) if isinstance(source, bytes | bytearray) else source


def _diarize_async(source: str | Path | bytes, options: Any, by_channel: bool,
                   diarizer: Any) -> Future:
    """Diarization in a worker thread, beside transcription (numpy and CTranslate2 release
    the GIL); its result is joined at the end."""
    from clinivox.diarize import diarize_file

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clinivox-diarize")
    future = pool.submit(diarize_file, _open(source), options, by_channel=by_channel,
                         diarizer=diarizer)
    pool.shutdown(wait=False)
    return future
