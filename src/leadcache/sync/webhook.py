"""The lifecycle of our poll-only webhook: created when allowed, refreshed before it expires,
recreated when gone. Its state lives in ``cache_meta``; every step returns a decision and the
puller decides what to pull (see :mod:`leadcache.sync.pull`).
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Callable
from datetime import datetime

from ..airtable.protocol import AirtableTable
from ..catalog import MetaAccess
from ..clock import format_ts
from ..errors import AirtableAuthError, AirtableNotFound, SyncError
from ..settings import Settings
from ..store.meta import MetaKey
from .incremental import WebhookChanges, needs_refresh, read_webhook_changes, webhook_spec

__all__ = ["PING_PATH", "WebhookFeed", "WebhookState", "notification_url"]

log = logging.getLogger("leadcache.sync")

_HOOK_KEYS = (
    MetaKey.WEBHOOK_ID,
    MetaKey.WEBHOOK_CURSOR,
    MetaKey.WEBHOOK_EXPIRES,
    MetaKey.WEBHOOK_NOTIFY_URL,
    MetaKey.WEBHOOK_MAC_SECRET,
)
#: Where pings arrive on ``serve``'s HTTP endpoint (appended to LEAD_CACHE_PUBLIC_URL).
PING_PATH = "/airtable/webhook"


def notification_url(settings: Settings) -> str | None:
    """The URL Airtable should ping, or None for a poll-only webhook."""
    return settings.public_url + PING_PATH if settings.public_url else None


class WebhookState(enum.Enum):
    """What :meth:`WebhookFeed.ensure` found or did."""

    READY = "ready"
    """A webhook exists and a full pull since its creation describes the table: read it."""
    NEEDS_BASELINE = "needs-baseline"
    """A webhook exists (maybe just created) but no full pull finished since: do one."""
    UNAVAILABLE = "unavailable"
    """The token may not use webhooks: incremental pulls use a formula from now on."""


class WebhookFeed:
    """Our webhook on the table, as recorded in ``cache_meta``.

    Args:
        airtable: the Airtable boundary.
        meta: the store's ``cache_meta``.
        settings: ``incremental_mode`` (an explicit ``webhook`` makes a refusal an error).
    """

    def __init__(self, airtable: AirtableTable, meta: MetaAccess, settings: Settings) -> None:
        self.airtable = airtable
        self.meta = meta
        self.settings = settings

    @property
    def hook_id(self) -> str | None:
        return self.meta.get_meta(MetaKey.WEBHOOK_ID)

    def ensure(self, table_id: Callable[[], str]) -> WebhookState:
        """Create our webhook if there is none.

        Raises:
            AirtableAuthError: webhooks are refused and ``LEAD_CACHE_INCREMENTAL=webhook``.
        """
        wanted = notification_url(self.settings)
        stale = (self.meta.get_meta(MetaKey.WEBHOOK_NOTIFY_URL) or None) != wanted
        # A restored backup has no MAC secret (backups strip it): its pings cannot be checked.
        unverifiable = wanted is not None and not self.meta.get_meta(MetaKey.WEBHOOK_MAC_SECRET)
        if self.hook_id and (stale or unverifiable):
            self._replace()
        if self.hook_id:
            if self.meta.get_meta(MetaKey.WEBHOOK_BASELINE_PENDING):
                return WebhookState.NEEDS_BASELINE
            return WebhookState.READY
        try:
            info = self.airtable.create_webhook(webhook_spec(table_id()), notification_url=wanted)
        except AirtableAuthError:
            if self.settings.incremental_mode == "webhook":
                raise
            log.info("webhooks are not allowed for this token; using LAST_MODIFIED_TIME()")
            self.meta.set_meta(MetaKey.WEBHOOKS, "unavailable")
            return WebhookState.UNAVAILABLE
        # Changes before the webhook existed are unknowable from it: until a full pull
        # completes, the change feed alone does not describe the table.
        self.meta.set_meta(MetaKey.WEBHOOK_BASELINE_PENDING, "1")
        self.meta.set_meta(MetaKey.WEBHOOK_ID, info.id)
        self.meta.set_meta(MetaKey.WEBHOOK_CURSOR, "1")
        self.meta.set_meta(MetaKey.WEBHOOK_NOTIFY_URL, wanted)
        self.meta.set_meta(MetaKey.WEBHOOK_MAC_SECRET, info.mac_secret_base64)
        self._set_expiry(info.expiration_time)
        return WebhookState.NEEDS_BASELINE

    def _replace(self) -> None:
        """The public URL changed (or appeared): a webhook's notification URL is fixed at
        creation, so delete ours; ``ensure`` makes a new one (and a baseline pull follows)."""
        hook_id = self.hook_id
        log.info("webhook %s pings the wrong address; replacing it", hook_id)
        if hook_id:
            with contextlib.suppress(AirtableNotFound):
                self.airtable.delete_webhook(hook_id)
        for key in _HOOK_KEYS:
            self.meta.set_meta(key, None)

    def baseline_done(self) -> None:
        """A full pull finished: the webhook's changes from now on are all we need."""
        self.meta.set_meta(MetaKey.WEBHOOK_BASELINE_PENDING, None)

    def forget(self) -> None:
        """The webhook is gone (expired, deleted): forget it, so the next ensure recreates it."""
        log.warning("webhook %s is gone; recreating it and pulling everything", self.hook_id)
        for key in _HOOK_KEYS:
            self.meta.set_meta(key, None)

    def read_changes(self, table_id: str, now: datetime) -> WebhookChanges:
        """Refresh the webhook if it expires soon, then read every payload since the cursor.

        Raises:
            AirtableNotFound: the webhook is gone.
        """
        hook_id = self.hook_id
        if hook_id is None:
            raise SyncError("no webhook to read changes from")
        if needs_refresh(self.meta.get_meta(MetaKey.WEBHOOK_EXPIRES), now):
            self._set_expiry(self.airtable.refresh_webhook(hook_id))
        cursor = int(self.meta.get_meta(MetaKey.WEBHOOK_CURSOR) or "1")
        return read_webhook_changes(self.airtable, hook_id, table_id, cursor)

    def advance(self, changes: WebhookChanges) -> None:
        """The changes were applied: the next read starts after them."""
        self.meta.set_meta(MetaKey.WEBHOOK_CURSOR, str(changes.cursor))

    def _set_expiry(self, expires: datetime | None) -> None:
        self.meta.set_meta(MetaKey.WEBHOOK_EXPIRES, format_ts(expires) if expires else None)
