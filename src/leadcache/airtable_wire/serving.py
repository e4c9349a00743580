"""The HTTP pieces both Airtable-speaking servers share: reading a request body (plain or
chunked), parsing it as JSON, and the CORS headers Airtable sends.

Airtable answers browsers (the ``airtable`` JS client runs in web pages), so its answers carry
``Access-Control-Allow-*`` headers and it answers ``OPTIONS`` preflights without a token
[airtable-api.md §0]. Clients that stream a body (``requests`` with a generator, Node's
``http`` without a length) send it chunked, with no ``Content-Length``.
"""

from __future__ import annotations

import json
from typing import Any, Final, Protocol

from .errors import ApiError

__all__ = ["BAD_BODY", "CORS_HEADERS", "encode_json", "parse_json_body", "read_body"]

#: The CORS headers recorded on api.airtable.com responses [airtable-api.md §0, GR].
CORS_HEADERS: Final = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "DELETE,GET,OPTIONS,PATCH,POST,PUT"),
    (
        "Access-Control-Allow-Headers",
        "authorization,content-length,content-type,user-agent,x-airtable-application-id,"
        "x-airtable-user-agent,x-api-version,x-requested-with",
    ),
)

#: A body that is not JSON (Airtable's type; the message is ours).
BAD_BODY: Final = ApiError(400, "INVALID_REQUEST_BODY", "Could not parse the request body")


class _Reader(Protocol):
    def read(self, size: int, /) -> bytes: ...
    def readline(self, size: int, /) -> bytes: ...


class _Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


def read_body(rfile: _Reader, headers: _Headers, limit: int, *, drain: bool) -> bytes | None:
    """The request body, plain or chunked.

    Returns None when it is longer than ``limit``: with ``drain`` the rest is read and thrown
    away (the connection stays usable); without, it is left unread and the caller must close
    the connection (a client sending a huge body is not made to upload all of it).

    Raises:
        ValueError: a malformed ``Content-Length`` or chunk size, or a chunked body that ends
            before its last chunk (answer 400, close).
    """
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        parts: list[bytes] = []
        total = 0
        while True:
            line = rfile.readline(1024)
            if not line:
                raise ValueError("the body ended before its last chunk")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size < 0:
                raise ValueError("negative chunk size")
            if size == 0:
                while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts) if total <= limit else None
            total += size
            if total > limit and not drain:
                return None
            chunk = rfile.read(size)
            if len(chunk) < size:
                raise ValueError("the body ended inside a chunk")
            if total <= limit:
                parts.append(chunk)
            rfile.readline(1024)  # the CRLF after each chunk
    length = int(headers.get("Content-Length") or 0)
    if length < 0:
        raise ValueError("negative Content-Length")
    if length > limit:
        if drain:
            while length > 0:
                length -= len(rfile.read(min(length, 1 << 16)) or b"x" * length)
        return None
    return rfile.read(length) if length else b""


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":")).encode


def encode_json(value: Any) -> bytes:
    """A response body: compact JSON in UTF-8. Text holding a lone surrogate (a client can
    send one as a ``\\ud800`` escape, and an error message may quote it back) has no UTF-8
    form; such a body is written with ASCII escapes instead, which every JSON parser reads
    back as the same text."""
    try:
        return _COMPACT(value).encode()
    except UnicodeEncodeError:
        return _COMPACT_ASCII(value).encode()


def parse_json_body(raw: bytes) -> Any:
    """A request body as JSON; :data:`BAD_BODY` for anything that does not parse, nesting
    too deep for the parser included (Python's ``json`` raises ``RecursionError`` there)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BAD_BODY from None
