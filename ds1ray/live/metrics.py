"""The HTTP app's metrics, written in the Prometheus text exposition format (version 0.0.4).

Counters and histograms live in process memory (the app is one process);
gauges that the record or the running business knows (dead letters, breaker
states, queue depths) are read when `/metrics` is scraped and passed to
`AppMetrics.render`. No client library is needed for this little: the format is
`# HELP`, `# TYPE`, then `name{label="value",…} number` lines, with label values
escaped (backslash, double quote, newline) and histogram buckets cumulative,
ending in `le="+Inf"` equal to `_count`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ds1ray.live.rejections import RejectReason

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request latency buckets (seconds): webhooks must answer well within Shopify's 5 s;
# the interesting range is 1 ms to 1 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}
WEBHOOK_REJECT_REASONS = (*(reason.value for reason in RejectReason), "rate_limited", "overloaded")


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def sample(name: str, labels: Mapping[str, str], value: float) -> str:
    if not labels:
        return f"{name} {format_value(value)}"
    text = ",".join(f'{key}="{escape_label(str(val))}"' for key, val in labels.items())
    return f"{name}{{{text}}} {format_value(value)}"


def header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def preset(self, **labels: str) -> None:
        """Show a label set at 0 before it happens, so rates of rare events start from a sample."""
        key = self._key(labels)
        with self._lock:
            self._values.setdefault(key, 0.0)

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def _key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[name]) for name in self.labelnames)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return header(self.name, "counter", self.help) + [
            sample(self.name, dict(zip(self.labelnames, key, strict=True)), value) for key, value in items
        ]


class Histogram:
    """Observations counted into cumulative buckets per label set."""

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        if list(buckets) != sorted(buckets):
            raise ValueError("histogram buckets must be increasing")
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self.buckets = tuple(buckets)
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(str(labels[name]) for name in self.labelnames)
        with self._lock:
            counts, totals = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            index = next((i for i, bound in enumerate(self.buckets) if value <= bound), len(self.buckets))
            counts[index] += 1
            totals[0] += value

    def count(self, **labels: str) -> int:
        key = tuple(str(labels[name]) for name in self.labelnames)
        with self._lock:
            counts, _ = self._series.get(key, ([0], [0.0]))
            return sum(counts)

    def lines(self) -> list[str]:
        with self._lock:
            series = sorted((key, (list(c), t[0])) for key, (c, t) in self._series.items())
        out = header(self.name, "histogram", self.help)
        for key, (counts, total) in series:
            labels = dict(zip(self.labelnames, key, strict=True))
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = "+Inf" if math.isinf(bound) else format_value(bound)
                out.append(sample(f"{self.name}_bucket", {**labels, "le": le}, running))
            out.append(sample(f"{self.name}_sum", labels, total))
            out.append(sample(f"{self.name}_count", labels, running))
        return out


class AppMetrics:
    """Everything `/metrics` shows about the HTTP app."""

    def __init__(self) -> None:
        self.webhooks_received = Counter(
            "ds1_webhooks_received_total", "Webhook requests received.", ["source"])
        self.webhooks_accepted = Counter(
            "ds1_webhooks_accepted_total", "Webhooks verified and recorded for the first time.",
            ["source"])
        self.webhooks_duplicate = Counter(
            "ds1_webhooks_duplicate_total", "Verified webhooks whose event was already recorded.",
            ["source"])
        self.webhooks_rejected = Counter(
            "ds1_webhooks_rejected_total", "Webhooks refused (nothing stored), by reason.",
            ["source", "reason"])
        self.chat_requests = Counter(
            "ds1_chat_requests_total", "Chat requests by outcome.", ["mode", "outcome"])
        self.ai_tokens = Counter("ds1_ai_tokens_total", "AI tokens spent by the CEO chat.")
        self.request_latency = Histogram(
            "ds1_http_request_duration_seconds", "HTTP request latency by route and status class.",
            ["route", "method", "status"])
        for source in ("shopify", "stripe"):
            for counter in (self.webhooks_received, self.webhooks_accepted, self.webhooks_duplicate):
                counter.preset(source=source)
            for reason in WEBHOOK_REJECT_REASONS:
                self.webhooks_rejected.preset(source=source, reason=reason)

    def render(
        self,
        *,
        dead_letters: int | None,
        breakers: Mapping[str, Mapping[str, Any]],
        queue_depths: Mapping[str, int],
        store_up: bool,
    ) -> str:
        lines: list[str] = []
        for metric in (self.webhooks_received, self.webhooks_accepted, self.webhooks_duplicate,
                       self.webhooks_rejected, self.chat_requests, self.ai_tokens, self.request_latency):
            lines += metric.lines()
        lines += gauge("ds1_store_up", "1 when the store answered this scrape, else 0.",
                       [({}, 1.0 if store_up else 0.0)])
        if dead_letters is not None:
            lines += gauge("ds1_dead_letters", "Dead letters waiting for a redrive.",
                           [({}, float(dead_letters))])
        lines += gauge(
            "ds1_breaker_state", "Circuit breaker state per platform (0 closed, 1 half-open, 2 open).",
            [({"platform": name}, float(BREAKER_STATE_VALUES.get(str(snap.get("state")), math.nan)))
             for name, snap in sorted(breakers.items())],
        )
        lines += gauge("ds1_queue_depth", "Items waiting per queue.",
                       [({"queue": name}, float(depth)) for name, depth in sorted(queue_depths.items())])
        return "\n".join(lines) + "\n"


def gauge(name: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> list[str]:
    return header(name, "gauge", help_text) + [sample(name, labels, value) for labels, value in samples]
