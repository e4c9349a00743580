"""The shared formula engine through its public surface: escaping and comparison properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyairtable.formulas import quoted

from leadcache.formula import FormulaSyntaxError, parse

NOW = datetime(2024, 1, 1, tzinfo=UTC)
FIELDS = {"Name": "singleLineText"}


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_quoted_strings_round_trip(text: str) -> None:
    formula = parse(f"{{Name}}={quoted(text)}", FIELDS)
    assert formula.evaluate({"Name": text}, now=NOW) is True
    assert parse(quoted(text), FIELDS).evaluate({}, now=NOW) == text


@settings(max_examples=100, deadline=None)
@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_number_comparisons_agree_with_python(a: int, b: int) -> None:
    for op, expected in (("<", a < b), ("=", a == b), (">=", a >= b), ("!=", a != b)):
        assert parse(f"{a} {op} {b}", {}).evaluate({}, now=NOW) is expected


def test_record_id_and_created_time() -> None:
    formula = parse("AND(RECORD_ID()='recX', IS_SAME(CREATED_TIME(), '2024-01-01', 'day'))", {})
    assert formula.matches({}, record_id="recX", created_time=NOW, now=NOW)
    assert not formula.matches({}, record_id="recY", created_time=NOW, now=NOW)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("{Nope}='x'", "Unknown field names: Nope"),
        ("NOPE(1)", "Unknown function names: NOPE"),
        ("1 +", "Invalid formula. Please check your formula text."),
    ],
)
def test_syntax_errors_carry_airtable_wording(text: str, detail: str) -> None:
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text, FIELDS)
    assert info.value.detail == detail


def test_package_imports_nothing_else_from_leadcache() -> None:
    import ast
    from pathlib import Path

    import leadcache.formula

    for path in Path(leadcache.formula.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, (path.name, node.module)
                assert not (node.module or "").startswith("leadcache"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("leadcache") for a in node.names), path.name
