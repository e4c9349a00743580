"""The :class:`Emulator` facade and :func:`running_emulator` (decision 0001).

Example:
    >>> from leadcache.emulator import running_emulator
    >>> import pyairtable
    >>> with running_emulator(seed=3) as emu:
    ...     table = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
    ...     len(table.all())
    3
"""

from __future__ import annotations

import gc
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .accounting import Accounting, RequestLog
from .app import App
from .clock import Clock
from .control import Control
from .faults import Faults
from .ids import IdFactory, looks_like_id
from .model import Table
from .persist import SqlitePersistence
from .ratelimit import RateLimiter
from .seed import LEAD_FIELDS, seed_records
from .server import EmulatorHTTPServer
from .setup import apply_setup
from .state import FieldDef, State

__all__ = ["Emulator", "running_emulator"]


class Emulator:
    """An Airtable-compatible HTTP server with test controls.

    Args:
        seed: number of fake leads to put in the table (deterministic).
        token: the bearer token accepted; any other is 401 ``AUTHENTICATION_REQUIRED``.
        base_id: the base id (random ``app…`` when None).
        table_name: name of the seeded table.
        rate_limit: requests per second per base; None disables the limiter.
        rate_limit_penalty: seconds of 429 after tripping the limiter (Airtable: 30).
        max_body_bytes: request bodies larger than this get 413 (Airtable's limit is not
            published; 5 MiB by default).
        base_name: the base's name (``GET /meta/bases``).
        iterator_ttl: seconds of inactivity before a list offset expires.
        not_found_style: ``"404"`` (``MODEL_ID_NOT_FOUND``…) or ``"403"``
            (``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND``).
        webhooks_allowed: False makes webhook creation answer 403 ``INVALID_PERMISSIONS``.
        random_seed: seed of the id generator, for repeatable ids; None (the default) makes
            every id (base, table, record, webhook…) random per process, as Airtable's are
            unique. The fake leads' data is the same either way.
        host: interface to listen on.
        port: port (0 picks a free one).
        db: SQLite file to persist to (loaded when it already holds data); None: in memory.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        token: str = "pat-test",  # noqa: S107 - the emulator's default test token
        base_id: str | None = None,
        table_name: str = "Leads",
        rate_limit: int | None = None,
        rate_limit_penalty: float = 30.0,
        iterator_ttl: float = 300.0,
        not_found_style: str = "404",
        webhooks_allowed: bool = True,
        random_seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path | None = None,
        max_body_bytes: int = 5 * 1024 * 1024,
        base_name: str = "Leads (emulator)",
    ) -> None:
        if base_id is not None and not looks_like_id(base_id, "app"):
            raise ValueError(f"base_id must be 'app' and 14 letters or digits, not {base_id!r}")
        self.token = token
        self.clock = Clock()
        self.faults = Faults()
        self.accounting = Accounting()
        self.limiter = RateLimiter(rate_limit, rate_limit_penalty)
        ids = IdFactory(random_seed)
        user = {"id": ids.new("usr"), "email": "emulator@leadcache.invalid",
                "permissionLevel": "create"}  # fmt: skip
        self.state = State(
            self.clock, ids, iterator_ttl=iterator_ttl, not_found_style=not_found_style, user=user
        )
        self.state.webhooks_allowed = webhooks_allowed
        self._persistence = SqlitePersistence(db) if db is not None else None
        loaded = self._persistence.load(self.state) if self._persistence else False
        if loaded:
            base = next(iter(self.state.bases.values()))
            table = base.find_table(table_name) or base.tables[0]
        else:
            base = self.state.add_base(base_id or ids.new("app"), base_name)
            table = self.state.add_table(base, table_name, LEAD_FIELDS)
            if seed:
                data = random.Random(1 if random_seed is None else random_seed)
                seed_records(table, seed, data, self.clock.now(), ids.new)
                if seed >= 10_000:
                    # Move the seeded records out of the cyclic collector's generations;
                    # otherwise every later collection rescans them and a first listing
                    # of 100,000 records runs at half speed.
                    gc.freeze()
            if self._persistence:
                self._persistence.save_all(self.state)
        if self._persistence:
            self._persistence.attach(self.state)
        self.base_id = base.id
        self.table_name = table.name
        self.table_id = table.id
        app = App(self.state, token, self.faults, self.limiter, self.accounting)
        self.max_body_bytes = max_body_bytes
        self._server = EmulatorHTTPServer(
            (host, port), app, Control(self).handle, max_body_bytes=max_body_bytes
        )
        self._thread: threading.Thread | None = None
        self._serving = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def host(self) -> str:
        """The interface the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT``: pass as ``pyairtable.Api(token, endpoint_url=emu.url)``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        """Serve in a background daemon thread; returns self."""
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                args=(0.05,),  # a short poll interval makes stop() (and test teardown) quick
                name="airtable-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (the CLI uses this)."""
        self._serving = True
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and close the listening socket (and the database)."""
        if self._serving:
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._persistence is not None:
            self._persistence.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ data

    def table(self, name_or_id: str | None = None) -> Table:
        """A table of the emulated base (the seeded one by default)."""
        return self.state.table(self.base_id, name_or_id or self.table_id)

    def records(self, table: str | None = None) -> list[dict[str, Any]]:
        """Every live record as Airtable JSON ``{"id","createdTime","fields"}``, creation order."""
        with self.state.lock:
            t = self.table(table)
            return [t.render(r) for r in t.records.values()]

    def get_record(self, record_id: str, table: str | None = None) -> dict[str, Any] | None:
        """One record as Airtable JSON, or None."""
        with self.state.lock:
            t = self.table(table)
            record = t.records.get(record_id)
            return None if record is None else t.render(record)

    def human_create(self, fields: dict[str, Any], table: str | None = None) -> dict[str, Any]:
        """Create a record as a person in the Airtable UI would (not counted, not limited;
        produces a webhook payload with source ``client``). Values are typecast."""
        with self.state.lock:
            t = self.table(table)
            tx, created = self.state.writer.create(
                t, [fields], typecast=True, now=self.clock.now(), source="client"
            )
            self.state.commit(self.state.base_of(t), tx)
            return t.render(created[0])

    def human_update(
        self, record_id: str, fields: dict[str, Any], table: str | None = None
    ) -> dict[str, Any]:
        """Edit cells as a person would; moves ``LAST_MODIFIED_TIME()`` when a value changes.

        Raises:
            KeyError: the record does not exist.
        """
        with self.state.lock:
            t = self.table(table)
            if record_id not in t.records:
                raise KeyError(record_id)
            tx, records = self.state.writer.update(
                t, [(record_id, fields)], replace=False, typecast=True,
                now=self.clock.now(), source="client",
            )  # fmt: skip
            self.state.commit(self.state.base_of(t), tx)
            return t.render(records[0])

    def human_delete(self, record_id: str, table: str | None = None) -> None:
        """Delete a record as a person would.

        Raises:
            KeyError: the record does not exist.
        """
        with self.state.lock:
            t = self.table(table)
            if record_id not in t.records:
                raise KeyError(record_id)
            tx = self.state.writer.delete(t, [record_id], source="client")
            self.state.commit(self.state.base_of(t), tx)

    def add_field(
        self,
        name: str,
        field_type: str,
        options: dict[str, Any] | None = None,
        table: str | None = None,
    ) -> dict[str, Any]:
        """Add a field (e.g. a ``formula`` with ``options={"formula": "..."}``); returns its
        schema JSON."""
        with self.state.lock:
            return self.state.add_field(self.table(table), name, field_type, options).schema()

    def add_base(self, name: str, base_id: str | None = None) -> str:
        """Add an empty base (Airtable lists it in ``GET /meta/bases``); returns its id."""
        with self.state.lock:
            return self.state.add_base(base_id or self.state.ids.new("app"), name).id

    def add_table(self, name: str, fields: list[FieldDef]) -> str:
        """Add a table to the base; returns its id."""
        with self.state.lock:
            return self.state.add_table(self.state.base(self.base_id), name, fields).id

    def add_view(
        self,
        name: str,
        formula: str | None = None,
        sort: list[str] | None = None,
        table: str | None = None,
        *,
        visible_fields: list[str] | None = None,
    ) -> str:
        """Add a view with an optional filter formula, sort (``["-Lead Score"]``) and visible
        fields."""
        with self.state.lock:
            t = self.table(table)
            return self.state.add_view(t, name, formula, sort, visible_fields).id

    def rename_base(self, name: str) -> None:
        """Name the base (``GET /meta/bases`` lists the name)."""
        with self.state.lock:
            self.state.rename_base(self.state.base(self.base_id), name)

    def setup(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply a setup document (see :mod:`leadcache.emulator.setup`); returns created ids."""
        with self.state.lock:
            return apply_setup(self, spec)

    # ------------------------------------------------------------------ controls

    def notifications(self, webhook_id: str) -> list[dict[str, Any]]:
        """Results of the notification pings sent for a webhook (``success``, ``error``,
        ``completionTimestamp``, ``durationMs``), oldest first."""
        with self.state.lock:
            return self.state.webhooks.deliveries(webhook_id)

    def expire_iterators(self) -> None:
        """Every open offset now answers 422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``."""
        with self.state.lock:
            self.state.listings.expire_all()

    def set_rate_limit(self, rate: int | None, penalty: float | None = None) -> None:
        """Change the per-base limit (None: off) and optionally the penalty seconds."""
        self.limiter.configure(rate, penalty)

    def count(
        self, method: str | None = None, endpoint: str | None = None, status: int | None = None
    ) -> int:
        """API requests served matching every given criterion (control requests excluded)."""
        return self.accounting.count(method, endpoint, status)

    def requests(self) -> list[RequestLog]:
        """Log of API requests (the most recent 100,000), oldest first."""
        return self.accounting.requests()

    def reset_counts(self) -> None:
        """Zero the counters and the request log."""
        self.accounting.reset()


@contextmanager
def running_emulator(**kwargs: Any) -> Iterator[Emulator]:
    """Run an :class:`Emulator` on a free loopback port for the ``with`` block.

    Args:
        **kwargs: :class:`Emulator` arguments (``seed``, ``token``, ``rate_limit``…).

    Example:
        >>> with running_emulator(seed=0) as emu:
        ...     emu.url.startswith("http://127.0.0.1:")
        True
    """
    emulator = Emulator(**kwargs).start()
    try:
        yield emulator
    finally:
        emulator.stop()
