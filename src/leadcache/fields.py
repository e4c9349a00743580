"""The mapping between lead keys and Airtable field names, and validation of cell values.

Agents may write either form: ``{"status": "enriched"}`` or ``{"Status": "enriched"}``.
Everything below the public API works in Airtable field names only, so a lead's ``fields`` dict,
the pending queue and the pushed payloads all speak Airtable's language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from .errors import ValidationError
from .types import LEAD_KEYS, CellValue, FieldName, Fields

__all__ = [
    "COMPUTED_FIELD_TYPES",
    "MAX_TEXT_CHARS",
    "FieldMap",
    "as_text",
    "check_cell_value",
    "check_text",
    "is_blank",
]

#: Airtable's limit for a long text cell ("up to 100,000 characters"); single line text is
#: shorter still. Checked locally so a write is refused at once instead of parked at push time.
MAX_TEXT_CHARS: Final = 100_000

#: Airtable field types whose values Airtable computes; writing them is a 422.
COMPUTED_FIELD_TYPES: Final = frozenset(
    {
        "autoNumber",
        "button",
        "count",
        "createdBy",
        "createdTime",
        "formula",
        "lastModifiedBy",
        "lastModifiedTime",
        "multipleLookupValues",
        "rollup",
        "aiText",
        "externalSyncSource",
    }
)

_TEXT_TYPES: Final = frozenset(
    {"singleLineText", "multilineText", "email", "url", "phoneNumber", "richText", "singleSelect"}
)
_NUMBER_TYPES: Final = frozenset({"number", "percent", "currency", "rating", "duration"})


def is_blank(value: CellValue) -> bool:
    """Whether a cell value is empty as Airtable sees it: it omits ``""``, ``[]`` and ``false``
    from records, so those and ``None`` all mean "a cleared field"."""
    return value is None or value is False or value in ("", [])


class FieldMap:
    """Lead key <-> Airtable field name.

    Args:
        mapping: lead key -> Airtable field name for the eight keys of ``LEAD_KEYS``.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        missing = [k for k in LEAD_KEYS if k not in mapping]
        if missing:
            raise ValueError(f"field map lacks lead keys {missing}")
        self.key_to_field: dict[str, FieldName] = {k: mapping[k] for k in LEAD_KEYS}
        self.field_to_key: dict[FieldName, str] = {v: k for k, v in self.key_to_field.items()}
        self.mapped_fields: tuple[FieldName, ...] = tuple(self.key_to_field.values())

    def to_airtable(self, updates: Mapping[str, Any]) -> Fields:
        """Rename lead keys to Airtable names; Airtable names pass through unchanged.

        Raises:
            ValidationError: a key is not a string, or one field is given under both names.
        """
        out: Fields = {}
        for key, value in updates.items():
            if not isinstance(key, str) or not key:
                raise ValidationError(f"field names must be non-empty strings, got {key!r}")
            check_text(f"the field name {key!r}", key)
            name = self.key_to_field.get(key, key)
            if name in out:
                raise ValidationError(
                    f"{name!r} is given twice (as {key!r} and under its other name)", field=key
                )
            out[name] = value
        return out

    def columns(self, fields: Mapping[FieldName, CellValue]) -> tuple[str | None, ...]:
        """The eight mapped column values of a record, as text, in ``LEAD_KEYS`` order."""
        # On every pulled record: plain strings (the usual case) skip the conversion call.
        return tuple(
            v if v is None or type(v) is str else as_text(v)
            for v in map(fields.get, self.mapped_fields)
        )


def as_text(value: CellValue) -> str | None:
    """A cell value as column text: lists joined, objects by their readable part."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(as_text(v)) for v in value)
    if isinstance(value, dict):
        # Collaborators, barcodes and error cells: their readable part.
        for key in ("name", "text", "email", "label", "error"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return None
    return str(value)


def check_cell_value(name: FieldName, value: CellValue, field_type: str | None) -> None:
    """Raise ValidationError unless ``value`` can be written to a field of ``field_type``.

    ``None`` always clears a field. An unknown type (``None``) accepts any JSON cell value.
    """
    if field_type in COMPUTED_FIELD_TYPES:
        raise ValidationError(
            f"{name!r} is computed by Airtable ({field_type}) and cannot be written", field=name
        )
    if value is None:
        return
    _check_json(name, value)
    if field_type is None:
        return
    ok = True
    if field_type in _TEXT_TYPES:
        ok = isinstance(value, str)
    elif field_type in _NUMBER_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif field_type == "checkbox":
        ok = isinstance(value, bool)
    elif field_type in ("multipleSelects", "multipleRecordLinks"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif field_type in ("date", "dateTime"):
        ok = isinstance(value, str | int)
    if not ok:
        raise ValidationError(
            f"{name!r} is a {field_type} field; {type(value).__name__} {value!r} does not fit",
            field=name,
        )


def check_text(what: str, text: str, *, field: FieldName | None = None) -> None:
    """Raise ValidationError unless ``text`` is valid Unicode within Airtable's text limit.

    A lone surrogate (what Python makes of invalid UTF-8 in ``argv`` or a file) cannot be
    stored by SQLite or sent as JSON; it would surface as a ``UnicodeEncodeError`` deep inside.

    Args:
        what: how the message names the text, e.g. ``"query"`` or ``"'Notes'"``.
        text: the string to check.
        field: the field concerned, recorded on the error.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"{what} is {len(text):,} characters; Airtable's long text limit is {MAX_TEXT_CHARS:,}",
            field=field,
            hint="shorten it, or store the text elsewhere and keep a link in the lead",
        )
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{what} is not valid Unicode text: lone surrogate U+{ord(text[exc.start]):04X} "
            f"at position {exc.start}",
            field=field,
            hint="pass UTF-8 text (invalid bytes in a shell argument end up like this)",
        ) from None


def _check_json(name: FieldName, value: CellValue, depth: int = 0) -> None:
    if depth > 8:
        raise ValidationError(f"{name!r}: value is nested too deeply", field=name)
    if isinstance(value, str):
        check_text(repr(name), value, field=name)
        return
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name!r}: {value!r} is not a finite number", field=name)
        return
    if isinstance(value, list):
        for item in value:
            _check_json(name, item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{name!r}: object keys must be strings", field=name)
            check_text(f"a key in {name!r}", key, field=name)
            _check_json(name, item, depth + 1)
        return
    raise ValidationError(
        f"{name!r}: {type(value).__name__} is not a JSON cell value (use str, number, bool, "
        "list or dict)",
        field=name,
    )
