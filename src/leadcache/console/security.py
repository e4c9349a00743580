"""Who may see the console and who may act in it.

- **Exposure**: bound to a loopback address, the console is open to local users (like the
  database file). Bound anywhere else it needs ``LEAD_CACHE_CONSOLE_TOKEN``; without one,
  :func:`check_exposure` refuses to start it.
- **Authentication** (when a token is set, wherever bound): ``Authorization: Bearer <token>``
  or HTTP basic auth with the token as the password (any user name), so a browser's own login
  prompt works. Compared in constant time; the token is never echoed or logged.
- **Host check** (loopback without a token): the ``Host`` header must name a loopback address
  or ``localhost``, so a web page whose domain resolves to 127.0.0.1 (DNS rebinding) is refused.
- **CSRF**: every POST carries a form field derived from a per-browser cookie (HMAC with a
  per-process secret, double-submit); a cross-site ``Origin`` is refused outright. The cookie is
  ``SameSite=Strict`` and ``HttpOnly``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..settings import Settings

__all__ = [
    "CSRF_COOKIE",
    "Guard",
    "check_exposure",
    "is_loopback",
]

CSRF_COOKIE = "leadcache_csrf"
#: Response headers on every console page: no framing, no sniffing, no referrer to other
#: sites, and scripts and styles only from the console itself.
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name a server binds to) is loopback only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve the console beyond loopback without a token.

    Raises:
        ConfigError: ``host`` is not loopback, the console is on and no token is set.
    """
    if settings.console != "on" or settings.console_token is not None or is_loopback(host):
        return
    raise ConfigError(
        "LEAD_CACHE_CONSOLE_TOKEN",
        f"is not set, and the console would be reachable beyond loopback on {host}",
        hint="set LEAD_CACHE_CONSOLE_TOKEN (a long random string), bind "
        "LEAD_CACHE_METRICS_HOST to 127.0.0.1, or set LEAD_CACHE_CONSOLE=off",
    )


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    """Authentication, host and CSRF checks for one running console.

    Args:
        token: the console token (``None``: loopback only, no login).
        secret: the key CSRF tokens are derived with (random per process by default).
    """

    def __init__(self, token: str | None, *, secret: bytes | None = None) -> None:
        self._token = token.encode() if token else None
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    @property
    def needs_login(self) -> bool:
        return self._token is not None

    # -- who ---------------------------------------------------------------------------------
    def authenticated(self, environ: dict[str, Any]) -> str | None:
        """The caller's name for the log (``"local"`` without a token), or None when the
        request must be refused with 401."""
        if self._token is None:
            return "local"
        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return "token" if self._same(value.encode()) else None
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, password = decoded.partition(":")
            if sep and self._same(password.encode()):
                return user or "basic"
        return None

    def _same(self, offered: bytes) -> bool:
        assert self._token is not None
        return hmac.compare_digest(
            hashlib.sha256(offered).digest(), hashlib.sha256(self._token).digest()
        )

    def host_allowed(self, environ: dict[str, Any]) -> bool:
        """Without a token, only requests addressed to a loopback name are served."""
        if self._token is not None:
            return True
        host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
        return is_loopback(_host_name(host))

    # -- CSRF --------------------------------------------------------------------------------
    @staticmethod
    def browser_id(environ: dict[str, Any]) -> str | None:
        """The value of the CSRF cookie, when the browser sent a well-formed one."""
        try:
            cookie = SimpleCookie(str(environ.get("HTTP_COOKIE", "")))
        except CookieError:
            return None
        morsel = cookie.get(CSRF_COOKIE)
        if morsel is None:
            return None
        value = morsel.value
        return value if len(value) == 32 and all(c in "0123456789abcdef" for c in value) else None

    @staticmethod
    def new_browser_id() -> str:
        return secrets.token_hex(16)

    @staticmethod
    def cookie_header(browser_id: str) -> tuple[str, str]:
        return (
            "Set-Cookie",
            f"{CSRF_COOKIE}={browser_id}; Path=/; HttpOnly; SameSite=Strict",
        )

    def csrf_token(self, browser_id: str) -> str:
        """The form field value that proves a POST came from a page we served."""
        return hmac.new(self._secret, browser_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, environ: dict[str, Any], submitted: str | None) -> bool:
        """Same-origin (when the browser says) and the field matches the cookie."""
        origin = str(environ.get("HTTP_ORIGIN", ""))
        if origin and origin != "null":
            host = str(environ.get("HTTP_HOST", ""))
            if urlsplit(origin).netloc.lower() != host.lower():
                return False
        browser = self.browser_id(environ)
        if browser is None or not submitted:
            return False
        # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
        expected = self.csrf_token(browser).encode()
        return hmac.compare_digest(expected, submitted.encode("utf-8", "surrogatepass"))
