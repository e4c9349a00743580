"""The answer the front door gives when the cache cannot answer: "ask Airtable".

:class:`Forward` says the cache cannot answer a request exactly as Airtable would (a view,
``cellFormat=string``, a field or function the cache does not know): the HTTP server sends the
request on to Airtable; the in-process API raises it as an error. Airtable's own error answers
(:class:`~leadcache.airtable_wire.errors.ApiError` and the functions building them) are shared
with the emulator, in :mod:`leadcache.airtable_wire.errors`.
"""

from __future__ import annotations

__all__ = ["Forward"]


class Forward(Exception):
    """The cache cannot answer this exactly; Airtable must.

    Attributes:
        reason: why, for logs and the in-process error message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
