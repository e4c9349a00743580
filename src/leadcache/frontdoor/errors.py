"""The answer the front door gives when the cache cannot answer: "ask Airtable".

:class:`Forward` says the cache cannot answer a request exactly as Airtable would (a view,
``cellFormat=string``, a field or function the cache does not know): the HTTP server sends the
request on to Airtable; the in-process API raises it as an error. Airtable's own error answers
(:class:`~leadcache.airtable_wire.errors.ApiError` and the functions building them) are shared
with the emulator, in :mod:`leadcache.airtable_wire.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Forward"]


class Forward(Exception):
    """The cache cannot answer this exactly; Airtable must.

    Attributes:
        reason: why, for logs and the in-process error message.
        write: a write of the cached table (a typecast conversion): Airtable's answer holds
            whole records, which the cache stores at once.
        ids: for such a write, the record ids the client sent mapped to the ids Airtable
            knows (a lead created through the front door is addressed by its ``loc_…`` id).
    """

    def __init__(
        self, reason: str, *, write: bool = False, ids: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.write = write
        self.ids: Mapping[str, str] = ids or {}

    def airtable_records(self, records: list[Any]) -> list[Any]:
        """A write's ``records`` with the client's ids replaced by Airtable's (see ``ids``)."""
        return [
            {**r, "id": self.ids[r["id"]]}
            if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"] in self.ids
            else r
            for r in records
        ]
