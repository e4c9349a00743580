"""One syncer at a time, across processes: a lease with an expiry.

A lease row names its owner and an expiry time; a syncer renews it as it works (every page of
a pull, every batch of a push). A syncer killed with SIGKILL blocks the others for at most
``LEAD_CACHE_LEASE_TTL`` seconds, after which anyone may take the lease over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from types import TracebackType

from ..errors import SyncBusy
from ..store.base import CoordinationStore

__all__ = ["Lease"]


class Lease:
    """The ``sync`` lease for one owner.

    Args:
        store: the shared database.
        ttl: seconds the lease lasts after each renewal.
        wait: seconds :meth:`acquire` keeps trying before raising ``SyncBusy``.
    """

    def __init__(
        self,
        store: CoordinationStore,
        *,
        ttl: float,
        wait: float = 0.0,
        name: str = "sync",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.wait = wait
        self.name = name
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._sleep = sleep
        self._depth = 0

    def acquire(self) -> None:
        """Take the lease (reentrant), waiting up to ``wait`` seconds.

        Raises:
            SyncBusy: another owner holds it.
        """
        if self._depth:
            self._depth += 1
            return
        deadline = self._clock() + self.wait
        while not self.store.acquire_lease(self.name, self.owner, self.ttl, self._clock()):
            if self._clock() >= deadline:
                holder = self.store.lease_holder(self.name, self._clock())
                raise SyncBusy(
                    f"another process is syncing ({holder or 'unknown'})",
                    hint=f"it holds the lease for up to {self.ttl:g} s after its last renewal",
                )
            self._sleep(min(0.5, max(0.05, self.ttl / 20)))
        self._depth = 1

    def renew(self) -> None:
        """Extend the lease; raises ``SyncBusy`` if it was lost (we stalled past the TTL and
        someone else took over)."""
        if not self.store.acquire_lease(self.name, self.owner, self.ttl, self._clock()):
            self._depth = 0
            raise SyncBusy("the sync lease was taken over by another process")

    def release(self) -> None:
        if self._depth > 1:
            self._depth -= 1
            return
        if self._depth == 1:
            self._depth = 0
            self.store.release_lease(self.name, self.owner)

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
