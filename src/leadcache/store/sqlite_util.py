"""Helpers shared by the SQLite store's modules: error translation, ``IN`` chunks, and the JSON
codec (:mod:`.rows`) under its old names."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

from ..errors import DatabaseBusy, LeadCacheError, ReadOnlyDatabase, StorageError
from .rows import decode_json, dumps
from .sqlite_files import corrupt_error, is_corruption, mark_corrupt, read_only_reason

__all__ = ["_guard", "_path_safe", "_translate", "dumps", "in_chunks", "loads"]

P = ParamSpec("P")
R = TypeVar("R")


def _path_safe(name: str) -> bool:
    """Whether a field name can be quoted in a SQLite JSON path (``$."name"``)."""
    return '"' not in name and "\\" not in name and name.isprintable()


#: Stored JSON decoded (msgspec, with ``json`` for what it refuses): shared with every backend.
loads = decode_json


def _guard(method: Callable[P, R]) -> Callable[P, R]:
    """Translate driver errors into our exception tree (the cause stays chained)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            path = getattr(args[0], "path", None) if args else None
            raise _translate(exc, path if isinstance(path, Path) else None) from exc

    return wrapper


def _translate(exc: sqlite3.Error, path: Path | None = None) -> LeadCacheError:
    """Our error for a driver error; ``path`` (the database) lets it name the file, and
    records damage so that every process stops writing (see sqlite_open)."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return DatabaseBusy(f"the database stayed locked by another process: {text}")
    if path is not None and is_corruption(exc):
        mark_corrupt(path, text)
        return corrupt_error(path, text)
    if path is not None and getattr(exc, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
        reason = read_only_reason(path) or f"{path} cannot be written ({text})"
        return ReadOnlyDatabase(
            f"writes are refused: {reason}",
            hint=f"give this user write access there; reads of {path} still work",
        )
    return StorageError(f"database error: {text}")


def in_chunks(ids: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """``ids`` in chunks for ``IN (...)`` (SQLite caps bound parameters), with placeholders."""
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ",".join("?" * len(chunk))
