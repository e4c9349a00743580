"""Reading a listing of records: restarted when Airtable forgets it, prefetched in a thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import Any, Final

from ..airtable.protocol import AirtableTable
from ..errors import IteratorExpired

__all__ = ["MAX_LISTING_RESTARTS", "pages_with_restart", "prefetched"]

log = logging.getLogger("leadcache.sync")

#: At most this many restarts of a listing whose iterator expired, then give up.
MAX_LISTING_RESTARTS: Final = 3

_DONE = object()


def pages_with_restart(
    table: AirtableTable, formula: str | None = None, fields: list[str] | None = None
) -> Iterator[list[Any]]:
    """A listing's pages; when Airtable forgets the listing (inactivity, restarts) it is
    started again: pages already applied re-apply as no-ops."""
    for attempt in range(MAX_LISTING_RESTARTS + 1):
        try:
            yield from table.iter_pages(formula=formula, fields=fields)
            return
        except IteratorExpired:
            if attempt == MAX_LISTING_RESTARTS:
                raise
            log.warning("list iterator expired; restarting the listing")


def prefetched(pages: Iterator[list[Any]], depth: int = 2) -> Iterator[list[Any]]:
    """Fetch the next pages in a thread while the caller writes the current one.

    The network wait and the SQLite work overlap (both release the GIL); at most ``depth``
    pages wait in memory, so a pull stays at constant memory. An error in the fetching thread
    (``IteratorExpired``, offline...) is raised here, in the caller's thread.
    """
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        queue.put(page, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    thread = threading.Thread(target=produce, name="leadcache-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
