"""Prometheus metrics and a health endpoint for ``leadcache serve``.

Served on ``LEAD_CACHE_METRICS_HOST:LEAD_CACHE_METRICS_PORT`` (loopback, 9464 by default; port
0 picks a free one and the log line says which):

- ``GET /metrics``: Prometheus text format, from a registry of our own (never the global one);
- ``GET /``: the operator console (``leadcache.console``; ``LEAD_CACHE_CONSOLE=off`` turns it
  off, and ``/`` then shows the metrics as before);
- ``GET /healthz``: JSON ``{"status": "ok" | "degraded" | "starting", ...}``; HTTP 200 while
  the service works (even when Airtable is unreachable: the cache still serves agents), 503
  when the database cannot be read or the sync loop has stopped. The last pull counts as
  late after twice the interval the loop pulls at, plus five minutes.

Metrics (see docs/operations.md):

=============================================  =========  ======================================
name                                           type       labels / meaning
=============================================  =========  ======================================
leadcache_airtable_requests_total              counter    endpoint, status (0: no answer)
leadcache_airtable_request_duration_seconds    histogram  endpoint
leadcache_sync_runs_total                      counter    kind, outcome
leadcache_sync_duration_seconds                histogram  kind
leadcache_database_up                          gauge      1 when the database answered the scrape
leadcache_pending_changes                      gauge      state (pending, rejected, held)
leadcache_conflicts_open                       gauge      conflicts waiting for a decision
leadcache_last_pull_age_seconds                gauge      lag since the last successful pull
leadcache_cache_fresh                          gauge      1 when younger than the refresh interval
leadcache_rate_limit_pause_seconds             gauge      wait every process has left after a 429
leadcache_leads                                gauge      live leads cached
leadcache_leads_deleted                        gauge      deleted leads kept
leadcache_database_bytes                       gauge      database + WAL size on disk
leadcache_api_calls_recorded_total             counter    API calls recorded by every process
leadcache_oldest_pending_age_seconds           gauge      wait of the oldest unpushed change
leadcache_budget_calls_used                    gauge      calls this billing cycle, by priority
leadcache_budget_calls_limit                   gauge      the monthly budget (NaN: no cap)
leadcache_budget_calls_projected               gauge      projection to the cycle's end
leadcache_budget_exhausted                     gauge      1 while the budget holds calls back
leadcache_webhook_pings_total                  counter    notification pings, by result
=============================================  =========  ======================================

``POST /airtable/webhook`` receives Airtable's notification pings when ``LEAD_CACHE_PUBLIC_URL``
is set (:mod:`leadcache.service.pings`); without this endpoint (``serve --no-metrics``) no
ping arrives and pulls are paced by the budget alone.

The gauges are read from the database at scrape time (a custom collector), so they are right
whichever process queued or pushed the changes.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .cache import LeadCache
from .errors import LeadCacheError
from .logs import log_event
from .service.pings import MAX_PING_BYTES, PingReceiver
from .service.status import status_snapshot
from .settings import Settings
from .sync.report import RunReport
from .sync.webhook import PING_PATH

if TYPE_CHECKING:
    from .service.loop import BackgroundSync

__all__ = ["Metrics", "MetricsServer"]

log = logging.getLogger("leadcache.metrics")

#: A pause after a 429 longer than this (Airtable's own penalty is 30 s) degrades health.
STALL_REPORT_S = 60.0

_SYNC_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _database_up(value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "leadcache_database_up",
        "1 when the cache database (SQLite file or PostgreSQL) answered this scrape, else 0",
        value=value,
    )


class _StoreCollector(Collector):
    """Gauges read from the database on every scrape, through a connection of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._cache: LeadCache | None = None
        self.last_snapshot: dict[str, Any] | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            if self._cache is None:
                self._cache = LeadCache(settings=self.settings)
            snap = status_snapshot(self._cache)
            self.last_snapshot = snap
            return snap

    def close(self) -> None:
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            snap = self.snapshot()
        except LeadCacheError as exc:
            log.warning("metrics: cannot read the database: %s", exc)
            return [_database_up(0)]
        pending = GaugeMetricFamily(
            "leadcache_pending_changes", "Local changes not yet in Airtable", labels=["state"]
        )
        for state, n in snap["pending"].items():
            pending.add_metric([state], n)
        age = snap["last_pull_age_s"]
        return [
            _database_up(1),
            pending,
            GaugeMetricFamily(
                "leadcache_conflicts_open", "Conflicts waiting for a decision", snap["conflicts"]
            ),
            GaugeMetricFamily(
                "leadcache_last_pull_age_seconds",
                "Seconds since the last successful pull (NaN: never pulled)",
                math.nan if age is None else float(age),
            ),
            GaugeMetricFamily(
                "leadcache_cache_fresh",
                "1 when the last pull is younger than CACHE_REFRESH_INTERVAL",
                1.0 if snap["fresh"] else 0.0,
            ),
            GaugeMetricFamily(
                "leadcache_rate_limit_pause_seconds",
                "Seconds every process still waits after a 429 (0: not paused)",
                float(snap.get("rate_limit_pause_s") or 0.0),
            ),
            GaugeMetricFamily("leadcache_leads", "Live leads in the cache", snap["leads"]),
            GaugeMetricFamily(
                "leadcache_leads_deleted", "Deleted leads kept in the cache", snap["deleted_leads"]
            ),
            GaugeMetricFamily(
                "leadcache_database_bytes", "Database and WAL size", snap["database_bytes"]
            ),
            CounterMetricFamily(
                "leadcache_api_calls_recorded",
                "Airtable API calls recorded by every process using this database",
                snap["api_calls"]["made"],
            ),
            GaugeMetricFamily(
                "leadcache_oldest_pending_age_seconds",
                "Seconds the oldest change not yet in Airtable has waited (0: none waits)",
                float(snap["staleness"]["oldest_pending_age_s"] or 0.0),
            ),
            *_budget_metrics(snap["budget"]),
        ]


def _budget_metrics(budget: Mapping[str, Any]) -> list[Metric]:
    used = GaugeMetricFamily(
        "leadcache_budget_calls_used",
        "Airtable calls this billing cycle, by priority",
        labels=["priority"],
    )
    for priority, calls in budget["by_priority"].items():
        used.add_metric([priority], float(calls))
    limit = budget["budget"]
    return [
        used,
        GaugeMetricFamily(
            "leadcache_budget_calls_limit",
            "The monthly call budget (NaN: no cap)",
            math.nan if limit is None else float(limit),
        ),
        GaugeMetricFamily(
            "leadcache_budget_calls_projected",
            "Calls projected by the end of the billing cycle at the current rate",
            float(budget["projected_at_cycle_end"]),
        ),
        GaugeMetricFamily(
            "leadcache_budget_exhausted",
            "1 while the monthly budget holds calls back",
            1.0 if budget["holding"] else 0.0,
        ),
    ]


class Metrics:
    """The metrics of one ``serve`` process and the health verdict.

    Args:
        settings: where the database is, and the intervals health is judged against.
        loop: the background sync loop, whose liveness and failures the health shows.
    """

    def __init__(self, settings: Settings, *, loop: BackgroundSync | None = None) -> None:
        self.settings = settings
        self.loop = loop
        self.registry = CollectorRegistry(auto_describe=False)
        self.api_requests = Counter(
            "leadcache_airtable_requests",
            "Airtable API requests by endpoint and HTTP status (0: no answer)",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.api_seconds = Histogram(
            "leadcache_airtable_request_duration_seconds",
            "Airtable API request durations",
            ["endpoint"],
            buckets=_CALL_BUCKETS,
            registry=self.registry,
        )
        self.sync_runs = Counter(
            "leadcache_sync_runs",
            "Sync runs by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.sync_seconds = Histogram(
            "leadcache_sync_duration_seconds",
            "Sync run durations by kind",
            ["kind"],
            buckets=_SYNC_BUCKETS,
            registry=self.registry,
        )
        self.pings_counter = Counter(
            "leadcache_webhook_pings",
            "Notification pings received, by result (accepted, repeat, refused)",
            ["result"],
            registry=self.registry,
        )
        self.store = _StoreCollector(settings)
        self.registry.register(self.store)
        self.pings: PingReceiver | None = None
        if settings.public_url and settings.base_id and loop is not None:
            self.pings = PingReceiver(loop.cache.store, settings.base_id, loop.changes_in_airtable)
            loop.pings_attached = True
        #: The operator console mounted at ``/`` by :meth:`serve` (``leadcache.console``).
        self.console: WsgiApp | None = None

    # -- feeding ---------------------------------------------------------------------------
    def on_call(self, kind: str, status: int, seconds: float) -> None:
        """A :class:`~leadcache.airtable.CallStats` listener."""
        self.api_requests.labels(kind, str(status)).inc()
        self.api_seconds.labels(kind).observe(seconds)

    def on_run(self, task: str, report: Mapping[str, Any]) -> None:
        """A :class:`~leadcache.service.BackgroundSync` run listener: sync runs pass their
        :class:`~leadcache.sync.report.RunReport`; backups and failed runs a plain mapping."""
        run = report if isinstance(report, RunReport) else RunReport.from_dict(report, kind=task)
        self.sync_runs.labels(run.kind, run.outcome).inc()
        if run.duration_s is not None:
            self.sync_seconds.labels(run.kind).observe(run.duration_s)

    # -- health ----------------------------------------------------------------------------
    def pull_interval(self, snap: Mapping[str, Any]) -> float:
        """Seconds between the pulls health expects: the interval the loop last scheduled
        with (``LEAD_CACHE_PULL_INTERVAL``, the budget's pace, or hourly while pings arrive);
        before it has chosen one, or without a loop, the budget's pace from ``snap``."""
        chosen = self.loop.last_pull_interval if self.loop is not None else None
        if chosen is not None:
            return chosen
        return float(snap["budget"]["poll_interval_s"])

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for ``/healthz``."""
        try:
            snap = self.store.snapshot()
        except LeadCacheError as exc:
            return 503, {"status": "failing", "reason": f"database unreadable: {exc}"}
        loop_ok = self.loop is None or self.loop.running or not self.loop.stopping
        age = snap["last_pull_age_s"]
        # Two missed pulls (plus slack for a slow one) before the lag counts as degraded.
        limit = 2 * self.pull_interval(snap) + 300
        if age is None:
            status = "starting"
        elif age > limit:
            status = "degraded"
        else:
            status = "ok"
        body: dict[str, Any] = {
            "status": status if loop_ok else "failing",
            "last_pull_age_s": age,
            "fresh": snap["fresh"],
            "pending": snap["pending"]["pending"],
            "rejected": snap["pending"]["rejected"],
            "conflicts": snap["conflicts"],
            "leads": snap["leads"],
        }
        pause = float(snap.get("rate_limit_pause_s") or 0.0)
        body["rate_limit_pause_s"] = pause
        if pause > STALL_REPORT_S and body["status"] == "ok":
            # Airtable told us to back off for longer than a normal penalty: requests stall.
            body["status"] = "degraded"
            body["reason"] = f"Airtable rate limit: every request paused for {pause:.0f} s"
        body["staleness"] = snap["staleness"]
        budget = snap["budget"]
        body["budget"] = {
            k: budget[k] for k in ("budget", "used", "projected_at_cycle_end", "holding")
        }
        if budget["holding"] and body["status"] == "ok":
            body["status"] = "degraded"
            body["reason"] = "the monthly call budget holds back: " + ", ".join(budget["holding"])
        if self.loop is not None:
            body["tasks"] = self.loop.health()
            if any(t["failures"] for t in body["tasks"].values()) and body["status"] == "ok":
                body["status"] = "degraded"
        return (200 if loop_ok else 503), body

    # -- serving ---------------------------------------------------------------------------
    def wsgi_app(self) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
        metrics_app = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "/")
            if path == PING_PATH and self.pings is not None:
                return self._ping(environ, start_response)
            if path in ("/healthz", "/health"):
                code, body = self.health()
                reason = "OK" if code == 200 else "Service Unavailable"
                data = json.dumps(body).encode()
                start_response(
                    f"{code} {reason}",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
                )
                return [data]
            if path == "/metrics" or (path == "/" and self.console is None):
                result: Iterable[bytes] = metrics_app(environ, start_response)
                return result
            if self.console is not None:
                return self.console(environ, start_response)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics or /healthz\n"]

        return app

    def _ping(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """``POST /airtable/webhook``: one notification ping from Airtable."""
        pings = self.pings
        if environ.get("REQUEST_METHOD") != "POST" or pings is None:
            start_response("405 Method Not Allowed", [("Allow", "POST")])
            return [b""]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_PING_BYTES:
            status = 401
        else:
            body = environ["wsgi.input"].read(length)
            before = (pings.accepted, pings.repeats)
            status = pings.handle(body, environ.get("HTTP_X_AIRTABLE_CONTENT_MAC"))
            if status == 200:
                result = "accepted" if pings.accepted > before[0] else "repeat"
                self.pings_counter.labels(result).inc()
        if status != 200:
            self.pings_counter.labels("refused").inc()
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"error": "invalid ping"}']
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    def serve(self, host: str | None = None, port: int | None = None) -> MetricsServer:
        """Start the HTTP endpoint in a daemon thread."""
        host = host if host is not None else self.settings.metrics_host
        port = port if port is not None else self.settings.metrics_port
        if self.settings.console == "on" and self.console is None:
            from .console import Console, check_exposure

            check_exposure(self.settings, host)  # beyond loopback only with a token
            self.console = Console(self.settings, loop=self.loop)
        server = MetricsServer(self, host, port)
        log_event(
            log,
            logging.INFO,
            f"metrics and health on http://{server.host}:{server.port}/metrics",
            metrics_url=f"http://{server.host}:{server.port}/metrics",
            health_url=f"http://{server.host}:{server.port}/healthz",
            console_url=f"http://{server.host}:{server.port}/" if self.console else None,
        )
        return server

    def close(self) -> None:
        self.store.close()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s would flood the log; stay quiet."""


class MetricsServer:
    """The running ``/metrics`` + ``/healthz`` endpoint; :meth:`close` stops it."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._server = make_server(
            host, port, metrics.wsgi_app(), _ThreadingServer, handler_class=_QuietHandler
        )
        self.host = str(self._server.server_address[0])
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="leadcache-metrics", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
