"""Webhooks: `previous` only on request, schema payloads, and signed notification pings
delivered over real HTTP with their result recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyairtable
import pytest
from pyairtable.models.webhook import WebhookNotification

from leadcache.emulator import Emulator

DATA = {"options": {"filters": {"dataTypes": ["tableData"]}}}


class _Receiver(ThreadingHTTPServer):
    def __init__(self, status: int) -> None:
        self.status = status
        self.received: list[tuple[bytes, str]] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, self.headers.get("X-Airtable-Content-MAC", "")))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[_Receiver]:
    server = _Receiver(getattr(request, "param", 200))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_previous_values_only_when_includes_asks(api: pyairtable.Api, emu: Emulator,
                                                 table: pyairtable.Table) -> None:  # fmt: skip
    base = api.base(emu.base_id)
    plain = base.webhook(base.add_webhook("http://127.0.0.1:9/x", DATA).id)
    with_prev = base.webhook(
        base.add_webhook(
            "http://127.0.0.1:9/x",
            {"options": {**DATA["options"], "includes": {"includePreviousCellValues": True}}},
        ).id
    )
    rec = table.create({"Name": "P", "Title": "A"})
    table.update(rec["id"], {"Title": "B"})
    change = list(plain.payloads())[-1].changed_tables_by_id[emu.table_id]
    assert change.changed_records_by_id[rec["id"]].previous is None
    change = list(with_prev.payloads())[-1].changed_tables_by_id[emu.table_id]
    previous = change.changed_records_by_id[rec["id"]].previous
    assert previous is not None and list(previous.cell_values_by_field_id.values()) == ["A"]


def test_schema_payloads(api: pyairtable.Api, emu: Emulator, table: pyairtable.Table) -> None:
    base = api.base(emu.base_id)
    spec = {"options": {"filters": {"dataTypes": ["tableFields", "tableMetadata"]},
                        "includes": {"includePreviousFieldDefinitions": True}}}  # fmt: skip
    hook = base.webhook(base.add_webhook("http://127.0.0.1:9/x", spec).id)
    data_only = base.webhook(base.add_webhook("http://127.0.0.1:9/x", DATA).id)
    created = table.create_field("Budget", "number", options={"precision": 0})
    schema = table.schema(force=True)
    schema.description = "Leads and more"
    schema.save()
    field = table.schema(force=True).field("Budget")
    field.name = "Budget (USD)"
    field.save()
    base.create_table("Accounts", [{"name": "Account", "type": "singleLineText"}])
    payloads = list(hook.payloads())
    assert len(payloads) == 4
    first = payloads[0].changed_tables_by_id[emu.table_id]
    assert first.created_fields_by_id[created.id].name == "Budget"
    assert first.created_fields_by_id[created.id].type == "number"
    meta = payloads[1].changed_tables_by_id[emu.table_id].changed_metadata
    assert meta is not None and meta.current.description == "Leads and more"
    renamed = payloads[2].changed_tables_by_id[emu.table_id].changed_fields_by_id[created.id]
    assert renamed.current.name == "Budget (USD)"
    assert renamed.previous is not None and renamed.previous.name == "Budget"
    (new_table,) = payloads[3].created_tables_by_id.values()
    assert new_table.metadata is not None and new_table.metadata.name == "Accounts"
    assert [f.name for f in new_table.fields_by_id.values()] == ["Account"]
    assert list(data_only.payloads()) == []  # a tableData hook sees no schema change


def test_ping_is_signed_with_the_mac_secret(
    api: pyairtable.Api, emu: Emulator, table: pyairtable.Table, receiver: _Receiver
) -> None:
    base = api.base(emu.base_id)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    created = base.add_webhook(url, DATA)
    table.create({"Name": "Ping"})
    _wait(lambda: receiver.received)
    body, header = receiver.received[0]
    # X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256(base64decode(secret), raw body)>.
    secret = base64.b64decode(created.mac_secret_base64)
    assert header == "hmac-sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    note = WebhookNotification.from_request(body.decode(), header, created.mac_secret_base64)
    assert note.base.id == emu.base_id and note.webhook.id == created.id
    with pytest.raises(ValueError):
        WebhookNotification.from_request(body.decode(), header, base64.b64encode(b"x").decode())
    _wait(lambda: base.webhook(created.id).last_notification_result is not None)
    hook = base.webhook(created.id)
    result = hook.last_notification_result
    assert result is not None and result.success and result.retry_number == 0
    assert hook.last_successful_notification_time is not None
    # Turning notifications off stops the pings; payloads still accumulate.
    hook.disable_notifications()
    table.create({"Name": "Quiet"})
    time.sleep(0.3)
    assert len(receiver.received) == 1
    assert len(list(hook.payloads())) == 2


@pytest.mark.parametrize("receiver", [500], indirect=True)
def test_failed_delivery_is_recorded(
    api: pyairtable.Api, emu: Emulator, table: pyairtable.Table, receiver: _Receiver
) -> None:
    base = api.base(emu.base_id)
    created = base.add_webhook(f"http://127.0.0.1:{receiver.server_address[1]}/hook", DATA)
    table.create({"Name": "Refused"})
    _wait(lambda: base.webhook(created.id).last_notification_result is not None)
    hook = base.webhook(created.id)
    result = hook.last_notification_result
    assert result is not None and not result.success
    assert result.error is not None and "500" in result.error.message
    assert hook.last_successful_notification_time is None
    assert emu.notifications(created.id)[0]["success"] is False
