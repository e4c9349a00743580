"""HTTP plumbing: a threading HTTP/1.1 server that hands requests to the app.

Standard library only. ``protocol_version = "HTTP/1.1"`` keeps connections alive (pyairtable
reuses one ``requests.Session``), and routing uses the raw request path so a ``%2F`` inside a
table name is never split [airtable-api.md §1]. Responses are written with one ``write`` call
and no per-request log line, because the benchmark serves thousands of pages per second.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..airtable_wire.serving import CORS_HEADERS, read_body
from .app import App, Outcome

__all__ = ["CONTROL_PREFIX", "EmulatorHTTPServer"]

#: Reserved path prefix for the emulator's own control endpoints (never counted).
CONTROL_PREFIX = "/__emulator__/"

ControlHandler = Callable[[str, str, str, bytes], tuple[int, bytes]]
_REASONS = {s.value: s.phrase for s in HTTPStatus}

#: Airtable refuses URLs longer than 16,000 characters [support.airtable.com "URL length
#: limitations for web API requests"]; airtable.js issue #392 shows the status, 414.
MAX_URL_LENGTH = 16_000
#: 413's error type is UNVERIFIED (Airtable's docs list the status only); airtable.js names it
#: REQUEST_TOO_LARGE whatever the body says.
_TOO_LARGE = b'{"error":{"type":"REQUEST_TOO_LARGE","message":"The request body is too large"}}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "leadcache-emulator"
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log line (cheap serving matters more)."""

    def _read_body(self) -> bytes | None:
        """The request body, plain or chunked; None when it is over the limit (it is read
        and discarded, so the client sees the 413 instead of a reset connection)."""
        return read_body(self.rfile, self.headers, self.server.max_body_bytes, drain=True)

    def _refuse(self, status: int, body: bytes) -> None:
        """Answer without reading the request, then close the connection."""
        self.close_connection = True
        self._send(Outcome(status, body))

    def _serve(self) -> None:
        host = self.headers.get("Host") or "127.0.0.1"
        if len(f"http://{host}{self.path}") > MAX_URL_LENGTH:
            self._refuse(414, b"")  # no Airtable error body (airtable.js: UNEXPECTED_ERROR)
            return
        try:
            body = self._read_body()
        except ValueError:  # a malformed chunk size, a body cut short
            self._refuse(400, b'{"error":{"type":"INVALID_REQUEST_BODY"}}')
            return
        if self.command == "OPTIONS":
            # CORS preflight: answered without a token, never counted (a body is read first,
            # so it is not taken for the next request).
            self._send(Outcome(200, b""))
            return
        if body is None:
            self._send(Outcome(413, _TOO_LARGE))
            return
        path, _, query = self.path.partition("?")
        if path.startswith(CONTROL_PREFIX):
            status, payload = self.server.control(
                self.command, path[len(CONTROL_PREFIX) :], query, body
            )
            self._send(Outcome(status, payload))
            return
        outcome = self.server.app.handle(
            self.command, path, query, self.headers.get("Authorization"), body
        )
        if outcome.close:
            self._abort()
            return
        self._send(outcome)

    def _abort(self) -> None:
        """Close without answering: the client sees a dropped connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, outcome: Outcome) -> None:
        head = f"HTTP/1.1 {outcome.status} {_REASONS.get(outcome.status, 'Unknown')}\r\n"
        if outcome.body:
            head += "Content-Type: application/json; charset=utf-8\r\n"
        head += f"Content-Length: {len(outcome.body)}\r\n"
        # Like any HTTP server, on the emulator's clock (which tests may skew).
        head += f"Date: {formatdate(self.server.app.state.clock.timestamp(), usegmt=True)}\r\n"
        for name, value in (*CORS_HEADERS, *outcome.headers):
            head += f"{name}: {value}\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode("latin-1") + b"\r\n" + outcome.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = _serve


class EmulatorHTTPServer(ThreadingHTTPServer):
    """The listening server: one thread per connection.

    Args:
        address: ``(host, port)``; port 0 picks a free port.
        app: the API pipeline.
        control: handler for ``/__emulator__/…`` requests.
        max_body_bytes: larger request bodies get 413.
    """

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        control: ControlHandler,
        max_body_bytes: int = 5 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.control = control
        super().__init__(address, _Handler)
