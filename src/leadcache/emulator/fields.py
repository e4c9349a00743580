"""Field definitions: types, schema JSON pyairtable parses, and value validation on write.

Stored cell values are already in Airtable's JSON read format (dates as strings, selects as
choice names), so a read is a dictionary copy. Empty values (``""``, ``[]``, ``false``, ``null``)
are never stored: Airtable omits them from ``fields`` [airtable-api.md §3].
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..airtable_wire.errors import ApiError
from .clock import format_date, format_datetime, parse_datetime
from .ids import IdFactory

__all__ = [
    "COMPUTED_TYPES",
    "FieldSpec",
    "coerce_value",
    "default_options",
    "is_empty",
]

TEXT_TYPES = frozenset(
    {"singleLineText", "multilineText", "email", "url", "phoneNumber", "richText", "barcode"}
)
NUMBER_TYPES = frozenset({"number", "percent", "currency", "rating", "duration"})
DATE_TYPES = frozenset({"date", "dateTime", "createdTime", "lastModifiedTime"})
COMPUTED_TYPES = frozenset({
    "createdTime", "lastModifiedTime", "autoNumber", "formula", "createdBy", "lastModifiedBy",
    "multipleLookupValues", "rollup", "count", "button",
})  # fmt: skip
WRITABLE_TYPES = (
    TEXT_TYPES
    | NUMBER_TYPES
    | {
        "checkbox",
        "date",
        "dateTime",
        "singleSelect",
        "multipleSelects",
        "multipleRecordLinks",
        "singleCollaborator",
        "multipleCollaborators",
        "multipleAttachments",
    }
)
SUPPORTED_TYPES = WRITABLE_TYPES | COMPUTED_TYPES

_SELECT_COLORS = (
    "blueLight2",
    "cyanLight2",
    "tealLight2",
    "greenLight2",
    "yellowLight2",
    "orangeLight2",
    "redLight2",
    "pinkLight2",
    "purpleLight2",
    "grayLight2",
)
_DATE_FORMAT = {"name": "iso", "format": "YYYY-MM-DD"}
_DATETIME_OPTIONS = {
    "timeZone": "utc",
    "dateFormat": _DATE_FORMAT,
    "timeFormat": {"name": "24hour", "format": "HH:mm"},
}


def is_empty(value: Any) -> bool:
    """Airtable omits ``""``, ``[]``, ``false`` and ``null`` from ``fields`` (but keeps ``0``)."""
    return value is None or value is False or value in ("", [])


def default_options(field_type: str, ids: IdFactory) -> dict[str, Any] | None:
    """Options pyairtable's schema models require for ``field_type`` [airtable-api.md §11]."""
    if field_type in ("number", "percent"):
        return {"precision": 0 if field_type == "number" else 1}
    if field_type == "currency":
        return {"precision": 2, "symbol": "$"}
    if field_type == "rating":
        return {"color": "yellowBright", "icon": "star", "max": 5}
    if field_type == "duration":
        return {"durationFormat": "h:mm"}
    if field_type == "checkbox":
        return {"color": "greenBright", "icon": "check"}
    if field_type == "date":
        return {"dateFormat": dict(_DATE_FORMAT)}
    if field_type == "dateTime":
        return json.loads(json.dumps(_DATETIME_OPTIONS))  # type: ignore[no-any-return]
    if field_type in ("singleSelect", "multipleSelects"):
        return {"choices": []}
    if field_type in ("createdTime", "lastModifiedTime"):
        result = {"type": "dateTime", "options": json.loads(json.dumps(_DATETIME_OPTIONS))}
        if field_type == "createdTime":
            return {"result": result}
        return {"isValid": True, "referencedFieldIds": [], "result": result}
    if field_type == "multipleRecordLinks":
        return {"linkedTableId": "", "isReversed": False, "prefersSingleRecordLink": False}
    if field_type == "multipleAttachments":
        return {"isReversed": False}
    if field_type in ("count", "multipleLookupValues", "rollup"):
        return {"isValid": True}
    if field_type == "autoNumber":
        return None
    if field_type == "formula":
        return {
            "formula": "",
            "isValid": True,
            "referencedFieldIds": [],
            "result": {"type": "singleLineText"},
        }
    return None


@dataclass(slots=True)
class FieldSpec:
    """One field of a table.

    Attributes:
        id: ``fld…`` id.
        name: the field name (exact-match, case-sensitive like pyairtable).
        type: Airtable field type.
        options: schema options, as the Meta API returns them.
        description: optional description.
    """

    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None
    description: str | None = None
    compiled: Any = field(default=None, repr=False)

    @property
    def computed(self) -> bool:
        """True for fields Airtable computes; writing them is a 422."""
        return self.type in COMPUTED_TYPES

    def schema(self) -> dict[str, Any]:
        """The field as ``GET /meta/bases/{base}/tables`` returns it."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.options is not None:
            out["options"] = self.options
        return out

    def choice_names(self) -> list[str]:
        """Names of a select field's choices."""
        return [c["name"] for c in (self.options or {}).get("choices", [])]

    def add_choice(self, name: str, ids: IdFactory) -> None:
        """Add a select option (what ``typecast`` does for an unknown option)."""
        options = self.options if self.options is not None else {"choices": []}
        self.options = options
        choices: list[dict[str, Any]] = options.setdefault("choices", [])
        color = _SELECT_COLORS[len(choices) % len(_SELECT_COLORS)]
        choices.append({"id": ids.new("sel"), "name": name, "color": color})


def _bad_value(spec: FieldSpec, value: Any) -> ApiError:
    shown = value if isinstance(value, str) else json.dumps(value)
    return ApiError(
        422,
        "INVALID_VALUE_FOR_COLUMN",
        f'Field "{spec.name}" cannot accept the provided value: Cannot parse value "{shown}"',
    )


def _coerce_text(spec: FieldSpec, value: Any, typecast: bool) -> Any:
    if isinstance(value, str):
        return value
    if typecast and isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    raise _bad_value(spec, value)


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _coerce_number(spec: FieldSpec, value: Any, typecast: bool) -> Any:
    if isinstance(value, bool):
        raise _bad_value(spec, value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad_value(spec, value)
        return value
    if typecast and isinstance(value, str):
        text = value.strip().replace(",", "").lstrip("$").rstrip("%")
        if text == "":
            return None
        try:
            number = float(text)
        except ValueError:
            # Airtable's typecast drops unparseable text for number fields.
            return None
        return int(number) if number.is_integer() else number
    raise _bad_value(spec, value)


def _coerce_checkbox(spec: FieldSpec, value: Any, typecast: bool) -> Any:
    if isinstance(value, bool):
        return value
    if typecast and isinstance(value, str | int | float):
        return str(value).strip().lower() in ("true", "1", "yes", "checked", "on", "x")
    raise _bad_value(spec, value)


def _coerce_date(spec: FieldSpec, value: Any, typecast: bool) -> Any:
    parsed: datetime | None = None
    if isinstance(value, str):
        parsed = parse_datetime(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # Airtable accepts epoch milliseconds for date/dateTime [airtable-api.md §3].
        parsed = datetime.fromtimestamp(value / 1000, UTC)
    if parsed is None:
        raise _bad_value(spec, value)
    if spec.type == "date":
        return format_date(parsed)
    return format_datetime(parsed)


def _select_name(spec: FieldSpec, value: Any, typecast: bool, ids: IdFactory) -> str:
    if not isinstance(value, str):
        if not typecast:
            raise _bad_value(spec, value)
        value = _number_text(value) if isinstance(value, int | float) else str(value)
    for choice in (spec.options or {}).get("choices", []):
        if value in (choice["name"], choice.get("id")):
            return str(choice["name"])
    if not typecast:
        # The value is JSON-encoded inside the quotes in Airtable's message [airtable-api.md §6].
        raise ApiError(
            422,
            "INVALID_MULTIPLE_CHOICE_OPTIONS",
            f'Insufficient permissions to create new select option ""{value}""',
        )
    spec.add_choice(value, ids)
    return str(value)


def _not_unicode(value: Any) -> bool:
    """Whether a JSON value holds text that is not Unicode (a lone surrogate, which JSON can
    carry as an escape): such text has no UTF-8 form to store or to answer with."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_not_unicode(v) for v in value)
    if isinstance(value, dict):
        return any(_not_unicode(k) or _not_unicode(v) for k, v in value.items())
    return False


def coerce_value(
    spec: FieldSpec,
    value: Any,
    *,
    typecast: bool,
    ids: IdFactory,
    record_exists: Callable[[str, str], bool],
    collaborators: list[dict[str, Any]] | None = None,
    previous: Any = None,
) -> Any:
    """Validate (and with ``typecast`` convert) one written cell value.

    Args:
        spec: the target field.
        value: the JSON value the client sent.
        typecast: Airtable's ``typecast`` flag.
        ids: used when typecast creates a select option.
        record_exists: ``(table_id, record_id) -> bool`` for link fields.

    Returns:
        The stored value, or None when the cell becomes empty.

    Raises:
        ApiError: 422 ``INVALID_VALUE_FOR_COLUMN``, ``INVALID_MULTIPLE_CHOICE_OPTIONS`` or
            ``ROW_DOES_NOT_EXIST``, as Airtable answers.
    """
    if _not_unicode(value):
        # UNVERIFIED what Airtable answers; refusing keeps the emulator answering at all.
        raise _bad_value(spec, value)
    if spec.computed:
        raise ApiError(
            422,
            "INVALID_VALUE_FOR_COLUMN",
            f'Field "{spec.name}" cannot accept a value because the field is computed',
        )
    if value is None:
        return None
    kind = spec.type
    if kind in TEXT_TYPES:
        result: Any = _coerce_text(spec, value, typecast)
    elif kind in NUMBER_TYPES:
        result = _coerce_number(spec, value, typecast)
    elif kind == "checkbox":
        result = _coerce_checkbox(spec, value, typecast)
    elif kind in ("date", "dateTime"):
        result = None if value == "" else _coerce_date(spec, value, typecast)
    elif kind == "singleSelect":
        result = None if value == "" else _select_name(spec, value, typecast, ids)
    elif kind == "multipleSelects":
        if typecast and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise _bad_value(spec, value)
        names: list[str] = []
        for item in value:
            name = _select_name(spec, item, typecast, ids)
            if name not in names:
                names.append(name)
        result = names
    elif kind == "multipleRecordLinks":
        result = _coerce_links(spec, value, typecast, record_exists)
    elif kind == "singleCollaborator":
        result = _collaborator(spec, value, collaborators)
    elif kind == "multipleCollaborators":
        if not isinstance(value, list):
            raise _bad_value(spec, value)
        result = list({c["id"]: c for c in (_collaborator(spec, v, collaborators) for v in value)}
                      .values())  # fmt: skip
    elif kind == "multipleAttachments":
        result = _attachments(spec, value, ids, previous)
    else:
        raise _bad_value(spec, value)
    return None if is_empty(result) else result


def _coerce_links(
    spec: FieldSpec, value: Any, typecast: bool, record_exists: Callable[[str, str], bool]
) -> list[str]:
    if typecast and isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_value(spec, value)
    linked = str((spec.options or {}).get("linkedTableId", ""))
    for record_id in value:
        if not record_exists(linked, record_id):
            raise ApiError(
                422,
                "ROW_DOES_NOT_EXIST",
                f'Record ID "{record_id}" does not exist in the linked table of "{spec.name}"',
            )
    return list(dict.fromkeys(value))


def _collaborator(spec: FieldSpec, value: Any, known: list[dict[str, Any]] | None) -> Any:
    """``{"id"}`` or ``{"email"}`` of a base collaborator becomes ``{"id","email","name"}``."""
    if isinstance(value, dict):
        for person in known or []:
            if value.get("id") == person["id"] or value.get("email") == person["email"]:
                return dict(person)
    raise _bad_value(spec, value)


_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
         "pdf": "application/pdf", "csv": "text/csv", "txt": "text/plain"}  # fmt: skip


def _attachments(spec: FieldSpec, value: Any, ids: IdFactory, previous: Any) -> Any:
    """Attachments by ``url`` (metadata only; nothing is downloaded) or by existing ``id``."""
    if not isinstance(value, list):
        raise _bad_value(spec, value)
    kept = {a["id"]: a for a in previous or [] if isinstance(a, dict)}
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict) and item.get("id") in kept:
            out.append(kept[item["id"]])
        elif isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"]:
            url = item["url"]
            filename = str(item.get("filename") or url.rstrip("/").rsplit("/", 1)[-1] or "file")
            extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
            out.append({"id": ids.new("att"), "url": url, "filename": filename,
                        "type": _MIME.get(extension, "application/octet-stream")})  # fmt: skip
        else:
            raise _bad_value(spec, item)
    return out


def string_cell(value: Any) -> str:
    """Render a stored cell for ``cellFormat=string`` (lists joined with ``", "``)."""
    if isinstance(value, list):
        return ", ".join(string_cell(v) for v in value)
    if isinstance(value, bool):
        return "checked" if value else ""
    if isinstance(value, float):
        return _number_text(value)
    return str(value)
