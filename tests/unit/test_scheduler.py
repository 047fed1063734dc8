"""The one decode scheduler: stream finals first, then REST batches, then stream partials.

An instrumented engine records every decode call and can be held mid-decode, so the order in
which queued work is served is observed, not inferred from timing.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from clinivox.asr.engine import ChunkResult, ChunkSegment
from clinivox.asr.scheduler import BatchingOptions, DecodeScheduler, Overloaded
from clinivox.asr.types import TranscribeOptions

GREEDY = TranscribeOptions(beam_size=1)
BEAM = TranscribeOptions(beam_size=5)


class HeldEngine:
    """Decodes a chunk into its length as text; `hold()` blocks the next decode until
    `release()`; `calls` lists (label, batch size) per decode."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self._gate = threading.Event()
        self._gate.set()
        self.entered = threading.Event()

    def hold(self) -> None:
        self._gate.clear()
        self.entered.clear()

    def release(self) -> None:
        self._gate.set()

    def decode_batch(self, chunks, options, biaser=None):
        self.calls.append(("greedy" if options.beam_size == 1 else "beam", len(chunks)))
        self.entered.set()
        assert self._gate.wait(10)
        return [ChunkResult([ChunkSegment(0.0, 1.0, str(c.shape[0]), [])], "en", 1.0, 0.0,
                            0.0, 1.0, 0.0) for c in chunks]


def in_thread(fn, *args, **kwargs):
    out: dict = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, out


def wait_for(predicate, timeout=5.0):
    done = threading.Event()
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return
        done.wait(0.005)
    raise AssertionError("condition not reached")


@pytest.fixture
def engine():
    return HeldEngine()


@pytest.fixture
def sched(engine):
    s = DecodeScheduler(engine, BatchingOptions(max_wait_ms=0.0))
    yield s
    engine.release()
    s.close()


def test_partials_are_skipped_while_a_final_runs_and_finals_wait_their_turn(sched, engine):
    order: list[str] = []
    engine.hold()
    t1, r1 = in_thread(sched.final, lambda c: (order.append("a"), engine.decode_batch(
        [np.zeros(10, np.float32)], BEAM), c)[-1])
    assert engine.entered.wait(5)
    # while final "a" decodes: a partial is skipped at once, final "b" queues (contended)
    assert sched.partial(np.zeros(5, np.float32), GREEDY) is None
    t2, r2 = in_thread(sched.final, lambda c: (order.append("b"), c)[-1])
    wait_for(lambda: len(sched._finals) == 1)
    engine.release()
    t1.join(5)
    t2.join(5)
    assert order == ["a", "b"]
    assert r1["value"] is False and r2["value"] is True  # "b" arrived behind "a"
    assert sched.counts["partial_skipped"] == 1
    assert sched.final(lambda c: c) is False  # alone again: not contended


def test_a_final_goes_before_queued_rest_chunks_and_queued_partials_give_way(sched, engine):
    engine.hold()
    tp, rp = in_thread(sched.partial, np.zeros(100, np.float32), GREEDY)  # running
    assert engine.entered.wait(5)
    # a second stream's partial queues behind the running partial
    tq, rq = in_thread(sched.partial, np.zeros(200, np.float32), GREEDY)
    wait_for(lambda: len(sched._partials) == 1)
    futures = sched.submit_many([np.zeros(300, np.float32)] * 2, BEAM)
    assert len(sched._partials) == 0  # the REST chunks pushed the queued partial out
    tq.join(5)
    assert rq["value"] is None
    tf, rf = in_thread(sched.final, lambda c: engine.calls.append(("final", 0)) or "done")
    wait_for(lambda: len(sched._finals) == 1)
    engine.release()
    tp.join(5)
    tf.join(5)
    assert [f.result(5).segments[0].text for f in futures] == ["300", "300"]
    assert rp["value"][0].segments[0].text == "100"
    assert rf["value"] == "done"
    # the running partial, then the final that arrived last, then the REST batch (of 2)
    assert engine.calls == [("greedy", 1), ("final", 0), ("beam", 2)]


def test_partials_of_several_streams_are_decoded_in_one_batch(sched, engine):
    engine.hold()
    t0, _ = in_thread(sched.partial, np.zeros(1, np.float32), GREEDY)
    assert engine.entered.wait(5)
    threads = [in_thread(sched.partial, np.zeros(10 * (k + 1), np.float32), GREEDY)
               for k in range(3)]
    wait_for(lambda: len(sched._partials) == 3)
    engine.release()
    t0.join(5)
    for t, _ in threads:
        t.join(5)
    assert [r["value"][0].segments[0].text for _, r in threads] == ["10", "20", "30"]
    assert engine.calls == [("greedy", 1), ("greedy", 3)]


def test_speculative_final_runs_only_when_idle(sched, engine):
    assert sched.final(lambda c: "spec", speculative=True) == "spec"
    engine.hold()
    t, _ = in_thread(sched.partial, np.zeros(1, np.float32), GREEDY)
    assert engine.entered.wait(5)
    assert sched.final(lambda c: "spec", speculative=True) is None  # busy: not waited for
    engine.release()
    t.join(5)


def test_a_failing_final_reaches_its_stream_and_the_worker_goes_on(sched):
    def boom(_):
        raise ValueError("decoder failed")

    with pytest.raises(ValueError, match="decoder failed"):
        sched.final(boom)
    assert sched.final(lambda c: 42) == 42


def test_queue_limit_refuses_with_retry_after(engine):
    s = DecodeScheduler(engine, BatchingOptions(queue_limit=2))
    try:
        with pytest.raises(Overloaded) as caught:
            s.submit_many([np.zeros(1, np.float32)] * 3, BEAM)
        assert caught.value.http_status == 503 and "Retry-After" in caught.value.headers
    finally:
        s.close()
