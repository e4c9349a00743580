from __future__ import annotations

from tests.frontdoor.conftest import Door


def test_list_and_get_like_airtable(door: Door) -> None:
    table = door.table()
    direct = door.table(door.direct())
    assert table.all() == direct.all()
    first = direct.first()
    assert first is not None
    assert table.get(first["id"]) == first
    formula = "{Status}='scraped'"
    assert table.all(formula=formula) == direct.all(formula=formula)
