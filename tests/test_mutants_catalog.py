"""The mutants stay runnable: each substitution's anchor still occurs exactly once in the
source it mutates (``make mutants`` applies them; an edit of the guarded code that moved an
anchor would otherwise be found only by the slow mutant run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutants.catalog import MUTANTS, Mutant

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_anchor_occurs_once(mutant: Mutant) -> None:
    for sub in mutant.substitutions:
        text = (SRC / sub.path).read_text()
        assert text.count(sub.anchor) == 1, f"{mutant.name}: anchor in {sub.path}"
        assert sub.replacement != sub.anchor
