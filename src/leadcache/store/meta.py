"""Every ``cache_meta`` key, in one enum.

``cache_meta`` is a small key/value table (the design sketch names ``last_full_sync``,
``last_incremental_sync`` and ``total_leads``); the sync engine keeps its cursors and the
table's schema there too. Keys are :class:`MetaKey` members everywhere in the code; being a
``StrEnum``, a member *is* its string, so ``store.get_meta(MetaKey.TABLE_ID)`` and the stored
text agree across versions and backends.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MetaKey"]


class MetaKey(StrEnum):
    """The keys of ``cache_meta``, grouped by the part of the code that writes them."""

    # -- the design sketch's keys (written by every sync run) --------------------------------
    LAST_FULL_SYNC = "last_full_sync"
    """When the last full pull finished (ISO timestamp)."""
    LAST_INCREMENTAL_SYNC = "last_incremental_sync"
    """When the last incremental pull finished."""
    TOTAL_LEADS = "total_leads"
    """Live leads after the last successful run."""

    # -- run accounting ------------------------------------------------------------------
    API_CALLS_TOTAL = "api_calls_total"
    """Airtable calls made by every run of every process (a running total)."""
    LAST_PUSH = "last_push"
    """When the last push finished."""
    LAST_SWEEP = "last_sweep"
    """When the last deletion sweep (or full pull) finished."""
    LAST_BACKUP = "last_backup"
    """When the background service last took a backup (``serve --once`` schedules by it)."""

    # -- the table's schema (the field catalog) ------------------------------------------
    TABLE_ID = "table_id"
    """Airtable's table id; ``""`` when the token may not read the schema."""
    FIELD_TYPES = "field_types"
    """JSON: field name -> Airtable type (null when only seen in data)."""
    FIELD_IDS = "field_ids"
    """JSON: field id -> field name (webhook payloads key values by field id)."""
    KEY_FIELD_READY = "key_field_ready"
    """The name of the key field once it is known to exist in Airtable."""

    # -- incremental pulls ---------------------------------------------------------------
    INCREMENTAL_CURSOR = "incremental_cursor"
    """Formula mode: when the last pull started (the next one looks back from there)."""
    WEBHOOKS = "webhooks"
    """``unavailable`` once the token was refused webhooks (formula mode from then on)."""
    WEBHOOK_ID = "webhook_id"
    """Our poll-only webhook's id."""
    WEBHOOK_CURSOR = "webhook_cursor"
    """The next payload to read from it."""
    WEBHOOK_EXPIRES = "webhook_expires"
    """When it expires unless refreshed."""
    WEBHOOK_BASELINE_PENDING = "webhook_baseline_pending"
    """Set while the full pull that must follow a (re)created webhook has not finished."""
    WEBHOOK_NOTIFY_URL = "webhook_notification_url"
    """Where our webhook sends notification pings (empty: a poll-only webhook)."""
    WEBHOOK_MAC_SECRET = "secret.webhook_mac"
    """The webhook's ``macSecretBase64``: verifies pings. A ``secret.`` key: ``all_meta``
    never returns it and backups strip it."""

    # -- store internals -----------------------------------------------------------------
    FTS_REBUILD_PENDING = "fts_rebuild_pending"
    """SQLite: a bulk load dropped the search triggers and has not rebuilt them yet."""
