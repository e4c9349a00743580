"""SyncManager (being built)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cache import LeadCache


class SyncManager:
    @classmethod
    def from_cache(cls, cache: LeadCache) -> SyncManager:
        raise NotImplementedError

    def refresh(self) -> dict[str, Any]:
        raise NotImplementedError

    def push_to_airtable(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        pass
