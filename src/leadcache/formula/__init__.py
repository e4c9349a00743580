"""Airtable's formula language, shared by the emulator and the cache's front door.

This package imports nothing else from leadcache. Its public surface:

- :func:`parse` turns formula text into a :class:`Formula` (raises
  :class:`FormulaSyntaxError` for bad syntax, unknown functions or fields, wrong arity).
- :meth:`Formula.evaluate` computes its value for one record given the record's cells, id
  and created time (raises :class:`FormulaError`, Airtable's ``#ERROR!``, for runtime errors);
  :meth:`Formula.matches` answers ``filterByFormula``'s keep/drop question (errors drop).
- :func:`truthy` and :func:`to_text` are Airtable's truthiness and text coercion.
- :data:`FUNCTION_NAMES` lists every function the evaluator knows.

Fields are referenced as ``{Field Name}``, bare single words, or field ids. ``parse`` takes
either a mapping of the known field names to Airtable field types (``{"Status":
"singleSelect"}``; unknown names are a syntax error, as in Airtable) or a resolver callable
mapping a name or id to ``(key, type)``; values passed to ``evaluate`` are keyed by that key
(the name itself when a mapping is given).

Example:
    >>> from datetime import UTC, datetime
    >>> kinds = {"Status": "singleSelect", "Score": "number"}
    >>> f = parse("AND({Status}='new', {Score} > 50)", kinds)
    >>> f.evaluate({"Status": "new", "Score": 70}, record_id="rec1")
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .functions import FUNCTIONS
from .parser import SPECIAL_FORMS, CompiledFormula, FieldResolver, compile_formula
from .values import FormulaError, FormulaRecord, FormulaSyntaxError, to_text, truthy

__all__ = [
    "FUNCTION_NAMES",
    "CompiledFormula",
    "FieldResolver",
    "Formula",
    "FormulaError",
    "FormulaRecord",
    "FormulaSyntaxError",
    "RecordCells",
    "compile_formula",
    "parse",
    "to_text",
    "truthy",
]

FUNCTION_NAMES: frozenset[str] = frozenset(FUNCTIONS) | frozenset(SPECIAL_FORMS)
"""Every function name the evaluator accepts (upper case)."""


@dataclass(frozen=True, slots=True)
class RecordCells:
    """A record as the evaluator sees it (implements :class:`FormulaRecord`).

    Attributes:
        id: the record id (``RECORD_ID()``).
        created: created time (``CREATED_TIME()``), timezone-aware.
        modified: ``LAST_MODIFIED_TIME()`` (defaults to ``created``).
        values: cells keyed as the resolver keys them, in Airtable's JSON read format.
        field_modified: per-field modification times, for ``LAST_MODIFIED_TIME({F})``.
    """

    id: str
    created: datetime
    modified: datetime
    values: dict[str, Any]
    field_modified: dict[str, datetime] | None = None


def _resolver(fields: Mapping[str, str] | FieldResolver) -> FieldResolver:
    if callable(fields):
        return fields
    known = dict(fields)

    def resolve(name: str) -> tuple[str, str] | None:
        kind = known.get(name)
        return None if kind is None else (name, kind)

    return resolve


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed formula.

    Attributes:
        text: the source text.
        field_keys: keys of the fields it references, in order of first use.
    """

    compiled: CompiledFormula

    @property
    def text(self) -> str:
        return self.compiled.text

    @property
    def field_keys(self) -> tuple[str, ...]:
        return self.compiled.field_ids

    def evaluate(
        self,
        fields: Mapping[str, Any],
        *,
        record_id: str = "",
        created_time: datetime | None = None,
        modified_time: datetime | None = None,
        now: datetime | None = None,
    ) -> Any:
        """The formula's value (str, int/float, bool, datetime, list or None for blank).

        Raises:
            FormulaError: the formula evaluates to an error value (``#ERROR!``, ``#DIV/0!``).
        """
        record = _cells(fields, record_id, created_time, modified_time)
        return self.compiled.evaluate(record, now or datetime.now(UTC))

    def matches(
        self,
        fields: Mapping[str, Any],
        *,
        record_id: str = "",
        created_time: datetime | None = None,
        modified_time: datetime | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Whether ``filterByFormula`` keeps the record (errors and falsy values drop it)."""
        record = _cells(fields, record_id, created_time, modified_time)
        return self.compiled.matches(record, now or datetime.now(UTC))


def _cells(
    fields: Mapping[str, Any], record_id: str, created: datetime | None, modified: datetime | None
) -> RecordCells:
    created = created or datetime(1970, 1, 1, tzinfo=UTC)
    return RecordCells(record_id, created, modified or created, dict(fields))


def parse(
    text: str, fields: Mapping[str, str] | Callable[[str], tuple[str, str] | None]
) -> Formula:
    """Parse formula text.

    Args:
        text: the formula, e.g. ``{Status}='scraped'``.
        fields: known fields as ``{name: airtable_type}``, or a resolver callable.

    Raises:
        FormulaSyntaxError: with Airtable's wording in ``detail``.
    """
    return Formula(compile_formula(text, _resolver(fields)))
