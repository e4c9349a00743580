"""Webhooks: registration, expiry, and one payload per change transaction.

Payload shapes follow Airtable's (and pyairtable's ``WebhookPayload`` model): cell values are
keyed by field id; ``changedRecordsById[rec]`` carries ``current`` and ``previous`` values of
the cells that changed; deletions appear only here, in ``destroyedRecordIds``
[airtable-api.md §13]. Cursors are 1-based: the payload at cursor ``n`` is the n-th recorded,
and a page answers ``cursor = first + len(payloads)``, which is the arithmetic
``pyairtable.models.Webhook.payloads()`` relies on.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..airtable_wire.errors import ApiError, invalid_request
from .clock import Clock, format_datetime
from .ids import IdFactory
from .writes import Transaction

if TYPE_CHECKING:
    from .state import SchemaChange

__all__ = ["MAX_PAYLOADS_PER_PAGE", "WEBHOOK_LIFETIME", "WebhookRegistry"]

#: PAT/OAuth webhooks expire seven days after creation or their last refresh.
WEBHOOK_LIFETIME = 7 * 24 * 3600.0
#: Airtable's cap on ``limit`` for payload listing.
MAX_PAYLOADS_PER_PAGE = 50


@dataclass(slots=True)
class _Hook:
    id: str
    base_id: str
    notification_url: str | None
    specification: dict[str, Any]
    mac_secret: bytes
    expires: float
    notifications_enabled: bool = True
    payloads: list[dict[str, Any]] = field(default_factory=list)
    last_result: dict[str, Any] | None = None
    last_success: str | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "specification": self.specification,
            "notificationUrl": self.notification_url,
            "cursorForNextPayload": len(self.payloads) + 1,
            "isHookEnabled": True,
            "areNotificationsEnabled": self.notifications_enabled,
            "expirationTime": _iso(self.expires),
            "lastSuccessfulNotificationTime": self.last_success,
            "lastNotificationResult": self.last_result,
        }

    def wants(self, data_type: str, table_id: str, source: str) -> bool:
        filters = self.specification["options"]["filters"]
        if data_type not in filters.get("dataTypes", []):
            return False
        scope = filters.get("recordChangeScope")
        if scope and scope.startswith("tbl") and scope != table_id:
            return False
        sources = filters.get("fromSources") or []
        return not (sources and source not in sources)

    def includes(self, key: str) -> Any:
        return (self.specification["options"].get("includes") or {}).get(key)


def _iso(timestamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(timestamp, UTC))


class WebhookRegistry:
    """Every base's webhooks. Callers hold the state lock.

    Args:
        clock: emulator clock (expiry is in emulator time).
        ids: id factory for ``ach…`` ids.
        user: the ``{"id","email","permissionLevel"}`` credited for API changes.
    """

    def __init__(self, clock: Clock, ids: IdFactory, user: dict[str, Any]) -> None:
        self.clock = clock
        self.ids = ids
        self.user = user
        self._hooks: dict[str, _Hook] = {}
        self.transaction_numbers: dict[str, int] = {}

    def _live(self, base_id: str) -> list[_Hook]:
        now = self.clock.timestamp()
        for hook_id in [h.id for h in self._hooks.values() if h.expires <= now]:
            del self._hooks[hook_id]
        return [h for h in self._hooks.values() if h.base_id == base_id]

    def _get(self, base_id: str, hook_id: str) -> _Hook:
        for hook in self._live(base_id):
            if hook.id == hook_id:
                return hook
        raise ApiError(404, "NOT_FOUND", "Could not find webhook", bare=False)

    def create(self, base_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /bases/{base}/webhooks``: the notification URL is optional."""
        spec = body.get("specification")
        filters = spec.get("options", {}).get("filters") if isinstance(spec, dict) else None
        if (
            not isinstance(spec, dict)
            or not isinstance(filters, dict)
            or not filters.get("dataTypes")
        ):
            raise invalid_request("specification.options.filters.dataTypes is required")
        secret = hashlib.sha256(self.ids.new("sec").encode()).digest()
        hook = _Hook(
            id=self.ids.new("ach"),
            base_id=base_id,
            notification_url=body.get("notificationUrl"),
            specification=spec,
            mac_secret=secret,
            expires=self.clock.timestamp() + WEBHOOK_LIFETIME,
        )
        self._hooks[hook.id] = hook
        return {
            "id": hook.id,
            "macSecretBase64": base64.b64encode(secret).decode(),
            "expirationTime": _iso(hook.expires),
        }

    def list(self, base_id: str) -> dict[str, Any]:
        """``GET /bases/{base}/webhooks``."""
        return {"webhooks": [h.listing() for h in self._live(base_id)]}

    def refresh(self, base_id: str, hook_id: str) -> dict[str, Any]:
        """``POST …/{hook}/refresh``: seven more days from now."""
        hook = self._get(base_id, hook_id)
        hook.expires = self.clock.timestamp() + WEBHOOK_LIFETIME
        return {"expirationTime": _iso(hook.expires)}

    def delete(self, base_id: str, hook_id: str) -> None:
        """``DELETE …/{hook}``."""
        del self._hooks[self._get(base_id, hook_id).id]

    def enable_notifications(self, base_id: str, hook_id: str, enable: bool) -> None:
        """``POST …/{hook}/enableNotifications``."""
        self._get(base_id, hook_id).notifications_enabled = enable

    def deliveries(self, hook_id: str) -> builtins.list[dict[str, Any]]:
        """Every notification delivery result for a webhook, oldest first."""
        hook = self._hooks.get(hook_id)
        return [] if hook is None else list(hook.deliveries)

    def payloads(self, base_id: str, hook_id: str, cursor: int, limit: int) -> dict[str, Any]:
        """``GET …/{hook}/payloads?cursor=&limit=``; listing also extends the expiry."""
        if limit < 1 or limit > MAX_PAYLOADS_PER_PAGE:
            raise invalid_request(f"limit must be between 1 and {MAX_PAYLOADS_PER_PAGE}")
        hook = self._get(base_id, hook_id)
        hook.expires = self.clock.timestamp() + WEBHOOK_LIFETIME
        cursor = max(cursor, 1)
        page = hook.payloads[cursor - 1 : cursor - 1 + limit]
        next_cursor = cursor + len(page)
        return {
            "payloads": page,
            "cursor": next_cursor,
            "mightHaveMore": next_cursor <= len(hook.payloads),
        }

    # ------------------------------------------------------------------ recording

    def record(self, base_id: str, tx: Transaction) -> None:
        """Turn one transaction into one payload per interested webhook."""
        number = self.transaction_numbers.get(base_id, 0) + 1
        self.transaction_numbers[base_id] = number
        hooks = (
            [h for h in self._live(base_id) if h.wants("tableData", tx.table.id, tx.source)]
            if self._hooks
            else []
        )
        if not hooks or tx.empty:
            return
        for hook in hooks:
            changes = self._record_changes(hook, tx)
            if changes:
                self._publish(
                    hook, number, tx.source, {"changedTablesById": {tx.table.id: changes}}
                )

    def record_schema(self, base_id: str, change: SchemaChange, source: str = "publicApi") -> None:
        """One ``tableFields``/``tableMetadata`` payload per interested webhook."""
        number = self.transaction_numbers.get(base_id, 0) + 1
        self.transaction_numbers[base_id] = number
        for hook in self._live(base_id) if self._hooks else []:
            body = _schema_payload(hook, change, source)
            if body:
                self._publish(hook, number, source, body)

    def _publish(self, hook: _Hook, number: int, source: str, body: dict[str, Any]) -> None:
        metadata: dict[str, Any] = {"source": source, "sourceMetadata": {"user": self.user}}
        hook.payloads.append({
            "timestamp": format_datetime(self.clock.now()),
            "baseTransactionNumber": number,
            "payloadFormat": "v0",
            "actionMetadata": metadata,
            **body,
        })  # fmt: skip
        if hook.notification_url and hook.notifications_enabled:
            self._notify(hook)

    def _record_changes(self, hook: _Hook, tx: Transaction) -> dict[str, Any]:
        filters = hook.specification["options"]["filters"]
        change_types = filters.get("changeTypes") or ["add", "remove", "update"]
        watched = set(filters.get("watchDataInFieldIds") or [])
        extra = hook.includes("includeCellValuesInFieldIds")
        with_previous = bool(hook.includes("includePreviousCellValues"))
        changes: dict[str, Any] = {}
        if "add" in change_types and tx.created:
            changes["createdRecordsById"] = {
                r.id: {"createdTime": r.created_text, "cellValuesByFieldId": dict(r.values)}
                for r in tx.created
            }
        if "update" in change_types and tx.changed:
            changed: dict[str, Any] = {}
            for record, previous in tx.changed:
                keys = [
                    k
                    for k in dict.fromkeys([*previous, *record.values])
                    if previous.get(k) != record.values.get(k)
                ]
                if watched and not watched.intersection(keys):
                    continue
                entry: dict[str, Any] = {
                    "current": {"cellValuesByFieldId": {k: record.values.get(k) for k in keys}},
                }
                if with_previous:
                    # Only when the specification asks [D:webhooks-specification].
                    entry["previous"] = {"cellValuesByFieldId": {k: previous.get(k) for k in keys}}
                if extra:
                    others = record.values if extra == "all" else {
                        k: record.values.get(k) for k in extra
                    }  # fmt: skip
                    entry["unchanged"] = {
                        "cellValuesByFieldId": {k: v for k, v in others.items() if k not in keys}
                    }
                changed[record.id] = entry
            if changed:
                changes["changedRecordsById"] = changed
        if "remove" in change_types and tx.destroyed:
            changes["destroyedRecordIds"] = list(tx.destroyed)
        return changes

    def _notify(self, hook: _Hook) -> None:
        """POST Airtable's ping ``{"base","webhook","timestamp"}`` signed with the hook's MAC
        secret, in a thread; the outcome becomes ``lastNotificationResult``."""
        body = json.dumps(
            {
                "base": {"id": hook.base_id},
                "webhook": {"id": hook.id},
                "timestamp": format_datetime(self.clock.now()),
            }
        ).encode()
        url = str(hook.notification_url)
        if url.startswith(("http://", "https://")):
            threading.Thread(target=self._deliver, args=(hook, url, body), daemon=True).start()

    def _deliver(self, hook: _Hook, url: str, body: bytes) -> None:
        mac = "hmac-sha256=" + hmac.new(hook.mac_secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by the caller
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Airtable-Content-MAC": mac},
        )
        started = time.monotonic()
        error: str | None = None
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            error = f"The notification URL answered {exc.code}"
        except OSError as exc:
            error = f"Could not reach the notification URL: {type(exc).__name__}"
        else:
            if not 200 <= status < 300:
                error = f"The notification URL answered {status}"
        now = format_datetime(self.clock.now())
        result: dict[str, Any] = {
            "success": error is None,
            "completionTimestamp": now,
            "durationMs": round((time.monotonic() - started) * 1000, 3),
            "retryNumber": 0,
        }
        if error is None:
            hook.last_success = now
        else:
            result["error"] = {"message": error}
            result["willBeRetried"] = False
        hook.last_result = result
        hook.deliveries.append(result)


def _field_info(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "type": spec.type}


def _schema_payload(hook: _Hook, change: SchemaChange, source: str) -> dict[str, Any]:
    """The payload body for one schema change, or {} when the hook does not watch it."""
    table = change.table
    wants_fields = hook.wants("tableFields", table.id, source)
    wants_meta = hook.wants("tableMetadata", table.id, source)
    watched = set(hook.specification["options"]["filters"].get("watchSchemasOfFieldIds") or [])
    if change.kind == "table_created":
        created: dict[str, Any] = {}
        if wants_meta:
            created["metadata"] = {"name": table.name, "description": table.description}
        if wants_fields:
            created["fieldsById"] = {f.id: _field_info(f) for f in table.fields}
        return {"createdTablesById": {table.id: created}} if created else {}
    if change.kind == "metadata" and wants_meta:
        previous = change.previous or {}
        current = {"name": table.name, "description": table.description}
        return {"changedTablesById": {table.id: {
            "changedMetadata": {"current": current, "previous": previous}}}}  # fmt: skip
    spec = change.field
    if spec is None or not wants_fields or (watched and spec.id not in watched):
        return {}
    if change.kind == "field_created":
        return {
            "changedTablesById": {table.id: {"createdFieldsById": {spec.id: _field_info(spec)}}}
        }
    previous = change.previous or {}
    keys = [k for k in ("name", "type") if previous.get(k) != _field_info(spec)[k]]
    if not keys:
        return {}
    entry: dict[str, Any] = {"current": {k: _field_info(spec)[k] for k in keys}}
    if hook.includes("includePreviousFieldDefinitions"):
        entry["previous"] = {k: previous[k] for k in keys}
    return {"changedTablesById": {table.id: {"changedFieldsById": {spec.id: entry}}}}
