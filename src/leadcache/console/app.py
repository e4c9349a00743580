"""The console as a WSGI application: routing, requests, responses.

Reading pages are GETs and work without JavaScript; actions are POSTs that pass the
:class:`~leadcache.console.security.Guard` checks, call the library (see ``actions``) and
redirect back (post/redirect/get). Errors (another process holds the lease, a bad value) are
shown on the page with the status code they deserve; nothing changes then.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from ..cache import LeadCache
from ..errors import LeadCacheError, LeadNotFound, SyncBusy, ValidationError
from ..logs import log_event
from ..settings import Settings
from ..sync.manager import SyncFactory, SyncManager
from . import actions, data
from .render import Renderer
from .security import SECURITY_HEADERS, Guard

if TYPE_CHECKING:
    from ..service.loop import BackgroundSync

__all__ = ["Console"]

log = logging.getLogger("leadcache.console")

StartResponse = Callable[..., Any]
#: Seconds an action waits for the sync lease (a push or pull in progress) before giving up.
LEASE_WAIT = 5.0
#: Largest form body accepted (a long note edited in a conflict fits).
MAX_BODY = 2 * 1024 * 1024
PAGE_SIZE = 50
_STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript"}
_ACTION = re.compile(r"^/(queue|conflicts)/(\d{1,18})/(retry|drop|resolve)$")
_DONE_MESSAGES = {
    "retry": "Change {id} is pending again; it goes out with the next push.",
    "drop": "Change {id} was dropped.",
    "local": "Conflict {id} resolved: kept the local value (it goes out with the next push).",
    "airtable": "Conflict {id} resolved: kept Airtable's value.",
    "edit": "Conflict {id} resolved: your value goes out with the next push.",
}


@dataclass
class Request:
    environ: dict[str, Any]
    method: str
    path: str
    query: dict[str, list[str]]
    user: str

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default


class Response:
    def __init__(self, status: str, body: bytes = b"", content_type: str = "text/html") -> None:
        self.status = status
        self.body = body
        self.headers: list[tuple[str, str]] = [("Content-Type", content_type)]


class Console:
    """The operator console.

    Args:
        settings: the database, the Airtable settings (for actions) and the console token.
        loop: the running background sync, whose task failures the overview shows.
        budget: where the monthly API call budget comes from
            (LEAD_CACHE_MONTHLY_CALL_BUDGET by default).
        sync: the :class:`~leadcache.sync.manager.SyncFactory` of the caches the console opens
            (by default ``SyncManager.factory(lease_wait=LEASE_WAIT)``: the CLI's manager,
            waiting up to ``LEASE_WAIT`` s for the lease).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        loop: BackgroundSync | None = None,
        budget: data.BudgetSource = data.settings_budget,
        sync: SyncFactory | None = None,
    ) -> None:
        self.settings = settings
        self.loop = loop
        self.budget = budget
        self._sync = sync if sync is not None else SyncManager.factory(lease_wait=LEASE_WAIT)
        token = settings.console_token.reveal() if settings.console_token else None
        self.guard = Guard(token)
        self.renderer = Renderer()

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = self.handle(environ)
        headers = [*response.headers, *SECURITY_HEADERS]
        headers.append(("Content-Length", str(len(response.body))))
        start_response(response.status, headers)
        return [response.body]

    def handle(self, environ: dict[str, Any]) -> Response:
        path = str(environ.get("PATH_INFO") or "/")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if not self.guard.host_allowed(environ):
            return Response("421 Misdirected Request", b"unknown host\n", "text/plain")
        user = self.guard.authenticated(environ)
        if user is None:
            response = Response("401 Unauthorized", b"login required\n", "text/plain")
            response.headers.append(("WWW-Authenticate", 'Basic realm="leadcache console"'))
            return response
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        try:
            query = parse_qs(str(environ.get("QUERY_STRING", "")), max_num_fields=20)
        except ValueError:
            return Response("400 Bad Request", b"too many query fields\n", "text/plain")
        request = Request(environ, method, path, query, user)
        try:
            if method == "POST":
                return self._post(request)
            if method not in ("GET", "HEAD"):
                return Response("405 Method Not Allowed", b"method not allowed\n", "text/plain")
            return self._get(request)
        except LeadCacheError as exc:
            log.warning("console: cannot read the database: %s", exc)
            return self._page(request, "error.html", "503 Service Unavailable", error=exc)

    # -- reading -----------------------------------------------------------------------------
    def _get(self, request: Request) -> Response:
        path = request.path
        if path == "/":
            return self._overview(request)
        if path == "/queue":
            return self._queue(request)
        if path == "/conflicts":
            return self._conflicts(request)
        if path == "/leads":
            return self._leads(request)
        if path.startswith("/leads/"):
            return self._lead(request, path.removeprefix("/leads/"))
        return self._page(request, "error.html", "404 Not Found", missing=path)

    def _overview(self, request: Request, **extra: Any) -> Response:
        with self._cache() as cache:
            runs = cache.store.recent_sync_runs(limit=data.RUNS_SCANNED)
            health = data.health(cache, self.loop, runs=runs)
            calls = data.calls_by_day(cache, budget=self.budget)
        return self._page(request, "overview.html", health=health, calls=calls, **extra)

    def _queue(self, request: Request, status: str = "200 OK", **extra: Any) -> Response:
        with self._cache() as cache:
            queue = data.queue_rows(cache)
        return self._page(request, "queue.html", status, queue=queue, **extra)

    def _conflicts(self, request: Request, status: str = "200 OK", **extra: Any) -> Response:
        show_all = request.arg("all") == "1"
        with self._cache() as cache:
            rows = data.conflict_rows(cache, open_only=not show_all)
        return self._page(
            request, "conflicts.html", status, conflicts=rows, show_all=show_all, **extra
        )

    def _leads(self, request: Request) -> Response:
        q = request.arg("q").strip()[:200]
        try:
            offset = max(0, min(int(request.arg("offset", "0")), 10**9))
        except ValueError:
            offset = 0
        with self._cache() as cache:
            if q:
                found = cache.search_leads(q, limit=offset + PAGE_SIZE + 1)[offset:]
            else:
                found = cache.store.page_leads(offset=offset, limit=PAGE_SIZE + 1)
            total = None if q else cache.store.count_leads()
        more = len(found) > PAGE_SIZE
        nxt = "/leads?" + urlencode({"q": q, "offset": offset + PAGE_SIZE}) if more else None
        return self._page(
            request,
            "leads.html",
            leads=[lead for lead in found[:PAGE_SIZE] if not lead["deleted"]],
            q=q,
            offset=offset,
            total=total,
            next_url=nxt,
        )

    def _lead(self, request: Request, lead_id: str) -> Response:
        with self._cache() as cache:
            try:
                lead = cache.get_lead_by_id(lead_id)
            except LeadNotFound:
                return self._page(request, "error.html", "404 Not Found", missing=request.path)
            pending = [
                p
                for p in cache.pending_changes(states=("pending", "rejected", "held"))
                if p["lead_id"] == lead["id"]
            ]
            conflicts = [c for c in data.conflict_rows(cache) if c["lead_id"] == lead["id"]]
        return self._page(request, "lead.html", lead=lead, pending=pending, conflicts=conflicts)

    def _static(self, name: str) -> Response:
        if name not in _STATIC:
            return Response("404 Not Found", b"not found\n", "text/plain")
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        response = Response("200 OK", body, _STATIC[name])
        return response

    # -- acting ------------------------------------------------------------------------------
    def _post(self, request: Request) -> Response:
        form = _read_form(request.environ)
        if form is None:
            return Response("413 Content Too Large", b"form too large\n", "text/plain")
        if not self.guard.csrf_ok(request.environ, form.get("csrf")):
            log_event(log, logging.WARNING, "console: refused a POST (CSRF)", path=request.path)
            return Response(
                "403 Forbidden", b"refused: reload the page and try again\n", "text/plain"
            )
        match = _ACTION.match(request.path)
        if match is None:
            return Response("404 Not Found", b"not found\n", "text/plain")
        kind, ident, verb = match.group(1), int(match.group(2)), match.group(3)
        again = self._queue if kind == "queue" else self._conflicts
        done = verb if kind == "queue" else form.get("keep", "")
        try:
            with self._cache() as cache:
                sync = cache.sync
                if verb == "retry":
                    actions.retry(sync, ident, user=request.user)
                elif verb == "drop":
                    actions.drop(sync, ident, user=request.user)
                else:
                    actions.resolve(
                        cache, sync, ident, done, user=request.user, value=form.get("value")
                    )
        except LeadCacheError as exc:
            log_event(
                log,
                logging.WARNING,
                f"console: {verb} refused",
                error=type(exc).__name__,
                message=str(exc),
                id=ident,
                user=request.user,
            )
            if isinstance(exc, SyncBusy):
                status = "409 Conflict"
            elif isinstance(exc, ValidationError):
                status = "400 Bad Request"
            else:  # e.g. the Airtable settings are missing, the database is locked
                status = "503 Service Unavailable"
            return again(request, status, error=exc)
        target = f"/{kind}?" + urlencode({"done": done, "id": ident})
        response = Response("303 See Other", b"", "text/plain")
        response.headers.append(("Location", target))
        return response

    # -- helpers -----------------------------------------------------------------------------
    @contextmanager
    def _cache(self) -> Iterator[LeadCache]:
        cache = LeadCache(settings=self.settings, sync=self._sync)
        try:
            yield cache
        finally:
            cache.close()

    def _page(
        self, request: Request, template: str, status: str = "200 OK", **context: Any
    ) -> Response:
        browser = self.guard.browser_id(request.environ)
        fresh = browser is None
        if browser is None:
            browser = self.guard.new_browser_id()
        done = request.arg("done")
        notice = None
        if done in _DONE_MESSAGES and request.arg("id").isdigit():
            notice = _DONE_MESSAGES[done].format(id=int(request.arg("id")))
        body = self.renderer.render(
            template,
            path=request.path,
            csrf=self.guard.csrf_token(browser),
            user=request.user,
            notice=notice,
            **context,
        )
        response = Response(status, body.encode("utf-8"), "text/html; charset=utf-8")
        if fresh:
            response.headers.append(self.guard.cookie_header(browser))
        return response


def _read_form(environ: dict[str, Any]) -> dict[str, str] | None:
    """The url-encoded form of a POST (first value of each field), None when too large or
    with too many fields."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:
        return None
    return {k: v[0] for k, v in fields.items()}
