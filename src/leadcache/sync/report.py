"""The figures of one sync run: a typed :class:`RunReport`, and :class:`RunRecorder`, which
fills in the accounting (calls, duration, outcome) and records the run.

A report is a dataclass; :meth:`RunReport.to_dict` gives the JSON shape that ``leadcache
--json``, the logs and ``sync_runs`` use. It is also a read-only ``Mapping`` over that shape, so
code written against the design sketch's ``-> dict`` (``report["records"]``) keeps working.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..airtable.protocol import AirtableTable
from ..clock import Clock
from ..errors import AirtableError, AirtableOffline, LeadCacheError, RateLimited
from ..store.meta import MetaKey
from .push import PushResult
from .reconcile import IngestResult

__all__ = ["Outcome", "RunKind", "RunRecorder", "RunReport"]

log = logging.getLogger("leadcache.sync")

#: What a run did: a full pull, an incremental pull (+ sweep when due), a deletion sweep, a
#: push, or ``sync`` (pull what changed, push, sweep when due).
RunKind = Literal["pull", "incremental", "sweep", "push", "sync"]
#: How it ended. ``busy`` is only reported by the service (another process held the lease).
Outcome = Literal["ok", "offline", "rate_limited", "error", "busy"]


@dataclass(eq=False)
class RunReport(Mapping[str, Any]):
    """The figures of one run. Counters grow as the run goes; the recorder sets the rest."""

    kind: str
    started_at: str = ""
    outcome: str = "ok"
    records: int = 0
    changed: int = 0
    pushed: int = 0
    rejected: int = 0
    conflicts: int = 0
    deleted: int = 0
    error: str | None = None
    calls: int = 0
    calls_by_kind: dict[str, int] = field(default_factory=dict)
    duration_s: float | None = None

    def add_ingest(self, result: IngestResult) -> None:
        """Count what applying pulled records or deletions did."""
        self.records += result.received
        self.changed += result.changed
        self.conflicts += result.conflicts
        self.deleted += result.deleted

    def add_push(self, result: PushResult) -> None:
        """Count what a push did."""
        self.pushed += result.pushed
        self.rejected += result.rejected
        self.conflicts += result.conflicts

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (keys in this order; ``error`` only when the run failed)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "outcome": self.outcome,
            "started_at": self.started_at,
            "records": self.records,
            "changed": self.changed,
            "pushed": self.pushed,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "deleted": self.deleted,
        }
        if self.error is not None:
            out["error"] = self.error
        out["calls"] = self.calls
        out["calls_by_kind"] = dict(self.calls_by_kind)
        if self.duration_s is not None:
            out["duration_s"] = self.duration_s
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, kind: str = "run") -> RunReport:
        """A report from its JSON shape (unknown keys are ignored, missing ones default)."""
        return cls(
            kind=str(data.get("kind", kind)),
            started_at=str(data.get("started_at", "")),
            outcome=str(data.get("outcome", "ok")),
            records=int(data.get("records") or 0),
            changed=int(data.get("changed") or 0),
            pushed=int(data.get("pushed") or 0),
            rejected=int(data.get("rejected") or 0),
            conflicts=int(data.get("conflicts") or 0),
            deleted=int(data.get("deleted") or 0),
            error=None if data.get("error") is None else str(data["error"]),
            calls=int(data.get("calls") or 0),
            calls_by_kind=dict(data.get("calls_by_kind") or {}),
            duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
        )

    # -- read-only Mapping over to_dict() ----------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class RunStore(Protocol):
    """What recording a run needs from the store."""

    def record_sync_run(self, run: dict[str, Any]) -> int: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str | None) -> None: ...

    def count_leads(self, *, include_deleted: bool = False) -> int: ...


class RunRecorder:
    """Accounting around one run: API calls made (from the table's call statistics),
    duration, outcome from the exception that ended it; then the run is recorded in
    ``sync_runs`` and ``cache_meta`` and logged.
    """

    def __init__(self, store: RunStore, airtable: AirtableTable, clock: Clock) -> None:
        self.store = store
        self.airtable = airtable
        self.clock = clock

    def _calls(self) -> dict[str, Any]:
        stats = getattr(self.airtable, "stats", None)
        return dict(stats.snapshot()) if stats is not None else {"total": 0, "by_kind": {}}

    @contextmanager
    def run(self, kind: RunKind) -> Iterator[RunReport]:
        """A report for the body to fill in; recorded however the body ends."""
        report = RunReport(kind=kind, started_at=self.clock.iso())
        started = self.clock.monotonic()
        before = self._calls()
        try:
            yield report
        except AirtableOffline as exc:
            report.outcome, report.error = "offline", str(exc)
            raise
        except RateLimited as exc:
            report.outcome, report.error = "rate_limited", str(exc)
            raise
        except (AirtableError, LeadCacheError) as exc:
            report.outcome, report.error = "error", str(exc)
            raise
        finally:
            after = self._calls()
            made = {k: n - before["by_kind"].get(k, 0) for k, n in after["by_kind"].items()}
            report.calls = after["total"] - before["total"]
            report.calls_by_kind = {k: n for k, n in made.items() if n}
            report.duration_s = round(self.clock.monotonic() - started, 4)
            self._finish(report)

    def _finish(self, report: RunReport) -> None:
        data = report.to_dict()
        try:
            self.store.record_sync_run(data)
            total = int(self.store.get_meta(MetaKey.API_CALLS_TOTAL) or 0) + report.calls
            self.store.set_meta(MetaKey.API_CALLS_TOTAL, str(total))
            if report.outcome == "ok":
                self.store.set_meta(MetaKey.TOTAL_LEADS, str(self.store.count_leads()))
        except LeadCacheError:
            log.exception("could not record the sync run")
        level = logging.INFO if report.outcome == "ok" else logging.WARNING
        # The figures go in the fields only: the text format prints them once, as key=value.
        log.log(level, "sync run", extra={"fields": data})
