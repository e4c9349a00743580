"""``leadcache doctor``: settings, database integrity, connectivity, token permissions and
webhook health, each as one check with a verdict and a sentence.

It costs at most four API calls (whoami, schema, list webhooks) and changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..clock import format_ts
from ..errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableOffline,
    AirtableServerError,
    ConfigError,
    LeadCacheError,
    MissingExtra,
    RateLimited,
)
from ..settings import Settings
from ..store.meta import MetaKey
from ..store.sqlite_files import corrupt_marker, mark_corrupt
from ..sync.budget import Governor
from .sync_checks import base_check, rate_limit_check

__all__ = ["REQUIRED_SCOPES", "Check", "run_doctor"]

Verdict = Literal["ok", "warn", "fail", "skip"]

#: Scopes the sync engine uses, and why.
REQUIRED_SCOPES = {
    "data.records:read": "pull records",
    "data.records:write": "push changes",
    "schema.bases:read": "read field types and find the table",
}
OPTIONAL_SCOPES = {
    "schema.bases:write": "create the 'Lead Cache ID' key field once, if it is missing",
    "webhook:manage": "incremental pulls through webhooks (else a formula filter is used)",
}


@dataclass(frozen=True)
class Check:
    """One doctor check. ``problem`` names the failure class (offline, auth, config...)."""

    name: str
    verdict: Verdict
    detail: str
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _problem(exc: LeadCacheError) -> str:
    if isinstance(exc, AirtableOffline | AirtableServerError):
        return "offline"
    if isinstance(exc, RateLimited):
        return "rate-limited"
    if isinstance(exc, AirtableAuthError | AirtableNotFound | ConfigError | MissingExtra):
        return "config"
    return "error"


def _schema_problems(path: Path) -> list[str]:
    """The schema must be exactly leadcache's: a foreign trigger can eat queued changes."""
    from ..backup._files import connect_live_readonly
    from ..store.schema_check import schema_differences

    try:
        con = connect_live_readonly(path)
        try:
            found = schema_differences(con)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return [f"cannot read the schema: {exc}"]
    if not found:
        return []
    return [
        f"the schema is not exactly leadcache's: {'; '.join(found[:3])} "
        "(restore a good backup, or drop the foreign objects)"
    ]


def _database_check(settings: Settings) -> Check:
    from ..cache import LeadCache

    if settings.database_url is not None:
        return _pg_database_check(settings)
    path = settings.db_path
    if not path.exists():
        return Check("database", "warn", f"no database at {path} yet (`leadcache init`)")
    try:
        with LeadCache(settings=settings) as cache:
            problems = cache.store.integrity_check()
            version = cache.store.schema_version()
            leads = cache.store.count_leads()
            deleted = cache.store.count_leads(include_deleted=True) - leads
            read_only: str | None = getattr(cache.store, "_read_only", None)
    except LeadCacheError as exc:
        return Check("database", "fail", f"{path}: {exc}", "error")
    if problems:
        # Found damage: every process refuses writes from now on (store/sqlite_open.py).
        mark_corrupt(path, "; ".join(problems[:3]))
    marker = corrupt_marker(path)
    if marker.exists():
        problems.append(
            f"writes are refused since the damage was {marker.read_text().strip()} "
            "(`leadcache restore latest` after stopping the writers)"
        )
    problems += _schema_problems(path)
    if problems:
        return Check("database", "fail", f"{path}: {'; '.join(problems[:3])}", "error")
    # Counted as `status` and `verify` count them: live leads, then the deleted ones kept.
    counted = f"{leads} leads ({deleted} deleted)"
    if read_only is not None:
        return Check(
            "database",
            "warn",
            f"{path}: integrity ok, schema v{version}, {counted}; read-only for this user "
            f"(writes are refused: {read_only})",
        )
    return Check("database", "ok", f"{path}: integrity ok, schema v{version}, {counted}")


def _pg_database_check(settings: Settings) -> Check:
    """The PostgreSQL cache: reachable, migrated, integrity; the URL shown without password."""
    from ..cache import LeadCache

    assert settings.database_url is not None
    where = f"{settings.database_url.redacted} (schema {settings.pg_schema})"
    try:
        with LeadCache(settings=settings) as cache:
            problems = cache.store.integrity_check()
            version = cache.store.schema_version()
            leads = cache.store.count_leads()
            deleted = cache.store.count_leads(include_deleted=True) - leads
    except LeadCacheError as exc:  # unreachable, or psycopg not installed (config)
        return Check("database", "fail", f"{where}: {exc}", _problem(exc))
    if problems:
        return Check("database", "fail", f"{where}: {'; '.join(problems[:3])}", "error")
    counted = f"{leads} leads ({deleted} deleted)"
    return Check("database", "ok", f"{where}: integrity ok, schema v{version}, {counted}")


def _budget_check(settings: Settings) -> Check:
    """The billing cycle's calls against LEAD_CACHE_MONTHLY_CALL_BUDGET (a warning while
    the budget holds calls back: pushes wait for the cycle to turn)."""
    from ..cache import LeadCache

    if settings.database_url is None and not settings.db_path.exists():
        return Check("call budget", "skip", "no database yet")
    try:
        with LeadCache(settings=settings) as cache:
            snap = Governor(cache.store, settings, cache.clock).snapshot()
    except LeadCacheError as exc:
        return Check("call budget", "skip", f"cannot read the ledger: {exc}")
    cap = "no cap" if snap.budget is None else f"of {snap.budget}"
    detail = (
        f"{snap.used} calls {cap} this cycle (until {format_ts(snap.cycle_end)[:10]}), "
        f"projected {snap.projected}"
    )
    if snap.holding:
        return Check(
            "call budget",
            "warn",
            f"{detail}; holding {', '.join(snap.holding)} calls until the cycle turns "
            "(raise LEAD_CACHE_MONTHLY_CALL_BUDGET if the plan allows)",
            "budget",
        )
    if snap.budget is not None and snap.projected > snap.budget:
        return Check("call budget", "warn", f"{detail}: on course to run out early", "budget")
    return Check("call budget", "ok", detail)


def _webhook_check(settings: Settings, table: Any, scopes: list[str] | None) -> Check:
    if settings.incremental_mode == "formula":
        return Check("webhook", "skip", "incremental pulls use a formula filter (configured)")
    meta: dict[str, str] = {}
    if settings.db_path.exists():
        from ..cache import LeadCache

        with LeadCache(settings=settings) as cache:
            meta = cache.store.all_meta()
    hook_id = meta.get(MetaKey.WEBHOOK_ID)
    if not hook_id:
        return Check(
            "webhook", "ok", "no webhook yet; the first incremental pull creates one if allowed"
        )
    try:
        hooks = table.list_webhooks()
    except AirtableAuthError:
        return Check(
            "webhook",
            "warn",
            "cannot list webhooks (token lacks webhook:manage); "
            "incremental pulls fall back to a formula filter",
        )
    hook = next((h for h in hooks if h.id == hook_id), None)
    if hook is None:
        return Check(
            "webhook",
            "warn",
            f"webhook {hook_id} is gone; the next pull creates a new one "
            "after a full resync of changes",
        )
    if hook.is_hook_enabled is False:
        return Check("webhook", "fail", f"webhook {hook_id} was disabled by Airtable", "config")
    expires = hook.expiration_time
    if expires is not None:
        left = (expires - datetime.now(UTC)).total_seconds() / 86400
        if left < 1:
            return Check(
                "webhook",
                "warn",
                f"webhook {hook_id} expires in {left:.1f} days "
                "(each incremental pull refreshes it)",
            )
        return Check("webhook", "ok", f"webhook {hook_id} enabled, expires in {left:.1f} days")
    return Check("webhook", "ok", f"webhook {hook_id} enabled")


def run_doctor(environ: dict[str, str] | None = None, *, db_override: Any = None) -> list[Check]:
    """Run every check and return them in order. Never raises for a failed check.

    Args:
        environ: the environment to read settings from (``os.environ`` when None).
        db_override: a SQLite database path (``--db``) that replaces ``LEAD_CACHE_DB_PATH``
            and, as for every other command, ``LEAD_CACHE_DATABASE_URL``.
    """
    checks: list[Check] = []
    try:
        settings = Settings.from_env(environ)
        if db_override is not None:
            settings = settings.replace(db_path=Path(db_override), database_url=None)
    except ConfigError as exc:
        return [Check("settings", "fail", str(exc), "config")]
    missing = [
        name
        for name, value in (
            ("AIRTABLE_API_KEY", settings.api_key),
            ("AIRTABLE_BASE_ID", settings.base_id),
        )
        if value is None
    ]
    if missing:
        checks.append(Check("settings", "fail", f"{' and '.join(missing)} not set", "config"))
    else:
        checks.append(
            Check(
                "settings",
                "ok",
                f"base {settings.base_id}, table {settings.table_name!r}, "
                f"endpoint {settings.endpoint_url}, API key set",
            )
        )
    checks.append(_database_check(settings))
    checks.append(_budget_check(settings))
    checks.append(Check("base", *base_check(settings)))
    checks.append(Check("rate limit", *rate_limit_check(settings)))
    if missing:
        for name in ("connectivity", "permissions", "webhook"):
            checks.append(Check(name, "skip", "needs AIRTABLE_API_KEY and AIRTABLE_BASE_ID"))
        return checks

    from ..airtable import PyAirtableTable

    # Few retries: the doctor should answer in seconds, not wait out a long outage.
    table = PyAirtableTable.from_settings(settings, max_retries=1)
    scopes: list[str] | None = None
    try:
        who = table.whoami()
        scopes = who.get("scopes")
        checks.append(
            Check("connectivity", "ok", f"reached {settings.endpoint_url} as {who.get('id')}")
        )
    except LeadCacheError as exc:
        checks.append(Check("connectivity", "fail", str(exc), _problem(exc)))
        checks.append(Check("permissions", "skip", "Airtable not reachable"))
        checks.append(Check("webhook", "skip", "Airtable not reachable"))
        return checks

    try:
        schema = table.schema()
        lacking = [s for s in REQUIRED_SCOPES if scopes is not None and s not in scopes]
        if lacking:
            needs = "; ".join(f"{s} ({REQUIRED_SCOPES[s]})" for s in lacking)
            checks.append(Check("permissions", "fail", f"token lacks {needs}", "config"))
        else:
            key = settings.sync_key_field
            note = (
                f"key field {key!r} present"
                if key in schema.fields
                else f"key field {key!r} missing (created on first push; needs schema.bases:write)"
            )
            optional = [s for s in OPTIONAL_SCOPES if scopes is not None and s not in scopes]
            extra = f"; without {', '.join(optional)}" if optional else ""
            verdict: Verdict = "warn" if optional else "ok"
            checks.append(
                Check(
                    "permissions",
                    verdict,
                    f"table {schema.name!r} ({schema.id}) readable, "
                    f"{len(schema.fields)} fields, {note}{extra}",
                )
            )
    except AirtableError as exc:
        checks.append(Check("permissions", "fail", str(exc), _problem(exc)))
    try:
        checks.append(_webhook_check(settings, table, scopes))
    except LeadCacheError as exc:
        checks.append(Check("webhook", "fail", str(exc), _problem(exc)))
    return checks


def checks_json(checks: list[Check]) -> str:
    return json.dumps([c.to_dict() for c in checks])
