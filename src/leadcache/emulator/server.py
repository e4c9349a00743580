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

from .app import App, Outcome

__all__ = ["CONTROL_PREFIX", "EmulatorHTTPServer"]

#: Reserved path prefix for the emulator's own control endpoints (never counted).
CONTROL_PREFIX = "/__emulator__/"

ControlHandler = Callable[[str, str, str, bytes], tuple[int, bytes]]
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "leadcache-emulator"
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log line (cheap serving matters more)."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
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
        head = (
            f"HTTP/1.1 {outcome.status} {_REASONS.get(outcome.status, 'Unknown')}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(outcome.body)}\r\n"
            # Like any HTTP server, on the emulator's clock (which tests may skew).
            f"Date: {formatdate(self.server.app.state.clock.timestamp(), usegmt=True)}\r\n"
        )
        for name, value in outcome.headers:
            head += f"{name}: {value}\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode("latin-1") + b"\r\n" + outcome.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class EmulatorHTTPServer(ThreadingHTTPServer):
    """The listening server: one thread per connection.

    Args:
        address: ``(host, port)``; port 0 picks a free port.
        app: the API pipeline.
        control: handler for ``/__emulator__/…`` requests.
    """

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, control: ControlHandler) -> None:
        self.app = app
        self.control = control
        super().__init__(address, _Handler)
