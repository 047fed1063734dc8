"""`POST /v1/audio/transcriptions` and `/v1/audio/translations` (OpenAI-compatible).

The route parses and checks the request, then runs `pipeline.transcribe_file` on the
server's pool with `decode` routed through the shared scheduler
(`asr.scheduler.DecodeScheduler`): chunks of concurrent requests are decoded together,
after any waiting stream finals, and a request keeps at most `batch_size` chunks queued,
so a long file neither hogs the decoder nor holds its audio in memory.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.datastructures import UploadFile as StarletteUploadFile

from clinivox.errors import ClinivoxError
from clinivox.serve.db import Owner
from clinivox.serve.formats import RESPONSE_FORMATS, transcription_body
from clinivox.serve.state import AppState, get_state, principal

MAX_FIELD_BYTES = 16 * 1024  # a multipart text field (prompt, language, ...)
MAX_PROMPT_CHARS = 4000
WINDOW_WAIT_S = 600.0  # an admitted request waits this long for queue room per batch
log = logging.getLogger("clinivox.serve")
router = APIRouter(prefix="/v1/audio")


@router.post("/transcriptions")
async def transcriptions(request: Request, state: AppState = Depends(get_state),
                         p: Owner = Depends(principal)):
    """OpenAI's transcription API (multipart: file, model, language, prompt,
    response_format, timestamp_granularities[]), plus `medical` and `diarize`."""
    return await transcribe_request(request, state, p, "transcribe")


@router.post("/translations")
async def translations(request: Request, state: AppState = Depends(get_state),
                       p: Owner = Depends(principal)):
    """OpenAI's translation API: speech in any language the model knows, English text
    out. An English-only model (tiny.en) transcribes its English as it is."""
    return await transcribe_request(request, state, p, "translate")


class UploadTooLarge(ClinivoxError):
    http_status = 413


def limit_body(request: Request, max_bytes: int) -> None:
    """Count the request body's bytes as they arrive; UploadTooLarge past `max_bytes`."""
    receive = request._receive
    total = 0

    async def counted():
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > max_bytes:
                raise UploadTooLarge(f"upload larger than {max_bytes} bytes")
        return message

    request._receive = counted


def _duration_s(data: bytes) -> float:
    """The duration the file's header gives (0 when it gives none, or is not audio: the
    pipeline then reports the file's own error)."""
    import io

    from clinivox.audio.decode import probe

    try:
        return probe(io.BytesIO(data)).duration_s or 0.0
    except ClinivoxError:
        return 0.0


def _flag(form, name: str) -> bool:
    return str(form.get(name, "false")).lower() in ("1", "true", "yes")


async def transcribe_request(request: Request, state: AppState, p: Owner, task: str):
    from clinivox.asr.types import TranscribeOptions
    from clinivox.pipeline import transcribe_file

    settings = state.settings
    t0 = time.perf_counter()
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and \
            int(length) > settings.max_upload_bytes + 64 * 1024:
        raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
    # a chunked upload has no length: the body's bytes are counted as they arrive (413 at
    # the limit, before the rest is spooled to disk); text fields are capped
    limit_body(request, settings.max_upload_bytes + 64 * 1024)
    form = await request.form(max_part_size=MAX_FIELD_BYTES)
    upload = form.get("file")
    if not isinstance(upload, UploadFile | StarletteUploadFile):
        raise HTTPException(400, "multipart field 'file' is required")
    fmt = str(form.get("response_format") or "json")
    if fmt not in RESPONSE_FORMATS:
        raise HTTPException(400, f"response_format must be one of {RESPONSE_FORMATS}")
    model = str(form.get("model") or "whisper-1")
    if model not in ("whisper-1", state.recognizer.model_name):
        raise HTTPException(400, f"unknown model {model[:64]!r}: this server runs "
                                 f"{state.recognizer.model_name!r} (or ask for 'whisper-1', "
                                 "its alias)")
    if _flag(form, "stream"):
        raise HTTPException(400, "stream=true is not supported on this endpoint: use the "
                                 "WebSocket /v1/stream for live results")
    grains = {str(v) for v in form.getlist("timestamp_granularities[]")} | \
        {str(v) for v in form.getlist("timestamp_granularities")}
    if grains - {"word", "segment"}:
        raise HTTPException(400, "timestamp_granularities must be 'word' and/or 'segment'")
    language = str(form.get("language") or "") or None
    state.recognizer.check_language(language)
    prompt = str(form.get("prompt") or "") or None
    if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
        raise HTTPException(400, f"prompt is limited to {MAX_PROMPT_CHARS} characters "
                                 "(Whisper reads at most 224 tokens of it)")
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
    medical, diarize = _flag(form, "medical"), _flag(form, "diarize")
    biaser = await state.run(state.medical_biaser) if medical else None
    diarizer = await state.run(state.diarizer) if diarize else None
    if task == "translate" and not state.recognizer.engine.multilingual:
        task = "transcribe"  # an English-only model's output is English already
    # a batch of chunks never exceeds the queue; a short file reserves only what it can use
    batch = min(TranscribeOptions.batch_size, settings.batching.queue_limit)
    opts = TranscribeOptions(language=language, initial_prompt=prompt, task=task,
                             batch_size=batch)
    duration_s = await state.run(_duration_s, data)
    reserve = min(batch, int(duration_s // 28) + 2) if duration_s else batch

    def decode(audios, options, hook):  # each batch through the shared scheduler
        futures = state.scheduler.submit_many(audios, options, hook, wait_s=WINDOW_WAIT_S)
        state.metrics.queue_depth.set(state.scheduler.depth)
        return [f.result() for f in futures]

    # admitted only when a batch of its chunks fits the queue: 503 now, with Retry-After
    with state.scheduler.reserve(reserve):
        transcript = await state.run(
            transcribe_file, state.recognizer, data, opts, biaser=biaser, diarize=diarize,
            diarizer=diarizer, max_duration_s=settings.max_audio_s, decode=decode)
    if _flag(form, "redact_phi"):  # every output of the request, before formatting
        await state.run(transcript.redact)
    info = transcript.info
    body, media = transcription_body(fmt, transcript.segments, info.language, info.duration_s,
                                     grains)
    if isinstance(body, dict):
        extra = transcript.extra()
        extra.pop("diarization", None)  # the segments carry their speakers
        body.update(extra)
    state.metrics.audio_seconds.labels("rest").inc(info.duration_s)
    try:  # metadata only: a failed write must not turn a finished transcript into a 500
        await state.run(state.store.audit, p.key_id, "transcription", None)
        await state.run(state.store.log_request, request.url.path, 200,
                        (time.perf_counter() - t0) * 1000, info.duration_s, p.key_id,
                        settings.batching.enabled)
    except Exception as exc:
        log.warning("request metadata not stored: %s", type(exc).__name__)
        state.metrics.store_failures.labels("request_log").inc()
    if media == "application/json":
        return JSONResponse(body)
    return PlainTextResponse(body, media_type=media)
