"""One decode scheduler per engine: REST chunks, stream partials and stream finals, finals first.

A single worker thread owns the engine and serves three queues in priority order:

1. **finals** (`final(fn)`): an utterance's closing decode, with beam search, word
   timestamps and the medical layer. Served in arrival order, before anything else.
2. **batches** (`submit_many`): chunks of REST requests. Like Triton's dynamic batcher, a
   batch closes when it reaches `max_batch_size`, or when the oldest job has waited
   `max_wait_ms` (early at a preferred size once half of that wait is over); jobs are
   grouped by decoding options and biaser. A final that arrives while a batch gathers is
   served first. A bounded queue refuses work beyond `queue_limit` (503, not memory).
3. **partials** (`partial(audio, options)`): the cheap greedy re-decodes of open utterances.
   They never wait for other work: a partial is taken only while nothing of higher priority
   is queued or running, otherwise it is skipped (the stream tries again at its next chunk),
   and queued partials are dropped when a final or a batch arrives. Partials of several
   streams that queue together are decoded in one batch (the sherpa-onnx shape: per-stream
   state in each `StreamingRecognizer`, one engine decoding the streams' chunks at once).

Speculative finals (decoded ahead of the endpoint, wasted if speech resumes) are
`final(fn, speculative=True)`: taken at partial priority, only when the engine is idle.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from clinivox.asr.engine import ChunkResult, Engine
from clinivox.asr.types import TranscribeOptions
from clinivox.errors import ClinivoxError

T = TypeVar("T")


class Overloaded(ClinivoxError):
    """The decode queue is full. `retry_after_s`: when the queue should have room."""

    http_status = 503

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(retry_after_s)}


@dataclass(frozen=True)
class BatchingOptions:
    enabled: bool = True  # off: every chunk is decoded alone (the comparison baseline)
    max_batch_size: int = 8  # chunks per decode call
    max_wait_ms: float = 25.0  # longest time the oldest job waits for company
    preferred_batch_sizes: tuple[int, ...] = (8, 4)  # sizes worth closing a batch early at
    queue_limit: int = 64  # queued chunks beyond which requests are refused

    def validate(self) -> None:
        if not 1 <= self.max_batch_size <= 64:
            raise ValueError("max_batch_size must be within 1-64")
        if self.max_wait_ms < 0 or self.queue_limit < 1:
            raise ValueError("max_wait_ms must be >= 0 and queue_limit >= 1")


@dataclass
class _Job:
    audio: np.ndarray
    options: TranscribeOptions
    future: Future
    biaser: Any = None  # medical biasing for this request's chunks
    enqueued: float = field(default_factory=time.monotonic)


@dataclass
class _Final:
    fn: Callable[[bool], Any]
    future: Future
    contended: bool  # another final was queued or running when this one arrived


class DecodeScheduler:
    """The engine's one worker: finals, then REST batches, then partials."""

    def __init__(self, engine: Engine | None, options: BatchingOptions | None = None,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        self.o = options or BatchingOptions()
        self.o.validate()
        self._cv = threading.Condition()
        self._finals: collections.deque[_Final] = collections.deque()
        self._queue: collections.deque[_Job] = collections.deque()  # REST chunks
        self._partials: collections.deque[_Job] = collections.deque()
        self._running: str | None = None  # "final", "batch", "partial" or None
        self._stop = False
        self._on_batch = on_batch  # callback(size) for metrics
        self._s_per_chunk = 1.0  # moving average of decode seconds per REST chunk
        self._reserved = 0  # queue slots held by admitted requests (`reserve`)
        self.counts = {"final": 0, "batch": 0, "partial": 0, "partial_skipped": 0}
        self._thread = threading.Thread(target=self._run, name="clinivox-decoder",
                                        daemon=True)
        self._thread.start()

    # -- REST chunks -------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self._queue)

    def retry_after_s(self) -> int:
        """Seconds until the queue has drained at the measured decode rate (1-120)."""
        return max(1, min(120, int(np.ceil(len(self._queue) * self._s_per_chunk))))

    @contextlib.contextmanager
    def reserve(self, n: int) -> Iterator[None]:
        """Admit a request that will keep at most `n` chunks queued at a time, or refuse it
        at once (Overloaded, Retry-After from the queue depth) when the reservations of the
        requests in progress would pass `queue_limit`. An admitted request's windows then
        always fit: it is never refused half-way through a long file."""
        n = max(1, min(n, self.o.queue_limit))
        with self._cv:
            if self._reserved + n > self.o.queue_limit:
                raise Overloaded(f"server busy: {self._reserved} chunk slots in use "
                                 f"(limit {self.o.queue_limit}); retry later",
                                 self.retry_after_s())
            self._reserved += n
        try:
            yield
        finally:
            with self._cv:
                self._reserved -= n

    def submit_many(self, audios: list[np.ndarray], options: TranscribeOptions,
                    biaser: Any = None, wait_s: float = 0.0) -> list[Future]:
        """Queue chunks of one request; all or none. When the queue is full, wait up to
        `wait_s` for room (a request already admitted, taking its next window), then
        Overloaded. More chunks than the whole queue holds are refused at once."""
        if len(audios) > self.o.queue_limit:
            raise Overloaded(f"{len(audios)} chunks at once exceed the queue limit "
                             f"({self.o.queue_limit})")
        deadline = time.monotonic() + wait_s
        with self._cv:
            while len(self._queue) + len(audios) > self.o.queue_limit:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop:
                    raise Overloaded(f"server busy: {len(self._queue)} chunks queued "
                                     f"(limit {self.o.queue_limit}); retry later",
                                     self.retry_after_s())
                self._cv.wait(timeout=left)
            jobs = [_Job(a, options, Future(), biaser) for a in audios]
            self._queue.extend(jobs)
            self._drop_partials()
            self._cv.notify_all()
        return [j.future for j in jobs]

    # -- streams -----------------------------------------------------------------------------
    def partial(self, audio: np.ndarray, options: TranscribeOptions) -> list[ChunkResult] | None:
        """Decode a stream's partial, batched with other streams' partials; None (skipped)
        when a final or a REST batch is queued or running, or when one arrives first."""
        with self._cv:
            if self._stop or self._finals or self._queue or \
                    self._running in ("final", "batch") or \
                    len(self._partials) >= self.o.max_batch_size:
                self.counts["partial_skipped"] += 1
                return None
            job = _Job(audio, options, Future())
            self._partials.append(job)
            self._cv.notify_all()
        try:
            return [job.future.result()]
        except _Skipped:
            return None

    def final(self, fn: Callable[[bool], T], speculative: bool = False) -> T | None:
        """Run `fn(contended)` on the engine's worker, ahead of batches and partials, in
        arrival order among finals. `contended`: other finals were queued or running when
        this one arrived, or queue behind it when it starts (the streams are saturating:
        the caller may decode a cheaper window). A speculative final runs only when the
        engine is idle and nothing waits; otherwise None at once."""
        with self._cv:
            if self._stop:
                raise RuntimeError("decode scheduler closed")
            if speculative:
                if self._running is not None or self._finals or self._queue or \
                        self._partials:
                    return None
                contended = False
            else:
                contended = bool(self._finals) or self._running == "final"
            item = _Final(fn, Future(), contended)
            if speculative:  # runs as the next thing, at once: nothing else is waiting
                self._finals.appendleft(item)
            else:
                self._finals.append(item)
            self._drop_partials()
            self._cv.notify_all()
        try:
            return item.future.result()
        except BaseException:
            if item.future.cancel():  # interrupted while waiting: give the turn up
                with self._cv, contextlib.suppress(ValueError):
                    self._finals.remove(item)
            raise

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._drop_partials()
            self._cv.notify_all()
        self._thread.join(timeout=5)

    # -- worker ------------------------------------------------------------------------------
    def _drop_partials(self) -> None:
        """Queued partials give way to the work that just arrived (caller holds the lock)."""
        while self._partials:
            job = self._partials.popleft()
            self.counts["partial_skipped"] += 1
            job.future.set_exception(_Skipped())

    def _take(self) -> tuple[str, list[_Job] | _Final] | None:
        limit = self.o.max_batch_size if self.o.enabled else 1
        with self._cv:
            while True:
                while not (self._finals or self._queue or self._partials or self._stop):
                    self._cv.wait()
                if self._finals:
                    item = self._finals.popleft()
                    if not item.future.set_running_or_notify_cancel():
                        continue
                    item.contended = item.contended or bool(self._finals)
                    self._running = "final"
                    return "final", item
                if self._queue:
                    batch = self._gather(limit)
                    if batch is None:
                        continue  # a final arrived while the batch gathered
                    self._running = "batch"
                    return "batch", batch
                if self._partials:
                    first = self._partials[0]
                    same = [j for j in self._partials if j.options == first.options][:limit]
                    for j in same:
                        self._partials.remove(j)
                    self._running = "partial"
                    return "partial", same
                return None  # stopped, nothing left

    def _gather(self, limit: int) -> list[_Job] | None:
        first = self._queue[0]
        deadline = first.enqueued + self.o.max_wait_ms / 1000
        while True:
            same = [j for j in self._queue if j.options == first.options
                    and j.biaser is first.biaser][:limit]
            now = time.monotonic()
            half = now >= first.enqueued + self.o.max_wait_ms / 2000
            if len(same) >= limit or now >= deadline or self._stop or \
                    (half and len(same) in self.o.preferred_batch_sizes):
                break
            self._cv.wait(timeout=max(0.0, deadline - now))
            if self._finals:
                return None
            if not self._queue or self._queue[0] is not first:
                return None  # cancelled meanwhile: start over
        for j in same:
            self._queue.remove(j)
        self._cv.notify_all()  # submitters waiting for room
        return same

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            kind, work = taken
            try:
                if isinstance(work, _Final):
                    self._run_final(work)
                else:
                    self._run_batch(kind, work)
            finally:
                with self._cv:
                    self._running = None
                    self.counts[kind] += 1
                    self._cv.notify_all()

    @staticmethod
    def _run_final(item: _Final) -> None:
        try:
            result = item.fn(item.contended)
        except BaseException as exc:  # handed to the waiting stream
            item.future.set_exception(exc)
        else:
            item.future.set_result(result)

    def _run_batch(self, kind: str, batch: list[_Job]) -> None:
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        t0 = time.monotonic()
        try:
            if self.engine is None:
                raise RuntimeError("decode scheduler has no engine")
            results = self.engine.decode_batch([j.audio for j in live], live[0].options,
                                               live[0].biaser)
        except BaseException as exc:  # handed to the waiting requests
            for j in live:
                j.future.set_exception(exc)
            return
        if kind == "batch":
            per_chunk = (time.monotonic() - t0) / len(live)
            self._s_per_chunk = 0.8 * self._s_per_chunk + 0.2 * per_chunk
            if self._on_batch is not None:
                self._on_batch(len(live))
        for j, r in zip(live, results, strict=True):
            j.future.set_result(r)


class _Skipped(Exception):
    """A queued partial gave way to a final or a batch."""
