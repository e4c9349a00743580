"""Shape a base from a JSON document: its name, extra tables and fields, and views.

The same document drives ``POST /__emulator__/setup`` and ``leadcache emulator --setup FILE``,
so a test suite in another language can build the base it needs without Python::

    {
      "base_name": "Sales pipeline",
      "tables": [{"name": "Accounts", "fields": [{"name": "Account", "type": "singleLineText"}]}],
      "fields": [{"table": "Leads", "name": "Priority", "type": "number"}],
      "views": [{"table": "Leads", "name": "Hot", "formula": "{Lead Score} >= 80",
                 "sort": ["-Lead Score"], "fields": ["Name", "Lead Score"]}]
    }

Every key is optional; ``table`` defaults to the emulator's main table. Airtable's own API has
no endpoint to create views or rename a base, which is why these live on the control surface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..airtable_wire.errors import invalid_request

if TYPE_CHECKING:
    from .emulator import Emulator
    from .state import FieldDef

__all__ = ["apply_setup", "view_from_json"]


def _list(spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = spec.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid_request(f"{key} must be a list of objects")
    return items


def _field_def(item: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    name, kind = item.get("name"), item.get("type")
    if not isinstance(name, str) or not isinstance(kind, str):
        raise invalid_request("A field needs a name and a type")
    options = item.get("options")
    return name, kind, options if isinstance(options, dict) else None


def view_from_json(emu: Emulator, item: dict[str, Any]) -> str:
    """Add one view ``{table?, name, formula?, sort?, fields?}``; returns its id."""
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_request("A view needs a name")
    sort = item.get("sort")
    fields = item.get("fields")
    if sort is not None and not (isinstance(sort, list) and all(isinstance(k, str) for k in sort)):
        raise invalid_request('sort must be a list of field names ("-Name" for descending)')
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(k, str) for k in fields)
    ):
        raise invalid_request("fields must be a list of field names")
    return emu.add_view(name, item.get("formula"), sort, item.get("table"), visible_fields=fields)


def apply_setup(emu: Emulator, spec: dict[str, Any]) -> dict[str, Any]:
    """Apply a setup document; returns the ids it created.

    Raises:
        ApiError: 422 with Airtable's error type for a bad field, formula or name.
    """
    if not isinstance(spec, dict):
        raise invalid_request("The setup document must be a JSON object")
    created: dict[str, Any] = {"tables": {}, "fields": {}, "views": {}}
    if spec.get("base_name") is not None:
        emu.rename_base(str(spec["base_name"]))
    for item in _list(spec, "tables"):
        fields: list[FieldDef] = [_field_def(f) for f in _list(item, "fields")]
        created["tables"][item.get("name")] = emu.add_table(str(item.get("name", "")), fields)
    for item in _list(spec, "fields"):
        name, kind, options = _field_def(item)
        created["fields"][name] = emu.add_field(name, kind, options, item.get("table"))["id"]
    for item in _list(spec, "views"):
        created["views"][item.get("name")] = view_from_json(emu, item)
    return created
