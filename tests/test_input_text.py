"""Text that cannot be stored or sent is refused with a ValidationError, nothing written.

Regressions for issue 8 "Clear errors, never tracebacks": lone surrogates (what Python makes of
invalid UTF-8 in ``argv``) in search/update/add raised ``UnicodeEncodeError``, and 10 MB strings
were accepted locally although Airtable's long text fields hold at most 100,000 characters, so
the change could only be rejected later, at push time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leadcache import LeadCache, ValidationError
from leadcache.fields import MAX_TEXT_CHARS, check_cell_value

from .conftest import remote

LONE = "caf\udce9"  # b"caf\xe9" (Latin-1) decoded from argv with surrogateescape


@pytest.fixture
def filled(cache: LeadCache) -> LeadCache:
    cache.store.upsert_remote([remote(i) for i in range(3)])
    return cache


def _snapshot(cache: LeadCache) -> tuple[object, ...]:
    return (cache.get_all_leads(include_deleted=True), cache.pending_changes())


def test_lone_surrogates_are_a_validation_error(filled: LeadCache) -> None:
    before = _snapshot(filled)
    lead = "rec00000000000001"
    with pytest.raises(ValidationError, match="query"):
        filled.search_leads(LONE)
    with pytest.raises(ValidationError) as caught:
        filled.update_lead(lead, {"name": LONE})
    assert caught.value.field == "Name"
    with pytest.raises(ValidationError):
        check_cell_value("Tags", ["ok", {"deep": LONE}], None)  # nested values too
    with pytest.raises(ValidationError):
        filled.add_lead({"name": "fine", "company": LONE})
    with pytest.raises(ValidationError):
        filled.add_lead({LONE: "a field name that is not text"})
    with pytest.raises(ValidationError, match="lead id"):
        filled.update_lead("rec\udcff", {"status": "new"})
    assert _snapshot(filled) == before


def test_strings_over_airtables_long_text_limit_are_refused(filled: LeadCache) -> None:
    before = _snapshot(filled)
    assert MAX_TEXT_CHARS == 100_000
    with pytest.raises(ValidationError, match="100,000") as caught:
        filled.update_lead("rec00000000000001", {"title": "x" * (10 * 1024 * 1024)})
    assert caught.value.field == "Title"
    with pytest.raises(ValidationError, match="Company"):
        filled.add_lead({"name": "ok", "company": "y" * (MAX_TEXT_CHARS + 1)})
    assert _snapshot(filled) == before
    filled.update_lead("rec00000000000001", {"title": "z" * MAX_TEXT_CHARS})  # the limit itself
    assert len(filled.pending_changes()) == 1


def test_invalid_utf8_on_the_command_line_is_a_clean_error(
    tmp_path: Path, cache: LeadCache
) -> None:
    cache.store.upsert_remote([remote(1)])
    cache.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE", "AIRTABLE"))}
    env["LEAD_CACHE_DB_PATH"] = str(cache.settings.db_path)
    bad = b"caf\xe9"
    runs = [
        [b"search", bad],
        [b"get", b"rec" + bad],
        [b"delete", b"rec" + bad],
        [b"update", b"rec00000000000001", b'{"name": "' + bad + b'"}'],
        [b"add", b'{"name": "' + bad + b'"}'],
    ]
    for args in runs:
        result = subprocess.run(
            [sys.executable.encode(), b"-m", b"leadcache", b"--json", *args],
            capture_output=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
        assert result.returncode == 2, (args, result.stderr)
        assert json.loads(result.stdout)["error"]["code"] == "bad-input"
