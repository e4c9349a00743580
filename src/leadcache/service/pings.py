"""Airtable's webhook notification pings: verified, de-duplicated, coalesced into pulls.

When ``LEAD_CACHE_PUBLIC_URL`` is set, our webhook is created with the notification URL
``{LEAD_CACHE_PUBLIC_URL}/airtable/webhook`` on ``serve``'s HTTP endpoint. Airtable then POSTs
``{"base": {"id"}, "webhook": {"id"}, "timestamp"}`` whenever the table changes, signed with
``X-Airtable-Content-MAC: hmac-sha256=<hex>``: the HMAC-SHA256 of the raw body keyed with the
base64-*decoded* ``macSecretBase64`` Airtable returned when the webhook was made
(airtable-api.md §13, §19).

A ping is only a nudge ("something changed, list the payloads"), so this receiver:

* answers 401 and does nothing for a body without a valid MAC for *our* webhook (forged,
  malformed, or for a webhook we no longer use);
* answers 200 and does nothing for a ping it has already seen (delivery is at least once; a
  replayed ping costs nothing) or one older than an hour;
* otherwise answers 200 and calls ``on_change()``, which only sets a flag: the sync loop runs
  one incremental pull at a time, so a flood of pings becomes one pull (plus one more if pings
  arrived while it ran).

The MAC secret lives in ``cache_meta`` under a ``secret.`` key, which ``all_meta`` never
returns and backups strip; it is never logged or printed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Final

from ..clock import SYSTEM_CLOCK, Clock, parse_ts
from ..store.base import CoordinationStore
from ..store.meta import MetaKey
from ..sync.webhook import PING_PATH

__all__ = ["PING_PATH", "PingReceiver", "sign"]

log = logging.getLogger("leadcache.service")

#: Pings larger than this are not pings.
MAX_PING_BYTES: Final = 16 * 1024
#: Pings older than this are ignored (answered 200: Airtable must not retry them).
MAX_PING_AGE: Final = timedelta(hours=1)
#: How many recent pings are remembered to drop repeats.
_SEEN_KEPT: Final = 1024


def sign(secret_base64: str, body: bytes) -> str:
    """The ``X-Airtable-Content-MAC`` value Airtable sends for ``body``."""
    key = base64.b64decode(secret_base64)
    return "hmac-sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class PingReceiver:
    """Checks pings and turns the good ones into a pull request.

    Args:
        meta: where our webhook id and its MAC secret are stored.
        base_id: our base (a ping for another base is refused).
        on_change: called (quickly, from the HTTP thread) for each new, valid ping.
        clock: for the ping's age.
    """

    def __init__(
        self,
        meta: CoordinationStore,
        base_id: str,
        on_change: Callable[[], None],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._meta = meta
        self._base_id = base_id
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.accepted = 0
        self.refused = 0
        self.repeats = 0

    def handle(self, body: bytes, mac_header: str | None) -> int:
        """Check one ping; returns the HTTP status to answer with."""
        status = self._check(body, mac_header)
        with self._lock:
            if status == 401:
                self.refused += 1
        return status

    def _check(self, body: bytes, mac_header: str | None) -> int:
        if len(body) > MAX_PING_BYTES or not mac_header:
            return 401
        hook_id = self._meta.get_meta(MetaKey.WEBHOOK_ID)
        secret = self._meta.get_meta(MetaKey.WEBHOOK_MAC_SECRET)
        if not hook_id or not secret:
            return 401
        try:
            expected = sign(secret, body)
        except (binascii.Error, ValueError):
            log.error("the stored webhook MAC secret is not base64; pings cannot be verified")
            return 401
        if not hmac.compare_digest(expected.encode(), mac_header.strip().encode()):
            return 401
        try:
            ping = json.loads(body)
            base = ping["base"]["id"]
            hook = ping["webhook"]["id"]
            stamp = str(ping["timestamp"])
            moment = parse_ts(stamp)
        except (ValueError, KeyError, TypeError):
            return 401
        if base != self._base_id or hook != hook_id:
            return 401
        if self._clock.now() - moment > MAX_PING_AGE:
            with self._lock:
                self.repeats += 1
            return 200
        with self._lock:
            key = (hook, stamp)
            if key in self._seen:
                self.repeats += 1
                return 200
            self._seen[key] = None
            while len(self._seen) > _SEEN_KEPT:
                self._seen.popitem(last=False)
            self.accepted += 1
        self._on_change()
        return 200
