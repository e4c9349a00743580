"""Every Airtable failure maps to one leadcache error, and none of them shows the token."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest

from leadcache.airtable import PyAirtableTable
from leadcache.emulator import running_emulator
from leadcache.errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableOffline,
    AirtableServerError,
    IteratorExpired,
    LeadCacheError,
    RateLimited,
    RecordRejected,
)
from leadcache.settings import Secret

from .conftest import TOKEN, free_port, new_table

MISSING = "recMISSING0000000"


def assert_no_token(exc: BaseException) -> None:
    """Neither the error, its chain, nor a printed traceback shows the token."""
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if isinstance(exc, AirtableError):
        texts.append(repr(exc.to_dict()))
    cause = exc.__cause__
    while cause is not None:
        texts += [str(cause), repr(cause), repr(vars(cause))]
        cause = cause.__cause__
    for text in texts:
        assert TOKEN not in text
        assert "Bearer" not in text


def raised(call: Callable[[], Any]) -> AirtableError:
    with pytest.raises(AirtableError) as info:
        call()
    assert_no_token(info.value)
    return info.value


def test_401_is_auth_error(ro_emu: Any) -> None:
    table = new_table(ro_emu, api_key=Secret("patWRONG"))
    err = raised(table.whoami)
    assert isinstance(err, AirtableAuthError)
    assert isinstance(err, PermissionError)
    assert err.status == 401
    assert err.error_type == "AUTHENTICATION_REQUIRED"
    assert "AIRTABLE_API_KEY" in str(err)  # the hint says what to check


def test_404_record_is_not_found(ro_table: PyAirtableTable) -> None:
    err = raised(lambda: ro_table.get(MISSING))
    assert isinstance(err, AirtableNotFound)
    assert isinstance(err, KeyError)
    assert err.status == 404
    assert err.record_id == MISSING
    assert MISSING in str(err)


def test_unknown_table_is_not_found(ro_emu: Any) -> None:
    table = new_table(ro_emu, table_name="No Such Table")
    err = raised(lambda: next(table.iter_pages()))
    assert isinstance(err, AirtableNotFound | AirtableAuthError)
    schema_err = raised(table.schema)
    assert isinstance(schema_err, AirtableNotFound)


def test_403_style_missing_record_is_confirmed_as_not_found() -> None:
    with running_emulator(seed=3, token=TOKEN, not_found_style="403") as emu:
        table = new_table(emu)
        err = raised(lambda: table.get(MISSING))
        assert isinstance(err, AirtableNotFound)
        assert err.record_id == MISSING
        existing = emu.records()[0]
        assert table.get(existing["id"]) == existing
        # And an idempotent delete copes with the same style.
        assert table.delete([MISSING, existing["id"]]) == [MISSING, existing["id"]]
        assert emu.get_record(existing["id"]) is None


def test_webhooks_not_allowed_is_auth_error() -> None:
    with running_emulator(seed=1, token=TOKEN, webhooks_allowed=False) as emu:
        table = new_table(emu)
        err = raised(
            lambda: table.create_webhook({"options": {"filters": {"dataTypes": ["tableData"]}}})
        )
        assert isinstance(err, AirtableAuthError)
        assert err.status == 403


def test_422_unknown_field_is_rejected(ro_table: PyAirtableTable) -> None:
    err = raised(lambda: ro_table.create([{"No Such Field": "x"}]))
    assert isinstance(err, RecordRejected)
    assert isinstance(err, ValueError)
    assert err.status == 422
    assert err.error_type == "UNKNOWN_FIELD_NAME"
    assert "No Such Field" in err.message


def test_422_update_of_missing_record_names_it(ro_table: PyAirtableTable) -> None:
    err = raised(lambda: ro_table.update([{"id": MISSING, "fields": {"Name": "x"}}]))
    assert isinstance(err, RecordRejected)
    assert err.error_type == "ROW_DOES_NOT_EXIST"
    assert err.record_id == MISSING


def test_422_bad_formula_is_rejected(ro_table: PyAirtableTable) -> None:
    err = raised(lambda: next(ro_table.iter_pages(formula="AND(")))
    assert isinstance(err, RecordRejected)
    assert err.error_type == "INVALID_FILTER_BY_FORMULA"


def test_expired_iterator(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    pages = ro_table.iter_pages(page_size=10)
    next(pages)
    ro_emu.expire_iterators()
    err = raised(lambda: next(pages))
    assert isinstance(err, IteratorExpired)
    assert not isinstance(err, RecordRejected)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_past_budget_is_server_error(ro_emu: Any, status: int) -> None:
    table = new_table(ro_emu, max_retries=1)
    ro_emu.faults.fail_next(count=2, status=status)
    err = raised(table.whoami)
    assert isinstance(err, AirtableServerError)
    assert err.status == status


def test_429_past_budget_is_rate_limited(ro_emu: Any) -> None:
    table = new_table(ro_emu, max_retries=0)
    ro_emu.faults.fail_next(count=1, status=429)
    err = raised(table.whoami)
    assert isinstance(err, RateLimited)
    assert err.hint


def test_offline_is_connection_error(ro_emu: Any) -> None:
    table = new_table(ro_emu, endpoint_url=f"http://127.0.0.1:{free_port()}")
    err = raised(lambda: table.get(MISSING))
    assert isinstance(err, AirtableOffline)
    assert isinstance(err, ConnectionError)
    assert err.record_id == MISSING
    assert err.to_dict()["kind"] == "AirtableOffline"


def test_lost_answer_is_offline(ro_emu: Any) -> None:
    table = new_table(ro_emu, max_retries=0)
    ro_emu.faults.lose_next_response(count=1)
    err = raised(table.whoami)
    assert isinstance(err, AirtableOffline)


def test_every_error_is_a_leadcache_error_and_no_requests_exception_escapes(emu: Any) -> None:
    table = new_table(emu, max_retries=0)
    emu.faults.configure(rates={429: 0.2, 503: 0.2}, drop_rate=0.2, lost_response_rate=0.2, seed=4)
    outcomes: set[str] = set()
    for _ in range(40):
        try:
            table.update([{"id": emu.records()[0]["id"], "fields": {"Notes": "x"}}])
            outcomes.add("ok")
        except LeadCacheError as exc:
            assert_no_token(exc)
            outcomes.add(type(exc).__name__)
    emu.faults.clear()
    assert {"ok", "RateLimited", "AirtableServerError", "AirtableOffline"} <= outcomes


def test_table_and_pacer_reprs_do_not_show_the_token(ro_table: PyAirtableTable) -> None:
    for text in (repr(ro_table), str(ro_table), repr(ro_table.policy), repr(ro_table.pacer)):
        assert TOKEN not in text


def test_unknown_base_bare_not_found_envelope(ro_emu: Any) -> None:
    # Airtable answers an unknown base with the bare envelope {"error": "NOT_FOUND"}.
    table = new_table(ro_emu, base_id="appUNKNOWN0000000")
    err = raised(lambda: next(table.iter_pages()))
    assert isinstance(err, AirtableNotFound)
    assert err.status == 404
    assert err.error_type == "NOT_FOUND"


def test_unknown_webhook_is_not_found(ro_table: PyAirtableTable) -> None:
    missing = "achMISSING0000000"
    for call in (
        lambda: ro_table.webhook_payloads(missing, cursor=1),
        lambda: ro_table.refresh_webhook(missing),
        lambda: ro_table.delete_webhook(missing),
    ):
        err = raised(call)
        assert isinstance(err, AirtableNotFound)
