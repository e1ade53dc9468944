"""``/metrics`` in the Prometheus text format, for the office's monitoring.

Two kinds of series:

- read from the database at scrape time (the same answer from any worker): kiosks by
  state, supply levels and blank cards per kiosk, seconds since each kiosk's last
  heartbeat, print jobs by kind and outcome, open reservations, active lockouts, alerts
  by kind;
- measured in the process: request latency per route (a histogram) and the database
  pool's connections in use.  With several workers each keeps its own unless
  ``PROMETHEUS_MULTIPROC_DIR`` is set (``adm-server serve`` sets it for ``--workers`` > 1),
  in which case the workers' files are added up.

The endpoint wants ``Authorization: Bearer <token>`` (``adm-server metrics-token``);
without a configured token it answers 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.alerts import fleet
from server.db import Attempt, Document, Reservation, utcnow
from server.dbops import Health

BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LATENCY = Histogram(
    "adm_http_request_duration_seconds",
    "Time from a request's arrival to its answer's last byte, by route and status class",
    ("route", "method", "status"),
    buckets=BUCKETS,
    registry=None,  # registered in the registry of each app (below)
)
STATES = ("serving", "in_session", "out_of_service", "closed", "not_heard", "revoked", "new")


class DatabaseCollector(Collector):
    """Series read from the database at each scrape."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def collect(self) -> Iterator[Any]:
        ctx = self.context
        now = utcnow()
        with Session(ctx.engine) as db:
            views = fleet(db, ctx.settings.alert_rules, now)
            jobs = db.execute(
                select(Document.kind, Reservation.state, func.count())
                .join(Document, Document.id == Reservation.document_id)
                .group_by(Document.kind, Reservation.state)
            ).all()
            locked = db.execute(
                select(Attempt.path, func.count())
                .where(Attempt.locked_until > now)
                .group_by(Attempt.path)
            ).all()
            waiting = db.scalar(
                select(func.count()).select_from(Document).where(Document.status == "approved")
            )
        by_state = GaugeMetricFamily("adm_kiosks", "Kiosks by state", labels=("state",))
        counts = {s: 0 for s in STATES}
        for v in views:
            counts[v.state] = counts.get(v.state, 0) + 1
        for state, n in sorted(counts.items()):
            by_state.add_metric((state,), n)
        yield by_state
        supply = GaugeMetricFamily(
            "adm_kiosk_supply_level_percent",
            "Marker level of each printer supply (toner, ribbon) per kiosk; -1 unknown",
            labels=("kiosk", "supply"),
        )
        cards = GaugeMetricFamily(
            "adm_kiosk_blank_cards", "Blank ID cards left per kiosk", labels=("kiosk",)
        )
        seen = GaugeMetricFamily(
            "adm_kiosk_last_heartbeat_age_seconds",
            "Seconds since each kiosk's last heartbeat",
            labels=("kiosk",),
        )
        unsettled = GaugeMetricFamily(
            "adm_kiosk_open_print_jobs",
            "Reserved, unsettled print jobs per kiosk",
            labels=("kiosk",),
        )
        alerts = GaugeMetricFamily("adm_alerts", "Open alerts by kind", labels=("kind",))
        alert_counts: dict[str, int] = {}
        for v in views:
            for name, level in sorted(v.supplies.items()):
                supply.add_metric((v.id, name), level)
            if v.blank_cards is not None:
                cards.add_metric((v.id,), v.blank_cards)
            if v.last_seen is not None:
                seen.add_metric((v.id,), (now - v.last_seen).total_seconds())
            unsettled.add_metric((v.id,), v.unsettled)
            for a in v.alerts:
                alert_counts[a.kind] = alert_counts.get(a.kind, 0) + 1
        for kind, n in sorted(alert_counts.items()):
            alerts.add_metric((kind,), n)
        yield from (supply, cards, seen, unsettled, alerts)
        prints = CounterMetricFamily(
            "adm_print_jobs",
            "Print jobs by document kind and outcome (reserved = still open)",
            labels=("kind", "outcome"),
        )
        for kind, state, n in sorted(jobs):
            prints.add_metric((kind, state), n)
        yield prints
        yield GaugeMetricFamily(
            "adm_documents_waiting", "Approved documents not printed yet", value=waiting or 0
        )
        lockouts = GaugeMetricFamily(
            "adm_lockouts_active", "Citizens or kiosks locked out, by path", labels=("path",)
        )
        for path, n in sorted(locked):
            lockouts.add_metric((path,), n)
        yield lockouts
        yield from database_series(ctx.db_health.get(), now)
        pool = ctx.engine.pool
        in_use = GaugeMetricFamily(
            "adm_db_pool_connections", "Database pool connections of this worker", labels=("use",)
        )
        checked_out = getattr(pool, "checkedout", lambda: 0)()
        in_use.add_metric(("in_use",), checked_out)
        in_use.add_metric(("idle",), getattr(pool, "checkedin", lambda: 0)())
        yield in_use


def database_series(h: Health, now: dt.datetime) -> Iterator[Any]:
    """The database the server runs on, its replication, WAL archiving and backups."""
    info = GaugeMetricFamily(
        "adm_database_info", "The database this server runs on", labels=("dialect", "primary")
    )
    primary = h.primary
    info.add_metric((h.dialect, f"{primary.host}:{primary.port}" if primary else ""), 1)
    yield info
    if h.dialect != "postgresql":
        return
    yield GaugeMetricFamily(
        "adm_database_primary_up", "A node takes writes (0: none)", value=1 if primary else 0
    )
    lag = GaugeMetricFamily(
        "adm_database_replication_lag_bytes",
        "WAL the primary has that each standby has not replayed",
        labels=("standby", "sync_state"),
    )
    for name, sync, lag_bytes, _ in h.standbys:
        lag.add_metric((name, sync), lag_bytes)
    yield lag
    yield GaugeMetricFamily(
        "adm_database_standbys", "Standbys streaming from the primary", value=len(h.standbys)
    )
    yield CounterMetricFamily(
        "adm_database_archive_failures",
        "WAL segments whose archiving failed",
        value=h.archive_failed,
    )
    yield GaugeMetricFamily(
        "adm_database_archive_failing",
        "The newest WAL archiving attempt failed",
        value=1 if h.archive_failing() else 0,
    )
    age = h.backup_age(now)
    if age is not None:
        yield GaugeMetricFamily(
            "adm_database_backup_age_seconds", "Seconds since the newest backup ended", value=age
        )


def registry_for(context: Any) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(context))
    multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=multiproc)
    else:
        registry.register(LATENCY)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST


class LatencyMiddleware:
    """Times every HTTP request by its route's template (``/api/v1/reservations/{job_id}``,
    never the concrete path: a label per job id would grow without bound)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [0]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            LATENCY.labels(template, scope.get("method", ""), f"{status[0] // 100}xx").observe(
                time.perf_counter() - start
            )
