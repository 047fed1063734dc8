"""Dynamic batching: chunks from concurrent requests are decoded together on the model.

Like Triton's dynamic batcher: a batch closes when it reaches `max_batch_size`, or when the
oldest job has waited `max_wait_ms` (it may close early at a preferred size once that wait
is half over). Jobs are grouped by decoding options. A bounded queue refuses work beyond
`queue_limit` so overload answers 503 instead of growing memory.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from clinivox.asr.types import TranscribeOptions
from clinivox.errors import ClinivoxError


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
    biaser: object = None  # medical biasing for this request's chunks
    enqueued: float = field(default_factory=time.monotonic)


class DynamicBatcher:
    def __init__(self, engine, options: BatchingOptions | None = None,
                 on_batch=None) -> None:
        self.engine = engine
        self.o = options or BatchingOptions()
        self.o.validate()
        self._queue: collections.deque[_Job] = collections.deque()
        self._cv = threading.Condition()
        self._stop = False
        self._on_batch = on_batch  # callback(size) for metrics
        self._s_per_chunk = 1.0  # moving average of decode seconds per chunk
        self._reserved = 0  # queue slots held by admitted requests (`reserve`)
        self._thread = threading.Thread(target=self._run, name="clinivox-batcher", daemon=True)
        self._thread.start()

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
                    biaser=None, wait_s: float = 0.0) -> list[Future]:
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
            self._cv.notify_all()
        return [j.future for j in jobs]

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)

    def _take_batch(self) -> list[_Job]:
        limit = self.o.max_batch_size if self.o.enabled else 1
        with self._cv:
            while not self._queue and not self._stop:
                self._cv.wait()
            if self._stop and not self._queue:
                return []
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
            for j in same:
                self._queue.remove(j)
            self._cv.notify_all()  # submitters waiting for room
            return same

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            live = [j for j in batch if j.future.set_running_or_notify_cancel()]
            if not live:
                continue
            t0 = time.monotonic()
            try:
                results = self.engine.decode_batch([j.audio for j in live], live[0].options,
                                                   live[0].biaser)
            except BaseException as exc:  # handed to the waiting requests
                for j in live:
                    j.future.set_exception(exc)
                continue
            per_chunk = (time.monotonic() - t0) / len(live)
            self._s_per_chunk = 0.8 * self._s_per_chunk + 0.2 * per_chunk
            if self._on_batch is not None:
                self._on_batch(len(live))
            for j, r in zip(live, results, strict=True):
                j.future.set_result(r)

