"""Structured logs for people (``text``) or machines (``json``), with secrets redacted.

Every leadcache module logs to a child of the ``leadcache`` logger
(``logging.getLogger("leadcache.sync")``...). :func:`configure_logging` gives that hierarchy
one handler; the root logger is never touched, and calling it again replaces the handler
instead of adding a second one.

Structured fields: pass them with :func:`log_event`, the one documented way::

    log = logging.getLogger("leadcache.sync")
    log_event(log, logging.INFO, "push done", pushed=12, calls=2, seconds=0.84)

which is shorthand for ``log.info("push done", extra={"fields": {...}})`` (either works). The
two formats render it as::

    2026-11-28T10:00:00.123Z INFO leadcache.sync push done pushed=12 calls=2 seconds=0.84
    {"ts": "2026-11-28T10:00:00.123Z", "level": "INFO", "logger": "leadcache.sync",
     "msg": "push done", "pushed": 12, "calls": 2, "seconds": 0.84}

(the JSON object is one line). A sync run logs exactly one such line with its figures.

Redaction: every registered secret (the API key from ``Settings``, anything passed in
``secrets=`` or to :func:`register_secret`) and anything shaped like an Airtable token
(``Bearer …``, ``pat….…``) is replaced by ``***`` in the message, its ``%`` arguments, the
fields and exception text, in both formats. The handler's :class:`RedactingFilter` rewrites the
record, and each formatter redacts its finished line once more.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from .clock import format_ts
from .settings import Secret, Settings

__all__ = [
    "LOGGER_NAME",
    "NOTICE_LOGGER",
    "NOTICE_WAIT_S",
    "REDACTED",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "log_event",
    "register_secret",
    "reset_logging",
]

LOGGER_NAME: Final = "leadcache"
#: Long waits a person should hear about (a rate-limit penalty): the CLI shows this logger's
#: lines on stderr even when its other logs are quiet, on a terminal or not.
NOTICE_LOGGER: Final = "leadcache.notice"
#: Waits at least this long are announced on :data:`NOTICE_LOGGER`.
NOTICE_WAIT_S: Final = 1.0
REDACTED: Final = "***"

_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# Token shapes redacted even when nobody registered them: an Authorization header value, and
# Airtable personal access tokens ("pat" + 14 characters + "." + 64 hex digits).
_BEARER: Final = re.compile(r"(?i)\b(Bearer)\s+[A-Za-z0-9._~+/=-]+")
_PAT: Final = re.compile(r"\bpat[A-Za-z0-9]{8,}\.[A-Za-z0-9]{16,}")
# Marks the handler configure_logging installed, so a second call can find and replace it.
_MARK: Final = "_leadcache_handler"
# Attributes every LogRecord has; anything else in `extra` is treated as a field too.
_RECORD_ATTRS: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "fields",
    "taskName",
}


class Redactor:
    """Replaces registered secrets and token-shaped strings with ``***``. Thread-safe."""

    def __init__(self, secrets: Iterable[str | Secret | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | Secret | None) -> None:
        """Register a value to redact; ``None`` and empty strings are ignored."""
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            return
        # The escaped forms too: `%r` of the secret, or the secret inside a JSON string, differ
        # from the raw value when it contains quotes or backslashes.
        forms = {value, repr(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        with self._lock:
            # Longest first, so a secret that contains another is replaced whole.
            self._secrets = tuple(sorted({*self._secrets, *forms}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every secret and token shape replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _BEARER.sub(r"\1 " + REDACTED, text)
        return _PAT.sub(REDACTED, text)

    def redact_value(self, value: Any) -> Any:
        """Redact strings inside JSON-like data; other objects are rendered with ``str()``."""
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {str(k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(v) for v in value]
        # An arbitrary object (an exception, a Path...) is logged by its text, redacted.
        return self.redact(str(value))


_REDACTOR: Final = Redactor()


def register_secret(secret: str | Secret | None) -> None:
    """Redact ``secret`` from every leadcache log line from now on."""
    _REDACTOR.add(secret)


def _fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    merged: dict[str, Any] = dict(fields) if isinstance(fields, Mapping) else {}
    # Plain `extra={"pushed": 12}` keys land as record attributes; keep them as fields too.
    for key, value in vars(record).items():
        if key not in _RECORD_ATTRS and not key.startswith("_") and key not in merged:
            merged[key] = value
    return merged


class RedactingFilter(logging.Filter):
    """Rewrites a record so no secret is left in its message, args, fields or exception text.

    Attached to the handler (not a logger) so it also sees records of child loggers.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else _REDACTOR

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string must not break the caller: logging it is best effort.
            message = f"{record.msg!s} (unformattable args)"
        record.msg = redact(message)
        record.args = None
        record.fields = self.redactor.redact_value(_fields_of(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        if value and not any(c.isspace() or c in '"=\\' for c in value):
            return value
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


# C0/C1 controls and bidi overrides, shown as escapes in text logs (as the CLI's tables do).
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def _escape_controls(text: str, *, keep: str = "") -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return _CONTROLS.sub(escape, text)


class TextFormatter(logging.Formatter):
    """``2026-11-28T10:00:00.123Z INFO leadcache.sync push done pushed=12 calls=2``.

    Control characters are shown as escapes (``\\x1b``): the line is for a terminal."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else _REDACTOR

    def format(self, record: logging.LogRecord) -> str:
        ts = format_ts(datetime.fromtimestamp(record.created, UTC))
        message = record.getMessage()
        parts = [ts, record.levelname, record.name, message]
        # A field the message already states (`... pushed=12`) is not repeated.
        pairs = (f"{k}={_text_value(v)}" for k, v in _fields_of(record).items())
        parts.extend(p for p in pairs if p not in message)
        # One line, and no terminal control: a lead value in a message cannot end the line,
        # clear the screen or recolour it (tracebacks keep their own newlines).
        line = _escape_controls(" ".join(parts))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + _escape_controls(record.exc_text, keep="\n")
        if record.stack_info:
            line += "\n" + _escape_controls(self.formatStack(record.stack_info), keep="\n")
        return self.redactor.redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, then the fields."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else _REDACTOR

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": format_ts(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _fields_of(record).items():
            # A field never overwrites the envelope; it is kept under another name instead.
            payload[f"field_{key}" if key in payload else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        line = json.dumps(self.redactor.redact_value(payload), ensure_ascii=False, default=str)
        return self.redactor.redact(line)


def _level(value: str | int) -> int:
    if isinstance(value, int):
        return value
    try:
        return _LEVELS[value.strip().lower()]
    except KeyError:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}; got {value!r}") from None


def configure_logging(
    settings: Settings | None = None,
    *,
    level: str | int | None = None,
    fmt: str | None = None,
    stream: TextIO | None = None,
    secrets: Iterable[str | Secret | None] = (),
) -> logging.Logger:
    """Send the ``leadcache`` logger hierarchy to ``stream`` in the chosen format.

    Idempotent: a second call replaces the handler of the first. The root logger is not
    touched, and ``leadcache`` stops propagating to it so lines are not printed twice.

    Args:
        settings: supplies ``log_level``, ``log_format`` and the API key to redact.
        level: ``debug``/``info``/``warning``/``error`` or a ``logging`` level; overrides
            settings (default ``info``).
        fmt: ``text`` or ``json``; overrides settings (default ``text``).
        stream: where lines go; ``sys.stderr`` (looked up at call time) when omitted.
        secrets: extra values to redact, besides ``settings.api_key``.

    Returns:
        The configured ``leadcache`` logger.

    Raises:
        ValueError: unknown level or format.

    Example:
        >>> import io
        >>> buf = io.StringIO()
        >>> _ = configure_logging(level="info", fmt="text", stream=buf, secrets=["s3cr3t"])
        >>> logging.getLogger("leadcache.demo").info("token %s", "s3cr3t")
        >>> buf.getvalue().split(" ", 1)[1]
        'INFO leadcache.demo token ***\\n'
        >>> reset_logging()
    """
    chosen_level = level if level is not None else (settings.log_level if settings else "info")
    chosen_fmt = (fmt if fmt is not None else (settings.log_format if settings else "text")).lower()
    if chosen_fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json; got {chosen_fmt!r}")
    numeric = _level(chosen_level)
    if settings is not None:
        _REDACTOR.add(settings.api_key)
    for secret in secrets:
        _REDACTOR.add(secret)

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(TextFormatter() if chosen_fmt == "text" else JsonFormatter())
    handler.addFilter(RedactingFilter())
    setattr(handler, _MARK, True)

    logger = logging.getLogger(LOGGER_NAME)
    _remove_ours(logger)
    logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = False
    return logger


def _remove_ours(logger: logging.Logger) -> None:
    for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(old)
        old.close()


def reset_logging() -> None:
    """Undo :func:`configure_logging`: remove its handler, propagate to the root again."""
    logger = logging.getLogger(LOGGER_NAME)
    _remove_ours(logger)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def log_event(logger: logging.Logger, level: int, msg: str, /, **fields: Any) -> None:
    """Log ``msg`` with structured ``fields`` (rendered ``key=value`` or as JSON keys).

    Example:
        >>> log_event(logging.getLogger("leadcache.sync"), logging.INFO, "push done", pushed=12)
    """
    if logger.isEnabledFor(level):
        # stacklevel=2: the record points at the caller, not at this helper.
        logger.log(level, msg, extra={"fields": fields}, stacklevel=2)
