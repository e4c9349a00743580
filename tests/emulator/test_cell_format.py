"""cellFormat=string with timeZone and userLocale, as the Airtable UI would show cells."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator

from .conftest import error_type

WHEN = "2024-03-01T23:30:00.000Z"


@pytest.fixture
def shaped(emu: Emulator, table: pyairtable.Table) -> str:
    emu.clock.set(datetime(2024, 3, 1, 12, tzinfo=UTC))
    emu.add_field("Meeting", "dateTime", {"timeZone": "client",
                  "dateFormat": {"name": "local", "format": "l"},
                  "timeFormat": {"name": "12hour", "format": "h:mma"}})  # fmt: skip
    emu.add_field("Due", "date", {"dateFormat": {"name": "friendly", "format": "LL"}})
    emu.add_field("Budget", "currency", {"precision": 2, "symbol": "€"})
    emu.add_field("Win rate", "percent", {"precision": 1})
    emu.add_field("Done", "checkbox")
    cells: dict[str, Any] = {
        "Name": "Str", "Meeting": WHEN, "Due": "2024-03-05", "Budget": 1234.5,
        "Win rate": 0.125, "Done": True, "Employees": 12, "Tags": ["saas", "warm"],
    }  # fmt: skip
    return str(table.create(cells)["id"])


def _fields(table: pyairtable.Table, rid: str, tz: str, locale: str) -> dict[str, Any]:
    rows = table.all(formula=f"RECORD_ID()='{rid}'", cell_format="string",
                     time_zone=tz, user_locale=locale)  # fmt: skip
    return dict(rows[0]["fields"])


def test_string_cells_follow_time_zone_and_locale(table: pyairtable.Table, shaped: str) -> None:
    paris = _fields(table, shaped, "Europe/Paris", "en-gb")
    assert paris["Meeting"] == "2/3/2024 12:30am"  # next day in Paris; day/month for en-gb
    new_york = _fields(table, shaped, "America/New_York", "en-us")
    assert new_york["Meeting"] == "3/1/2024 6:30pm"
    assert new_york["Due"] == "March 5, 2024"
    assert new_york["Budget"] == "€1,234.50"
    assert new_york["Win rate"] == "12.5%"
    assert new_york["Done"] == "checked"
    assert new_york["Employees"] == "12"
    assert new_york["Tags"] == "saas, warm"
    assert new_york["Created"] == "2024-03-01 12:00"  # a UTC field keeps UTC


def test_get_record_and_post_list_too(table: pyairtable.Table, emu: Emulator, shaped: str) -> None:
    got = requests.get(
        f"{emu.url}/v0/{emu.base_id}/Leads/{shaped}",
        params={"cellFormat": "string", "timeZone": "Asia/Tokyo", "userLocale": "ja"},
        headers={"Authorization": f"Bearer {emu.token}"}, timeout=10,
    ).json()  # fmt: skip
    assert got["fields"]["Meeting"] == "2024-03-02 8:30am"


@pytest.mark.parametrize("params", [{"timeZone": "Mars/Olympus", "userLocale": "en-us"},
                                    {"userLocale": "en-us"}])  # fmt: skip
def test_bad_or_missing_time_zone(emu: Emulator, table: pyairtable.Table,
                                  params: dict[str, str]) -> None:  # fmt: skip
    answer = requests.get(
        f"{emu.url}/v0/{emu.base_id}/Leads", params={"cellFormat": "string", **params},
        headers={"Authorization": f"Bearer {emu.token}"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "INVALID_REQUEST_UNKNOWN"


def test_links_show_the_primary_field(api: pyairtable.Api, emu: Emulator,
                                      table: pyairtable.Table) -> None:  # fmt: skip
    api.base(emu.base_id).create_table("Accounts", [{"name": "Account", "type": "singleLineText"}])
    accounts = api.table(emu.base_id, "Accounts")
    table.create_field("Account", "multipleRecordLinks", options={"linkedTableId": accounts.id})
    acme = accounts.create({"Account": "Acme Inc"})
    lead = table.create({"Name": "Linked", "Account": [acme["id"]]})
    assert _fields(table, lead["id"], "UTC", "en-us")["Account"] == "Acme Inc"
    assert _fields(accounts, acme["id"], "UTC", "en-us")["Leads"] == "Linked"
    with pytest.raises(requests.HTTPError) as info:
        table.all(cell_format="string")
    assert error_type(info.value) == "INVALID_REQUEST_UNKNOWN"
