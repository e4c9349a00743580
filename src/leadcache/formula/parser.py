"""Airtable's formula language, for ``filterByFormula`` and formula fields.

A formula is parsed once into a tree of Python closures, then evaluated per record, so
filtering 100,000 records costs one closure call chain each. Semantics follow Airtable
[airtable-api.md §12]: string ``=`` is case-sensitive, blank equals ``""`` and ``0``, a record
is kept unless the result is ``0``, ``false``, ``""``, NaN, ``[]`` or an error, and a datetime
coerced to text is ISO UTC with milliseconds. Field references are ``{Field Name}`` (``\\}``
escapes a brace), bare single-word names, or field ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .functions import FUNCTIONS
from .values import (
    Ctx,
    FormulaError,
    FormulaRecord,
    FormulaSyntaxError,
    Node,
    compare,
    equals,
    parse_dt,
    to_number,
    to_text,
    truthy,
)

__all__ = ["SPECIAL_FORMS", "CompiledFormula", "FieldResolver", "compile_formula"]

FieldResolver = Callable[[str], "tuple[str, str] | None"]
"""Maps a field name or id to ``(field_id, field_type)``, or None when unknown."""

# ----------------------------------------------------------------------------- tokenizer

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<field>\{(?:[^}\\]|\\.)*\})
  | (?P<op><=|>=|!=|<>|[=<>+\-*/&(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body, flags=re.DOTALL)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise FormulaSyntaxError()
        kind = match.lastgroup or ""
        value = match.group()
        pos = match.end()
        if kind == "ws":
            continue
        if kind == "string":
            value = _unescape(value[1:-1])
        elif kind == "field":
            value = value[1:-1].replace("\\}", "}")
        tokens.append((kind, value))
    tokens.append(("end", ""))
    return tokens


# ----------------------------------------------------------------------------- field values


def _field_reader(field_id: str, field_type: str) -> Node:
    """A node reading one cell, converted to what formulas see for that field type."""
    if field_type in ("date", "dateTime", "createdTime", "lastModifiedTime"):

        def read_date(ctx: Ctx) -> Any:
            raw = ctx.record.values.get(field_id)
            return None if raw is None else parse_dt(raw)

        return read_date
    if field_type == "checkbox":
        return lambda ctx: bool(ctx.record.values.get(field_id, False))
    if field_type in ("multipleSelects", "multipleRecordLinks"):

        def read_list(ctx: Ctx) -> Any:
            raw = ctx.record.values.get(field_id)
            return None if not raw else ", ".join(str(v) for v in raw)

        return read_list
    return lambda ctx: ctx.record.values.get(field_id)


# ----------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, resolve: FieldResolver) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.resolve = resolve
        self.field_ids: list[str] = []
        self.call_field_ids: list[str] = []

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        if self.take() != ("op", value):
            raise FormulaSyntaxError()

    def parse(self) -> Node:
        if self.peek()[0] == "end":
            raise FormulaSyntaxError()
        node = self.comparison()
        if self.peek()[0] != "end":
            raise FormulaSyntaxError()
        return node

    def comparison(self) -> Node:
        left = self.concat()
        while self.peek()[0] == "op" and self.peek()[1] in _COMPARATORS:
            op = _COMPARATORS[self.take()[1]]
            right = self.concat()
            left = _binary(op, left, right)
        return left

    def concat(self) -> Node:
        left = self.additive()
        while self.peek() == ("op", "&"):
            self.take()
            right = self.additive()
            left = _binary(lambda a, b: to_text(a) + to_text(b), left, right)
        return left

    def additive(self) -> Node:
        left = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = _ARITH[self.take()[1]]
            right = self.term()
            left = _binary(op, left, right)
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in "*/":
            op = _ARITH[self.take()[1]]
            right = self.unary()
            left = _binary(op, left, right)
        return left

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            inner = self.unary()
            return lambda ctx: -to_number(inner(ctx))
        if self.peek() == ("op", "+"):
            self.take()
            return self.unary()
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            number = float(value)
            constant: Any = int(number) if number.is_integer() else number
            return lambda ctx: constant
        if kind == "string":
            return lambda ctx: value
        if kind == "field":
            return self.field(value)
        if kind == "op" and value == "(":
            node = self.comparison()
            self.expect(")")
            return node
        if kind == "ident":
            if self.peek() == ("op", "("):
                self.take()
                before = len(self.field_ids)
                args: list[Node] = []
                if self.peek() != ("op", ")"):
                    args.append(self.comparison())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.comparison())
                self.expect(")")
                self.call_field_ids = self.field_ids[before:]
                return self.call(value.upper(), args)
            if self.resolve(value) is None and value.upper() in ("TRUE", "FALSE"):
                flag = value.upper() == "TRUE"
                return lambda ctx: flag
            return self.field(value)
        raise FormulaSyntaxError()

    def field(self, name: str) -> Node:
        resolved = self.resolve(name)
        if resolved is None:
            raise FormulaSyntaxError(f"Unknown field names: {name}")
        self.field_ids.append(resolved[0])
        return _field_reader(*resolved)

    def call(self, name: str, args: list[Node]) -> Node:
        if name in SPECIAL_FORMS:
            return SPECIAL_FORMS[name](self, args)
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise FormulaSyntaxError(f"Unknown function names: {name}")
        low, high, impl = spec
        if len(args) < low or (high is not None and len(args) > high):
            raise FormulaSyntaxError()
        if not args:
            return lambda ctx: impl(ctx, [])
        return lambda ctx: impl(ctx, [arg(ctx) for arg in args])


def _binary(op: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    return lambda ctx: op(left(ctx), right(ctx))


def _divide(a: Any, b: Any) -> Any:
    divisor = to_number(b)
    if divisor == 0:
        raise FormulaError("#DIV/0!")
    return to_number(a) / divisor


_COMPARATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": equals,
    "!=": lambda a, b: not equals(a, b),
    "<>": lambda a, b: not equals(a, b),
    "<": lambda a, b: compare(a, b) < 0,
    ">": lambda a, b: compare(a, b) > 0,
    "<=": lambda a, b: compare(a, b) <= 0,
    ">=": lambda a, b: compare(a, b) >= 0,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: to_number(a) + to_number(b),
    "-": lambda a, b: to_number(a) - to_number(b),
    "*": lambda a, b: to_number(a) * to_number(b),
    "/": _divide,
}

# ----------------------------------------------------------------------------- special forms


def _if(parser: _Parser, args: list[Node]) -> Node:
    if not 2 <= len(args) <= 3:
        raise FormulaSyntaxError()
    cond, then = args[0], args[1]
    other = args[2] if len(args) == 3 else (lambda ctx: None)
    return lambda ctx: then(ctx) if truthy(cond(ctx)) else other(ctx)


def _and(parser: _Parser, args: list[Node]) -> Node:
    if not args:
        raise FormulaSyntaxError()
    return lambda ctx: all(truthy(a(ctx)) for a in args)


def _or(parser: _Parser, args: list[Node]) -> Node:
    if not args:
        raise FormulaSyntaxError()
    return lambda ctx: any(truthy(a(ctx)) for a in args)


def _switch(parser: _Parser, args: list[Node]) -> Node:
    if len(args) < 3:
        raise FormulaSyntaxError()
    subject, rest = args[0], args[1:]
    default = rest[-1] if len(rest) % 2 else (lambda ctx: None)

    def run(ctx: Ctx) -> Any:
        value = subject(ctx)
        for i in range(0, len(rest) - 1, 2):
            if equals(value, rest[i](ctx)):
                return rest[i + 1](ctx)
        return default(ctx)

    return run


def _iferror(parser: _Parser, args: list[Node]) -> Node:
    if len(args) != 2:
        raise FormulaSyntaxError()
    value, fallback = args

    def run(ctx: Ctx) -> Any:
        try:
            return value(ctx)
        except FormulaError:
            return fallback(ctx)

    return run


def _iserror(parser: _Parser, args: list[Node]) -> Node:
    if len(args) != 1:
        raise FormulaSyntaxError()
    (value,) = args

    def run(ctx: Ctx) -> bool:
        try:
            value(ctx)
        except FormulaError:
            return True
        return False

    return run


def _last_modified(parser: _Parser, args: list[Node]) -> Node:
    # LAST_MODIFIED_TIME({A}, {B}) only looks at those fields [airtable-api.md §12.3]; the
    # arguments must be field references, so resolve their ids from the parser.
    ids = list(dict.fromkeys(parser.call_field_ids))
    if args and not ids:
        raise FormulaSyntaxError()
    if not ids:
        return lambda ctx: ctx.record.modified

    def run(ctx: Ctx) -> datetime:
        per_field = ctx.record.field_modified or {}
        return max(per_field.get(fid, ctx.record.created) for fid in ids)

    return run


SPECIAL_FORMS: dict[str, Callable[[_Parser, list[Node]], Node]] = {
    "IF": _if,
    "AND": _and,
    "OR": _or,
    "SWITCH": _switch,
    "IFERROR": _iferror,
    "ISERROR": _iserror,
    "LAST_MODIFIED_TIME": _last_modified,
}

# ----------------------------------------------------------------------------- entry point


@dataclass(frozen=True, slots=True)
class CompiledFormula:
    """A parsed formula, ready to evaluate against records.

    Attributes:
        text: the source text.
        field_ids: ids of the fields it references.
    """

    text: str
    field_ids: tuple[str, ...]
    _root: Node

    def evaluate(self, record: FormulaRecord, now: datetime) -> Any:
        """The formula's value for ``record``; raises FormulaError for ``#ERROR!``."""
        return self._root(Ctx(record, now))

    def matches(self, record: FormulaRecord, now: datetime) -> bool:
        """Whether ``filterByFormula`` keeps ``record`` (errors exclude it)."""
        try:
            return truthy(self._root(Ctx(record, now)))
        except (FormulaError, ArithmeticError, ValueError, TypeError, OverflowError, re.error):
            return False


def compile_formula(text: str, resolve: FieldResolver) -> CompiledFormula:
    """Parse ``text``.

    Args:
        text: the formula, e.g. ``AND({Status}='new', {Lead Score} > 50)``.
        resolve: maps a field name or id to ``(field_id, field_type)``.

    Returns:
        The compiled formula.

    Raises:
        FormulaSyntaxError: syntax errors, unknown functions, wrong argument counts and
            unknown fields (the emulator answers them with 422 ``INVALID_FILTER_BY_FORMULA``).

    Example:
        >>> f = compile_formula("1 + 1 = 2", lambda name: None)
        >>> f.field_ids
        ()
    """
    parser = _Parser(text, resolve)
    root = parser.parse()
    return CompiledFormula(text, tuple(dict.fromkeys(parser.field_ids)), root)
