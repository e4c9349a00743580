"""Conditions on the mapped columns that a store answers from its indexes.

The front door (``leadcache.frontdoor``) turns the common ``filterByFormula`` shapes into these
conditions; each backend answers them exactly, using whatever index it has (SQLite: the
``status``/``company`` b-tree indexes, the trigram full-text index on name, company and
email, the primary key). :func:`matches` is the reference semantics, in Python: the contract
tests compare every backend with it, and :meth:`Store.match_ids` falls back to it.

Semantics (``value`` is the lead's mapped column text, None when empty):

* :class:`Equals`: ``value == text`` (exact, case-sensitive).
* :class:`Blank`: ``value is None or value == ""``.
* :class:`Contains`: ``needle in value``; with ``fold``, ``needle.lower() in value.lower()``
  (Python's Unicode lowering, which is what the formula engine's ``SEARCH`` does). A blank
  value contains only the empty needle.
* :class:`IdIs`: the lead's current id is one of ``ids``.
* :class:`All` / :class:`AnyOf` / :class:`Not`: and, or, not.

Deleted leads never match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, cast

from ..types import LEAD_KEYS, Lead

__all__ = [
    "FOLDS_TO_ASCII",
    "All",
    "AnyOf",
    "Blank",
    "Condition",
    "Contains",
    "Equals",
    "IdIs",
    "Not",
    "encodable",
    "matches",
]

#: The non-ASCII characters whose ``str.lower()`` contains an ASCII letter (İ -> i̇, K -> k):
#: a case-folded search for an ASCII needle must look at values holding them too.
FOLDS_TO_ASCII: Final = "\u0130\u212a"


def _check_key(key: str) -> None:
    if key not in LEAD_KEYS:
        raise ValueError(f"not a mapped lead key: {key!r}")


@dataclass(frozen=True, slots=True)
class Equals:
    """The mapped column ``key`` equals ``text`` exactly."""

    key: str
    text: str

    def __post_init__(self) -> None:
        _check_key(self.key)


@dataclass(frozen=True, slots=True)
class Blank:
    """The mapped column ``key`` is empty."""

    key: str

    def __post_init__(self) -> None:
        _check_key(self.key)


@dataclass(frozen=True, slots=True)
class Contains:
    """The mapped column ``key`` contains ``needle`` (case-folded with ``fold``)."""

    key: str
    needle: str
    fold: bool = False

    def __post_init__(self) -> None:
        _check_key(self.key)


@dataclass(frozen=True, slots=True)
class IdIs:
    """The lead's current id is one of ``ids``."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class All:
    """Every part holds (an empty ``All`` always holds)."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part holds (an empty ``AnyOf`` never holds)."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not hold."""

    part: Condition


Condition: TypeAlias = Equals | Blank | Contains | IdIs | All | AnyOf | Not


def encodable(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form: a lone surrogate (a JSON string may escape one)
    has none, so no stored value holds it and no database driver can bind it."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def contains(value: str | None, needle: str, fold: bool) -> bool:
    """The :class:`Contains` test on one value."""
    hay = value or ""
    if fold:
        return needle.lower() in hay.lower()
    return needle in hay


def matches(cond: Condition, lead: Lead) -> bool:
    """Whether ``lead`` satisfies ``cond`` (the reference semantics; deleted leads never do)."""
    if lead["deleted"]:
        return False
    return _holds(cond, lead)


def _holds(cond: Condition, lead: Lead) -> bool:
    columns = cast("dict[str, Any]", lead)
    if isinstance(cond, Equals):
        return bool(columns[cond.key] == cond.text)
    if isinstance(cond, Blank):
        return columns[cond.key] in (None, "")
    if isinstance(cond, Contains):
        return contains(columns[cond.key], cond.needle, cond.fold)
    if isinstance(cond, IdIs):
        return lead["id"] in cond.ids
    if isinstance(cond, All):
        return all(_holds(p, lead) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return any(_holds(p, lead) for p in cond.parts)
    return not _holds(cond.part, lead)


def match_ids_in(leads: Iterable[Lead], cond: Condition | None) -> list[str]:
    """Ids of the live ``leads`` satisfying ``cond`` (all live ones for None), in order."""
    return [
        lead["id"] for lead in leads if not lead["deleted"] and (cond is None or _holds(cond, lead))
    ]
