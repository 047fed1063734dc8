"""Prometheus metrics (one registry per app, so tests can build several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("clinivox_requests_total", "HTTP requests",
                                ["endpoint", "status"], registry=r)
        self.request_seconds = Histogram("clinivox_request_seconds", "request duration",
                                         ["endpoint"], registry=r)
        self.audio_seconds = Counter("clinivox_audio_seconds_total", "audio processed",
                                     ["kind"], registry=r)
        self.batch_size = Histogram("clinivox_batch_size", "chunks per decode batch",
                                    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32), registry=r)
        self.queue_depth = Gauge("clinivox_queue_depth", "chunks waiting to decode",
                                 registry=r)
        self.active_streams = Gauge("clinivox_active_streams", "open WebSocket sessions",
                                    registry=r)
        self.final_latency = Histogram(
            "clinivox_stream_final_latency_seconds", "final latency after end of speech",
            buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0), registry=r)
        self.alerts = Counter("clinivox_alerts_total", "critical alerts", ["category"],
                              registry=r)
        self.rejected = Counter("clinivox_rejected_total", "requests refused",
                                ["reason"], registry=r)
        self.store_failures = Counter(
            "clinivox_store_failures_total", "best-effort database writes that failed "
            "(the request itself succeeded)", ["what"], registry=r)
        self.internal_errors = Counter("clinivox_internal_errors_total",
                                       "unexpected errors answered with 500", ["type"],
                                       registry=r)
