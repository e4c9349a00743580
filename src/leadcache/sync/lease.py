"""One syncer at a time, across processes: a lease with an expiry and a fencing token.

A lease row names its owner, an expiry time and a *generation*. Taking the lease (when it is
free, expired or held by someone else) starts a new generation; renewing it succeeds only while
the row still carries our owner and generation, so a syncer that stalled (a long 429 wait, a
frozen process, a clock step) and was taken over learns it on its next check and never takes
the lease back.

Ownership is checked where it matters: before every request is sent (after any wait in retries
or penalties) and inside the transaction that applies an answer (:meth:`Lease.check`). While a
run holds the lease, a heartbeat thread renews it every ``ttl / 3`` seconds of *monotonic* time,
so a syncer waiting out a long penalty keeps its lease; a syncer killed with SIGKILL blocks the
others for at most ``LEAD_CACHE_LEASE_TTL`` seconds.

Within a process, the lease belongs to the *thread* that took it. That thread may take it again
(a run inside a run); another thread syncing through the same cache is another syncer: it waits
up to ``wait`` seconds and then gets ``SyncBusy``, exactly as another process would. (Sharing the
tenure would let two pushes of one process interleave, and the older write land last.)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType

from ..errors import LeadCacheError, LeaseLost, SyncBusy
from ..store.base import CoordinationStore

__all__ = ["Lease"]

log = logging.getLogger("leadcache.sync")


class Lease:
    """The ``sync`` lease for one owner.

    Args:
        store: the shared database.
        ttl: seconds the lease lasts after each renewal.
        wait: seconds :meth:`acquire` keeps trying before raising ``SyncBusy``.
        clock: wall-clock time, shared by the processes of one host (expiry times).
        monotonic: this process's own elapsed time (how long ``acquire`` has waited).
        heartbeat: renew in a background thread while held (off in unit tests of the store).
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
        monotonic: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.wait = wait
        self.name = name
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        # Which thread holds the lease in this process (None: none does), and how many times
        # it took it (re-entry). Only the holder changes ``_depth``; ``_holder`` is claimed
        # and freed under ``_mutex``, which is never held across a database call (a thread
        # inside a store transaction may be calling ``check``).
        self._mutex = threading.Lock()
        self._holder: int | None = None
        self._depth = 0
        #: The fencing token of the current tenure; 0 when not held.
        self.generation = 0
        self._lost = False
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._depth > 0 and not self._lost

    def acquire(self) -> None:
        """Take the lease, waiting up to ``wait`` seconds.

        Reentrant for the thread holding it; another thread of this process waits for it like
        another process does.

        Raises:
            SyncBusy: another owner (another process, or another thread syncing through this
                lease) holds it.
        """
        me = threading.get_ident()
        deadline = self._monotonic() + self.wait  # our own wait: immune to clock steps
        while True:
            with self._mutex:
                if self._holder == me:
                    self._depth += 1
                    return
                here = self._holder is not None  # another thread of ours is syncing
                if not here:
                    self._holder = me  # claimed in this process; now ask the database
            if not here:
                try:
                    generation = self.store.acquire_lease(
                        self.name, self.owner, self.ttl, self._clock()
                    )
                except BaseException:
                    self._free()
                    raise
                if generation:
                    break
                self._free()
            if self._monotonic() >= deadline:
                raise self._busy(here)
            self._sleep(min(0.5, max(0.05, self.ttl / 20)))
        self.generation = int(generation)
        self._lost = False
        self._depth = 1
        self._start_heartbeat()

    def _free(self) -> None:
        """Give up this process's claim (the calling thread holds it)."""
        with self._mutex:
            self._holder = None

    def _busy(self, here: bool) -> SyncBusy:
        if here:
            return SyncBusy(
                "another thread of this process is syncing through the same cache",
                hint="wait for its run to finish (or pass lease_wait); what is queued stays "
                "queued until a run sends it",
            )
        holder = self.store.lease_holder(self.name, self._clock())
        return SyncBusy(
            f"another process is syncing ({holder or 'unknown'})",
            hint=f"it holds the lease for up to {self.ttl:g} s after its last renewal",
        )

    def check(self) -> None:
        """Renew the lease, or raise ``LeaseLost`` if another syncer took it since we did.

        Called before every request and inside the transaction that applies its answer, by
        the thread holding the lease or one working for its run (the page prefetcher)."""
        if self._depth == 0:
            return  # not a leased run (e.g. a plan or a dry run)
        if self._lost or not self.store.renew_lease(
            self.name, self.owner, self.generation, self.ttl, self._clock()
        ):
            self._lost = True
            raise LeaseLost(
                "the sync lease was taken over by another process; this run stopped, and "
                "what it did not finish stays queued",
                hint="another syncer is running; the next run re-plans from the queue",
            )

    #: Kept for callers of the former name.
    renew = check

    def release(self) -> None:
        """Undo one :meth:`acquire`; the last one gives the lease up.

        Only the holding thread releases: from any other thread (which never took it) this
        does nothing, as it does when the lease is not held at all."""
        if self._holder != threading.get_ident():
            return
        if self._depth > 1:
            self._depth -= 1
            return
        self._depth = 0
        self._stop_heartbeat()
        try:
            if not self._lost:
                self.store.release_lease(self.name, self.owner)
        finally:
            # Even if the database failed: the row expires by itself, and this process's
            # other threads must not stay locked out.
            self.generation = 0
            self._lost = False
            self._free()

    # -- heartbeat ---------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        if not self._heartbeat or self.ttl <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, name="leadcache-lease", daemon=True, args=(self.generation,)
        )
        self._thread.start()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def _beat(self, generation: int) -> None:
        interval = max(0.02, self.ttl / 3)
        while not self._stop.wait(interval):  # Event.wait measures monotonic time
            try:
                ok = self.store.renew_lease(
                    self.name, self.owner, generation, self.ttl, self._clock()
                )
            except LeadCacheError:
                log.warning("could not renew the sync lease; retrying", exc_info=True)
                continue
            if not ok:
                log.warning("the sync lease was taken over by another process")
                self._lost = True
                return

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
