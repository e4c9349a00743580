"""The emulator's use of the shared formula engine (:mod:`leadcache.formula`).

Parse errors become Airtable's 422 ``INVALID_FILTER_BY_FORMULA`` answer.
"""

from __future__ import annotations

from ..airtable_wire.errors import invalid_formula
from ..formula import CompiledFormula, FieldResolver, FormulaSyntaxError, to_text, truthy
from ..formula import compile_formula as _compile

__all__ = ["CompiledFormula", "compile_formula", "to_text", "truthy"]


def compile_formula(text: str, resolve: FieldResolver) -> CompiledFormula:
    """Parse ``text``; raises ApiError 422 ``INVALID_FILTER_BY_FORMULA`` when it cannot."""
    try:
        return _compile(text, resolve)
    except FormulaSyntaxError as exc:
        raise invalid_formula(exc.detail) from None
