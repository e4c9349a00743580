"""HTTP control endpoints under ``/__emulator__/``, for a separately started emulator.

They mirror the Python controls (decision 0001) so another process (the demo, a benchmark)
can drive faults, the clock and iterators, and read request counts. They need no token and
are never counted or rate limited. Every answer is JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..airtable_wire.errors import ApiError
from .clock import format_datetime, parse_datetime
from .setup import view_from_json

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["CONTROL_ENDPOINTS", "Control"]

#: ``(method, path under /__emulator__/, what it does)``, documented in docs/emulator.md.
CONTROL_ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("GET", "health", "base id, table name and id, url"),
    ("GET", "counts", "?method=&endpoint=&status= -> {count, counts:[rows]}"),
    ("GET", "requests", "the request log"),
    ("POST", "counts/reset", "zero the counters"),
    ("GET", "faults", "current fault configuration"),
    ("POST", "faults", "{rates, drop_rate, lost_response_rate, latency, seed}"),
    ("POST", "faults/fail_next", "{count, status, retry_after}"),
    ("POST", "faults/drop_next", "{count}"),
    ("POST", "faults/lose_next_response", "{count}"),
    ("POST", "faults/clear", "remove every fault"),
    ("GET", "clock", "{now}"),
    ("POST", "clock/set", "{now: ISO datetime}"),
    ("POST", "clock/advance", "{seconds}"),
    ("POST", "clock/reset", "follow real time again"),
    ("POST", "iterators/expire", "expire every open list offset"),
    ("POST", "rate_limit", "{rate: int|null, penalty: seconds}"),
    ("GET", "records", "every record of the table (?table=)"),
    ("POST", "human/create", "{fields, table?}"),
    ("POST", "human/update", "{id, fields, table?}"),
    ("POST", "human/delete", "{id, table?}"),
    ("POST", "setup", "{base_name?, tables?, fields?, views?} (see emulator/setup.py)"),
    ("POST", "views", "{name, table?, formula?, sort?: ['-Field'], fields?}"),
    ("POST", "base", "{name}: rename the base"),
)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


class Control:
    """Dispatches control requests to an :class:`~leadcache.emulator.Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def handle(self, method: str, path: str, query: str, body: bytes) -> tuple[int, bytes]:
        """Handle ``METHOD /__emulator__/{path}``; returns ``(status, JSON body)``."""
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return 400, _json({"error": "invalid JSON body"})
        if not isinstance(data, dict):
            return 400, _json({"error": "body must be a JSON object"})
        params = dict(parse_qsl(query))
        handler = getattr(self, f"_{method.lower()}_{path.strip('/').replace('/', '_')}", None)
        if handler is None:
            return 404, _json({"error": "unknown control endpoint", "path": path})
        try:
            return 200, _json(handler(data, params))
        except (KeyError, ValueError, TypeError) as exc:
            return 400, _json({"error": f"{type(exc).__name__}: {exc}"})
        except ApiError as exc:
            return exc.status, _json(exc.body())

    # ------------------------------------------------------------------ info and counts

    def _get_health(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        emu = self.emu
        return {"ok": True, "url": emu.url, "base_id": emu.base_id,
                "table_name": emu.table_name, "table_id": emu.table_id}  # fmt: skip

    def _get_counts(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        status = params.get("status")
        count = self.emu.count(
            params.get("method"), params.get("endpoint"), int(status) if status else None
        )
        return {"count": count, "counts": self.emu.accounting.summary()}

    def _get_requests(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return {"requests": [r._asdict() for r in self.emu.requests()]}

    def _post_counts_reset(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.reset_counts()
        return {"ok": True}

    # ------------------------------------------------------------------ faults

    def _get_faults(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return self.emu.faults.state()

    def _post_faults(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.faults.configure(
            rates={int(k): float(v) for k, v in (data.get("rates") or {}).items()},
            drop_rate=float(data.get("drop_rate", 0.0)),
            lost_response_rate=float(data.get("lost_response_rate", 0.0)),
            latency=float(data.get("latency", 0.0)),
            seed=data.get("seed"),
        )
        return self.emu.faults.state()

    def _post_faults_fail_next(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        retry_after = data.get("retry_after")
        self.emu.faults.fail_next(
            int(data.get("count", 1)), int(data.get("status", 503)),
            float(retry_after) if retry_after is not None else None,
        )  # fmt: skip
        return self.emu.faults.state()

    def _post_faults_drop_next(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.faults.drop_next(int(data.get("count", 1)))
        return self.emu.faults.state()

    def _post_faults_lose_next_response(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.faults.lose_next_response(int(data.get("count", 1)))
        return self.emu.faults.state()

    def _post_faults_clear(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.faults.clear()
        return self.emu.faults.state()

    # ------------------------------------------------------------------ clock, iterators, limiter

    def _get_clock(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return {"now": format_datetime(self.emu.clock.now())}

    def _post_clock_set(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        when: datetime | None = parse_datetime(str(data["now"]))
        if when is None:
            raise ValueError(f"not a datetime: {data['now']!r}")
        self.emu.clock.set(when)
        return self._get_clock(data, params)

    def _post_clock_advance(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.clock.advance(float(data["seconds"]))
        return self._get_clock(data, params)

    def _post_clock_reset(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.clock.reset()
        return self._get_clock(data, params)

    def _post_iterators_expire(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.expire_iterators()
        return {"ok": True}

    def _post_rate_limit(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        rate = data.get("rate")
        penalty = data.get("penalty")
        self.emu.set_rate_limit(
            int(rate) if rate is not None else None,
            float(penalty) if penalty is not None else None,
        )
        return {"rate": self.emu.limiter.rate, "penalty": self.emu.limiter.penalty}

    # ------------------------------------------------------------------ data and human edits

    def _get_records(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return {"records": self.emu.records(params.get("table"))}

    def _post_human_create(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return self.emu.human_create(data["fields"], data.get("table"))

    def _post_human_update(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return self.emu.human_update(data["id"], data["fields"], data.get("table"))

    def _post_setup(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        return self.emu.setup(data)

    def _post_views(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        with self.emu.state.lock:
            return {"id": view_from_json(self.emu, data)}

    def _post_base(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.rename_base(data["name"])
        return {"id": self.emu.base_id, "name": data["name"]}

    def _post_human_delete(self, data: dict[str, Any], params: dict[str, str]) -> Any:
        self.emu.human_delete(data["id"], data.get("table"))
        return {"deleted": True, "id": data["id"]}
