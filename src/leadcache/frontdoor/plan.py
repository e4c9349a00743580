"""From ``filterByFormula`` to a plan: what the store's indexes answer, what Python checks.

Every formula is parsed by the shared engine (:mod:`leadcache.formula`), which decides what is
valid and what a record's value is. The common shapes agents send are then recognised on the
token stream and turned into :mod:`leadcache.store.query` conditions:

===========================================  ==========================================
formula                                      condition (on mapped text columns)
===========================================  ==========================================
``{Status}='scraped'``, ``'x'={F}``          ``Equals`` (b-tree index on status, company)
``{F}=''``, ``{F}=BLANK()``                  ``Blank``
``{F}!='x'``, ``{F}<>'x'``                   ``Not(Equals)``
``{F}`` alone                                ``Not(Blank)``
``FIND('x', {F})``, ``SEARCH(…)`` [``> 0``]  ``Contains`` (trigram index on name, company,
                                             email), case-folded for ``SEARCH``
``RECORD_ID()='rec…'``                       ``IdIs`` (primary key)
``AND(…)``, ``OR(…)``, ``NOT(…)``            ``All``, ``AnyOf``, ``Not``
===========================================  ==========================================

A formula made only of these is answered by the store alone (``exact``). In ``AND(…)`` the
recognised parts narrow the rows and the shared engine checks the rest on those rows only;
anything else is evaluated by the engine on every live lead, which is exact but slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..airtable_wire.errors import invalid_formula
from ..formula import Formula, FormulaSyntaxError, parse
from ..formula.parser import _tokenize
from ..store.query import All, AnyOf, Blank, Condition, Contains, Equals, IdIs, Not
from .errors import Forward
from .table import TableInfo

__all__ = ["FilterPlan", "plan_filter"]

#: Functions whose value the cache cannot know as Airtable does.
_AIRTABLE_ONLY: Final = ("LAST_MODIFIED_TIME", "LAST_MODIFIED_BY", "CREATED_BY")


@dataclass(frozen=True, slots=True)
class FilterPlan:
    """How to answer one ``filterByFormula``.

    Attributes:
        cond: the store condition narrowing the rows (None: every live lead).
        exact: ``cond`` alone is the answer; otherwise ``formula`` checks each row left.
        formula: the parsed formula.
    """

    cond: Condition | None
    exact: bool
    formula: Formula


def plan_filter(text: str, info: TableInfo) -> FilterPlan:
    """Plan ``text`` for the table described by ``info``.

    Raises:
        ApiError: 422 ``INVALID_FILTER_BY_FORMULA`` for a syntax error or a wrong arity.
        Forward: the formula uses a field, a field type or a function the cache cannot
            evaluate as Airtable would.
    """
    upper = text.upper()
    for name in _AIRTABLE_ONLY:
        if name in upper:
            raise Forward(f"{name}() is known to Airtable only")

    def resolve(key: str) -> tuple[str, str] | None:
        try:
            name = info.field_name(key)
        except Forward:
            return None
        return name, info.formula_type(name)

    try:
        formula = parse(text, resolve)
    except FormulaSyntaxError as exc:
        if exc.detail.startswith(("Unknown field names", "Unknown function names")):
            raise Forward(exc.detail) from None
        raise invalid_formula(exc.detail) from None
    translated = _Translator(text, info).run()
    if translated is None:
        return FilterPlan(None, False, formula)
    return FilterPlan(translated[0], translated[1], formula)


_Result = tuple[Condition, bool] | None


class _Untranslatable(Exception):
    pass


class _Translator:
    """A recogniser for the shapes in the module docstring, over the shared tokenizer."""

    def __init__(self, text: str, info: TableInfo) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.info = info

    def run(self) -> _Result:
        try:
            result = self.expr()
            if self.tokens[self.pos][0] != "end":
                return None
        except (_Untranslatable, IndexError):
            return None
        return result

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        return self.tokens[self.pos + ahead]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: str, value: str | None = None) -> str:
        token = self.take()
        if token[0] != kind or (value is not None and token[1] != value):
            raise _Untranslatable
        return token[1]

    # -- grammar ---------------------------------------------------------------------------
    def expr(self) -> _Result:
        kind, value = self.peek()
        if kind == "ident" and self.peek(1) == ("op", "("):
            name = value.upper()
            if name in ("AND", "OR"):
                return self.logical(name)
            if name == "NOT":
                self.take()
                self.take()
                inner = self.expr()
                self.expect("op", ")")
                if inner is None or not inner[1]:
                    raise _Untranslatable
                return Not(inner[0]), True
            if name in ("FIND", "SEARCH"):
                return self.find(name == "SEARCH")
        return self.comparison()

    def logical(self, name: str) -> _Result:
        self.take()
        self.take()
        parts: list[_Result] = []
        while True:
            parts.append(self.argument())
            if self.peek() == ("op", ","):
                self.take()
                continue
            self.expect("op", ")")
            break
        known = [p for p in parts if p is not None]
        if name == "AND":
            if not known:
                raise _Untranslatable
            exact = len(known) == len(parts) and all(p[1] for p in known)
            return All(tuple(p[0] for p in known)), exact
        if len(known) != len(parts):
            raise _Untranslatable  # one unknown alternative could match any row
        return AnyOf(tuple(p[0] for p in known)), all(p[1] for p in known)

    def argument(self) -> _Result:
        """One argument of AND/OR; an unrecognised one is skipped (None)."""
        start = self.pos
        try:
            result = self.expr()
            if self.peek() in (("op", ","), ("op", ")")):
                return result
        except _Untranslatable:
            pass
        self.pos = start
        depth = 0
        while True:
            kind, value = self.peek()
            if kind == "end":
                raise _Untranslatable
            if depth == 0 and kind == "op" and value in (",", ")"):
                return None
            if (kind, value) == ("op", "("):
                depth += 1
            elif (kind, value) == ("op", ")"):
                depth -= 1
            self.take()

    def find(self, fold: bool) -> _Result:
        self.take()
        self.take()
        needle = self.expect("string")
        self.expect("op", ",")
        key = self.column(self.expect("field"))
        self.expect("op", ")")
        if self.peek() == ("op", ">"):
            self.take()
            if self.expect("number") not in ("0", "0.0"):
                raise _Untranslatable
        return Contains(key, needle, fold), True

    def operand(self) -> tuple[str, str]:
        kind, value = self.take()
        if kind in ("string", "field"):
            return kind, value
        if kind == "ident" and self.peek() == ("op", "("):
            name = value.upper()
            if name in ("BLANK", "RECORD_ID"):
                self.take()
                self.expect("op", ")")
                return name.lower(), ""
        raise _Untranslatable

    def comparison(self) -> _Result:
        left = self.operand()
        if self.peek() in (("op", ","), ("op", ")"), ("end", "")):
            if left[0] != "field":
                raise _Untranslatable
            return Not(Blank(self.column(left[1]))), True
        op = self.expect("op")
        if op not in ("=", "!=", "<>"):
            raise _Untranslatable
        right = self.operand()
        if (left[0] != "field" and right[0] == "field") or left[0] == "record_id":
            left, right = right, left
        cond = self.equality(left, right)
        return (cond if op == "=" else Not(cond)), True

    def equality(self, left: tuple[str, str], right: tuple[str, str]) -> Condition:
        if left[0] == "record_id" and right[0] == "string":
            return IdIs((right[1],))
        if right[0] == "record_id" and left[0] == "string":
            return IdIs((left[1],))
        if left[0] != "field":
            raise _Untranslatable
        key = self.column(left[1])
        if right[0] == "blank" or right == ("string", ""):
            return Blank(key)
        if right[0] == "string":
            return Equals(key, right[1])
        raise _Untranslatable

    def column(self, field: str) -> str:
        try:
            name = self.info.field_name(field)
        except Forward:
            raise _Untranslatable from None
        key = self.info.text_column(name)
        if key is None:
            raise _Untranslatable
        return key
