"""Reading and changing leads: ``init``, ``get``, ``list``, ``search``, ``add``, ``update``,
``delete``. None of these touches the network; writes are queued for the next push."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..store.factory import describe_backend
from ..types import Lead
from .context import Env, common_options, parse_json_object, pass_env
from .output import emit, render_pairs, render_table

__all__ = ["COMMANDS"]

LEAD_COLUMNS = (
    ("id", "id"),
    ("name", "name"),
    ("company", "company"),
    ("email", "email"),
    ("status", "status"),
)


def _print_leads(env: Env, leads: Sequence[Lead], *, total: int | None = None) -> None:
    def table() -> str:
        if not leads:
            return "no leads"
        shown = f"{len(leads)} lead{'s' if len(leads) != 1 else ''}"
        more = f" of {total}" if total is not None and total > len(leads) else ""
        text = render_table([dict(lead) for lead in leads], LEAD_COLUMNS, max_width=32)
        return f"{text}\n{shown}{more}"

    emit(env, [dict(lead) for lead in leads], table)


@click.command("init")
@common_options
@pass_env
def init_cmd(env: Env) -> None:
    """Create the cache database (idempotent) and say what to do next.

    \b
    Example:
      leadcache --db data/leads_cache.db init
    """
    with env.open_cache(create=True) as cache:
        data = {
            "database": describe_backend(cache.settings),
            "schema_version": cache.store.schema_version(),
            "leads": cache.store.count_leads(),
            "airtable_configured": cache.settings.api_key is not None
            and cache.settings.base_id is not None,
        }

    def human() -> str:
        lines = [f"cache database ready at {data['database']} ({data['leads']} leads)"]
        if env.quiet:
            pass
        elif not data["airtable_configured"]:
            lines.append(
                "next: set AIRTABLE_API_KEY and AIRTABLE_BASE_ID, then run `leadcache pull`"
            )
        else:
            lines.append("next: `leadcache pull` loads every lead (one request per 100 records)")
        return "\n".join(lines)

    emit(env, data, human)


@click.command("get")
@click.argument("lead_id")
@common_options
@pass_env
def get_cmd(env: Env, lead_id: str) -> None:
    """Show one lead by Airtable record id or local id (loc_…).

    Unknown ids exit 2.

    \b
    Example:
      leadcache get recA1b2C3d4E5f6G7 --json
    """
    with env.open_cache() as cache:
        lead = cache.get_lead_by_id(lead_id)

    def human() -> str:
        pairs: list[tuple[str, Any]] = [("id", lead["id"])]
        pairs += [(name, value) for name, value in sorted(lead["fields"].items())]
        pairs += [("last_updated", lead["last_updated"]), ("deleted", lead["deleted"])]
        return render_pairs(pairs)

    emit(env, dict(lead), human)


@click.command("list")
@click.option("--status", default=None, help="Only leads with exactly this status.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=0), help="0: all.")
@click.option("--include-deleted", is_flag=True, help="Also list deleted leads.")
@common_options
@pass_env
def list_cmd(env: Env, status: str | None, limit: int, include_deleted: bool) -> None:
    """List cached leads, optionally of one status (no API call).

    \b
    Example:
      leadcache list --status scraped --limit 20
    """
    with env.open_cache() as cache:
        if status is not None:
            leads = cache.get_leads_by_status(status)
        else:
            leads = cache.get_all_leads(include_deleted=include_deleted)
    total = len(leads)
    _print_leads(env, leads[:limit] if limit else leads, total=total)


@click.command("search")
@click.argument("query")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Most matches shown."
)
@common_options
@pass_env
def search_cmd(env: Env, query: str, limit: int) -> None:
    """Find leads whose name, company or email contains QUERY (case-insensitive).

    \b
    Example:
      leadcache search "acme" --limit 5
    """
    with env.open_cache() as cache:
        leads = cache.search_leads(query, limit=limit)
    _print_leads(env, leads)


@click.command("add")
@click.argument("fields_json", metavar="JSON")
@common_options
@pass_env
def add_cmd(env: Env, fields_json: str) -> None:
    """Add a lead from a JSON object; it is created in Airtable on the next push.

    JSON is the object itself, - to read it from stdin, or @PATH to read it from a file
    (for values too long for the command line).

    Keys are lead keys (name, company, email, status, title, linkedin_url, website,
    location) or Airtable field names. Prints the new local id (loc_…). Malformed JSON or
    an unknown field exits 2 and writes nothing.

    \b
    Example:
      leadcache add '{"name": "Ada Lovelace", "company": "Engines Ltd", "status": "new"}'
    """
    data = parse_json_object(env, fields_json, "the field values")
    with env.open_cache() as cache:
        lead_id = cache.add_lead(data)
    emit(
        env,
        {"id": lead_id, "queued": True},
        lambda: f"added {lead_id} (queued for Airtable; run `leadcache push` or `sync`)",
    )


@click.command("update")
@click.argument("lead_id")
@click.argument("fields_json", metavar="JSON")
@common_options
@pass_env
def update_cmd(env: Env, lead_id: str, fields_json: str) -> None:
    """Change fields of a lead from a JSON object; queued for the next push.

    JSON is the object itself, - to read it from stdin, or @PATH to read it from a file.
    null or "" clears a field. Unknown ids, unknown fields and malformed JSON exit 2 and
    change nothing.

    \b
    Example:
      leadcache update recA1b2C3d4E5f6G7 '{"status": "enriched", "title": "CTO"}'
      jq -n --rawfile n notes.txt '{Notes: $n}' | leadcache update recA1b2C3d4E5f6G7 -
    """
    data = parse_json_object(env, fields_json, "the field values")
    with env.open_cache() as cache:
        cache.update_lead(lead_id, data)
        pending = len(cache.store.pending_for(lead_id, states=("pending",)))
    emit(
        env,
        {"id": lead_id, "queued": True, "pending_changes": pending},
        lambda: f"updated {lead_id} ({pending} change(s) waiting for the next push)",
    )


@click.command("delete")
@click.argument("lead_id")
@common_options
@pass_env
def delete_cmd(env: Env, lead_id: str) -> None:
    """Delete a lead: it stays readable as deleted and is deleted in Airtable on the next
    push.

    \b
    Example:
      leadcache delete recA1b2C3d4E5f6G7
    """
    with env.open_cache() as cache:
        cache.delete_lead(lead_id)
    emit(
        env,
        {"id": lead_id, "deleted": True, "queued": True},
        lambda: f"deleted {lead_id} (queued for Airtable)",
    )


COMMANDS = (init_cmd, get_cmd, list_cmd, search_cmd, add_cmd, update_cmd, delete_cmd)
