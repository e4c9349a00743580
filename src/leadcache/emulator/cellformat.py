"""``cellFormat=string``: cells as the Airtable UI shows them, in a time zone and locale.

Airtable requires ``timeZone`` and ``userLocale`` with ``cellFormat=string`` and formats each
cell "as a user-facing string, regardless of the field type" [D:list-records]. The emulator
follows each field's own display options (date format, 12/24 hour time, precision, currency
symbol) and the field's time zone, where ``client`` (and the computed time fields) means the
request's ``timeZone``; the locale picks the ``local`` date order. Linked records show their
primary field, collaborators their name, attachments ``filename (url)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..airtable_wire.errors import invalid_request
from .clock import parse_datetime
from .fields import FieldSpec, string_cell

__all__ = ["StringFormat", "string_format"]

_LOCAL_ORDER = {"en-us": "us", "en-ca": "iso", "ja": "iso", "zh": "iso",
                "ko": "iso", "sv": "iso", "de": "dotted"}  # fmt: skip


class StringFormat:
    """Renders cells for one request's ``timeZone`` and ``userLocale``.

    Args:
        time_zone: IANA name (``Europe/Paris``) or ``utc``.
        user_locale: e.g. ``en-us``, ``en-gb``, ``fr``.
        primary: ``(linked table id, record id) -> primary field text`` for link fields.
    """

    def __init__(
        self, time_zone: str, user_locale: str, primary: Callable[[str, str], str]
    ) -> None:
        self.zone = _zone(time_zone)
        self.locale = user_locale.lower()
        self.primary = primary

    def cell(self, spec: FieldSpec, value: Any) -> str:
        """One stored cell as text."""
        kind, options = spec.type, spec.options or {}
        result = options.get("result") if isinstance(options.get("result"), dict) else None
        if kind in ("createdTime", "lastModifiedTime") and result:
            kind, options = str(result.get("type")), result.get("options") or {}
        if isinstance(value, list):
            if kind == "multipleRecordLinks":
                linked = str(options.get("linkedTableId"))
                return ", ".join(self.primary(linked, str(rid)) for rid in value)
            return ", ".join(self._item(kind, options, v) for v in value)
        return self._item(kind, options, value)

    def _item(self, kind: str, options: dict[str, Any], value: Any) -> str:
        if isinstance(value, dict):
            if "filename" in value:
                return f"{value['filename']} ({value.get('url', '')})"
            if "name" in value or "email" in value:
                return str(value.get("name") or value.get("email"))
            if "label" in value:
                return str(value["label"])
            if "error" in value:
                return str(value["error"])
        if kind in ("date", "dateTime") and isinstance(value, str):
            return self._date(kind, options, value)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if kind in ("number", "currency", "percent") and numeric:
            return _number(kind, options, value)
        return string_cell(value)

    def _date(self, kind: str, options: dict[str, Any], text: str) -> str:
        moment = parse_datetime(text)
        if moment is None:
            return text
        if kind == "dateTime":
            field_zone = str(options.get("timeZone") or "client")
            zone = self.zone if field_zone == "client" else _zone(field_zone)
            moment = moment.astimezone(zone)
        shown = self._date_part(str((options.get("dateFormat") or {}).get("name", "iso")), moment)
        if kind == "date":
            return shown
        if (options.get("timeFormat") or {}).get("name") == "12hour":
            hour = moment.hour % 12 or 12
            return f"{shown} {hour}:{moment.minute:02d}{'am' if moment.hour < 12 else 'pm'}"
        return f"{shown} {moment.hour:02d}:{moment.minute:02d}"

    def _date_part(self, name: str, moment: datetime) -> str:
        if name == "local":
            name = _LOCAL_ORDER.get(self.locale, _LOCAL_ORDER.get(self.locale[:2], "european"))
        if name == "us":
            return f"{moment.month}/{moment.day}/{moment.year}"
        if name == "european":
            return f"{moment.day}/{moment.month}/{moment.year}"
        if name == "dotted":
            return f"{moment.day:02d}.{moment.month:02d}.{moment.year}"
        if name == "friendly":
            return f"{moment.strftime('%B')} {moment.day}, {moment.year}"
        return moment.strftime("%Y-%m-%d")


def _zone(name: str) -> tzinfo:
    if name.lower() in ("utc", "gmt", "etc/utc"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid_request(f"Invalid timeZone: {name!r}") from None


def _number(kind: str, options: dict[str, Any], value: float) -> str:
    precision = int(options.get("precision", 0 if kind == "number" else 2))
    if kind == "percent":
        return f"{value * 100:.{precision}f}%"
    text = f"{value:,.{precision}f}" if kind == "currency" else f"{value:.{precision}f}"
    return f"{options.get('symbol', '$')}{text}" if kind == "currency" else text


def string_format(
    time_zone: str | None, user_locale: str | None, primary: Callable[[str, str], str]
) -> StringFormat:
    """The formatter for a request; both parameters are required, as in Airtable."""
    if not time_zone or not user_locale:
        raise invalid_request("cellFormat=string requires timeZone and userLocale")
    return StringFormat(time_zone, user_locale, primary)
