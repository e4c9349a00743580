"""The library never writes log lines to an agent's stderr on its own (issue 8, clear errors).

Python's "last resort" handler prints WARNING and above to stderr when a logger has no handler
anywhere up its tree. An agent that imports leadcache and calls it must not get our log lines
mixed into its own output: the ``leadcache`` logger carries a ``NullHandler``; the CLI and
``serve`` configure real handlers themselves (``configure_logging``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

AGENT = textwrap.dedent(
    """
    import sys
    from leadcache import LeadCache, Settings
    from leadcache.errors import LeadCacheError

    settings = Settings.from_env({
        "LEAD_CACHE_DB_PATH": sys.argv[1],
        "AIRTABLE_API_KEY": "patAGENT.test",
        "AIRTABLE_BASE_ID": "appAGENT000000000",
        "AIRTABLE_ENDPOINT_URL": sys.argv[2],
        "LEAD_CACHE_MAX_RETRIES": "0",
        "LEAD_CACHE_REQUEST_TIMEOUT": "2",
        "LEAD_CACHE_RATE_LIMIT": "0",
    })
    with LeadCache(settings=settings) as cache:
        cache.add_lead({"name": "Agent lead"})
        try:
            cache.sync_pending_changes()  # Airtable is unreachable: the run fails
        except LeadCacheError as exc:
            print("caught", type(exc).__name__)
    """
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_failed_sync_in_an_agent_writes_nothing_to_stderr(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = subprocess.run(
        [sys.executable, "-c", AGENT, str(tmp_path / "leads.db"), url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("caught "), result.stdout
    assert result.stderr == ""


def test_the_leadcache_logger_has_a_null_handler() -> None:
    code = (
        "import logging, leadcache; "
        "print(any(isinstance(h, logging.NullHandler) "
        "for h in logging.getLogger('leadcache').handlers))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "True"
