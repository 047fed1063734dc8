"""Dynamic batching: chunks from concurrent requests are decoded together on the model.

Like Triton's dynamic batcher: a batch closes when it reaches `max_batch_size`, or when the
oldest job has waited `max_wait_ms` (it may close early at a preferred size once that wait
is half over). Jobs are grouped by decoding options. A bounded queue refuses work beyond
`queue_limit` so overload answers 503 instead of growing memory.
"""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from clinivox.asr.types import TranscribeOptions
from clinivox.errors import ClinivoxError


class Overloaded(ClinivoxError):
    """The decode queue is full."""

    http_status = 503


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
        self._thread = threading.Thread(target=self._run, name="clinivox-batcher", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        return len(self._queue)

    def submit_many(self, audios: list[np.ndarray], options: TranscribeOptions,
                    biaser=None) -> list[Future]:
        """Queue chunks of one request; all or none (Overloaded when the queue is full)."""
        with self._cv:
            if len(self._queue) + len(audios) > self.o.queue_limit:
                raise Overloaded(f"server busy: {len(self._queue)} chunks queued "
                                 f"(limit {self.o.queue_limit}); retry later")
            jobs = [_Job(a, options, Future(), biaser) for a in audios]
            self._queue.extend(jobs)
            self._cv.notify()
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
            return same

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            live = [j for j in batch if j.future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                results = self.engine.decode_batch([j.audio for j in live], live[0].options,
                                                   live[0].biaser)
            except BaseException as exc:  # handed to the waiting requests
                for j in live:
                    j.future.set_exception(exc)
                continue
            if self._on_batch is not None:
                self._on_batch(len(live))
            for j, r in zip(live, results, strict=True):
                j.future.set_result(r)

