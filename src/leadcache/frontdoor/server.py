"""``leadcache api``: the front door over HTTP (a threading HTTP/1.1 server, stdlib only).

Routing uses the raw request path, so a ``%2F`` inside a table name stays inside its segment
[airtable-api.md §1]; keep-alive connections (``protocol_version = "HTTP/1.1"``) let
pyairtable's session and the JS client reuse one connection. Bodies come plain or
chunked; a body longer than :data:`~.app.MAX_BODY` is not read: the answer is 413 and the
connection is closed. Every answer carries Airtable's CORS headers and ``OPTIONS`` preflights
are answered without a token, so the ``airtable`` JS client works from a web page too.

The server refuses to listen beyond loopback without ``LEAD_CACHE_API_TOKEN``: the Airtable
key alone would make every machine that can reach the port an Airtable client.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..airtable_wire.serving import BAD_BODY, CORS_HEADERS, read_body
from ..cache import LeadCache
from ..errors import ConfigError
from ..settings import DEFAULT_API_PORT
from .app import MAX_BODY, FrontDoorApp, Response, error_response
from .forward import Forwarder

__all__ = ["FrontDoorServer", "is_loopback"]

_REASONS = {s.value: s.phrase for s in HTTPStatus}


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "leadcache-frontdoor"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request log line (thousands of reads per second)."""

    def _serve(self) -> None:
        body: bytes | None
        try:
            body = read_body(self.rfile, self.headers, MAX_BODY, drain=False)
        except ValueError:  # a malformed Content-Length or chunk size, a body cut short
            self.close_connection = True
            self._send(error_response(BAD_BODY))
            return
        if body is None:
            self.close_connection = True  # the unread body must not be taken for a request
        if self.command == "OPTIONS":
            # A browser's CORS preflight: no token, nothing else to do [airtable-api.md §0].
            self._send(Response(200, b""))
            return
        path, _, query = self.path.partition("?")
        response = self.server.app.handle(
            self.command,
            path,
            query,
            self.headers.get("Authorization"),
            body,
            content_type=self.headers.get("Content-Type"),
        )
        self._send(response)

    def _send(self, response: Response) -> None:
        head = f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}\r\n"
        has_type = False
        for name, value in (*CORS_HEADERS, *response.headers):
            has_type = has_type or name.lower() == "content-type"
            head += f"{name}: {value}\r\n"
        if not has_type:
            head += "Content-Type: application/json; charset=utf-8\r\n"
        head += f"Content-Length: {len(response.body)}\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode("latin-1") + b"\r\n" + response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: FrontDoorApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class FrontDoorServer:
    """The HTTP front door for one cache.

    Args:
        cache: the cache to serve.
        host: interface to bind (loopback unless ``LEAD_CACHE_API_TOKEN`` is set).
        port: TCP port; 0 picks a free one.
        forward: send what the cache cannot answer to Airtable (needs ``AIRTABLE_API_KEY``).
        policy_overrides: passed to the forwarder's retry policy (tests).

    Raises:
        ConfigError: binding beyond loopback without ``LEAD_CACHE_API_TOKEN``, or no token
            at all to check clients against.

    Example:
        >>> server = FrontDoorServer(LeadCache(), port=8788).start()   # doctest: +SKIP
        >>> server.url                                                 # doctest: +SKIP
        'http://127.0.0.1:8788'
    """

    def __init__(
        self,
        cache: LeadCache,
        *,
        host: str | None = None,
        port: int | None = None,
        forward: bool = True,
        **policy_overrides: Any,
    ) -> None:
        settings = cache.settings
        host = host if host is not None else settings.api_host
        if port is None:
            port = settings.api_port if settings.api_port is not None else DEFAULT_API_PORT
        token = settings.api_token.reveal() if settings.api_token else None
        key = settings.api_key.reveal() if settings.api_key else None
        if not is_loopback(host) and not token:
            raise ConfigError(
                "LEAD_CACHE_API_TOKEN",
                f"must be set to listen on {host} (beyond loopback); clients then send it as "
                "their bearer token",
            )
        if not token and not key:
            raise ConfigError(
                "LEAD_CACHE_API_TOKEN",
                "is not set and neither is AIRTABLE_API_KEY: there is no token to check clients "
                "against",
            )
        self.forwarder = Forwarder(settings, cache.store, **policy_overrides) if forward else None
        self.app = FrontDoorApp(cache, [t for t in (token, key) if t], self.forwarder)
        try:
            self._http = _HTTPServer((host, port), self.app)
        except OSError as exc:
            raise ConfigError(
                "LEAD_CACHE_API_PORT",
                f"cannot listen on {host}:{port}: {os.strerror(exc.errno or 0)}",
            ) from None
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """The endpoint URL to give clients (``Api(key, endpoint_url=server.url)``)."""
        host = self._http.server_address[0]
        text = host.decode() if isinstance(host, bytes) else host
        return f"http://{text}:{self.port}"

    def start(self) -> FrontDoorServer:
        """Serve in a background thread."""
        self._serving = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="leadcache-frontdoor", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` is called from another."""
        self._serving = True
        self._http.serve_forever()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._serving:  # shutdown() waits for a serve_forever loop that must exist
            with contextlib.suppress(OSError):
                self._http.shutdown()
        self._http.server_close()
        if self.forwarder is not None:
            self.forwarder.close()

    def __enter__(self) -> FrontDoorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
