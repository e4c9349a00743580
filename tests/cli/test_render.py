"""Properties of the text the CLI prints for people (leadcache.cli.render)."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from leadcache.cli.render import display_width, fit, render_pairs, render_table, safe

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
# Letters of every width, control characters, escapes, combining marks and emoji.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(["\x1b", "\x07", "\r", "\n", "\t", "\u202e", "李", "🚀", "\u0301"]),
    ),
    max_size=60,
)


@given(TEXT)
def test_safe_text_holds_no_control_character(text: str) -> None:
    out = safe(text)
    assert not CONTROL.search(out)
    assert safe(out) == out  # idempotent: printing twice never escapes twice
    if not CONTROL.search(text):
        assert out == text  # ordinary text is untouched


@given(TEXT, st.integers(min_value=1, max_value=40))
def test_fit_never_exceeds_the_width(text: str, width: int) -> None:
    clean = safe(" ".join(text.split()))
    cut = fit(clean, width)
    assert display_width(cut) <= max(width, 1)
    assert cut == clean or cut.endswith("…")


@settings(max_examples=60)
@given(
    st.lists(st.fixed_dictionaries({"id": st.from_regex(r"rec[0-9]{3}", fullmatch=True),
                                     "name": TEXT, "company": TEXT}), min_size=1, max_size=6),
    st.integers(min_value=40, max_value=120),
)  # fmt: skip
def test_tables_fit_and_columns_line_up(rows: list[dict[str, str]], width: int) -> None:
    lines = render_table(rows, (("id", "id"), ("name", "name"), ("company", "company")),
                         width=width).split("\n")  # fmt: skip
    assert len(lines) == len(rows) + 1
    for line in lines:
        assert not CONTROL.search(line)
        assert display_width(line) <= width
    # Every row's id starts the line, whole.
    for row, line in zip(rows, lines[1:], strict=True):
        assert (line + " ").startswith(row["id"] + " ")


def test_wide_characters_count_two_columns() -> None:
    assert display_width("李小龍") == 6
    assert display_width("e\u0301") == 1  # e + combining acute
    assert display_width("🚀") == 2
    assert unicodedata.east_asian_width("🚀") == "W"
    table = render_table(
        [{"id": "rec1", "name": "李小龍"}, {"id": "rec2", "name": "Bob"}],
        (("id", "id"), ("name", "name")),
        width=80,
    )
    assert [display_width(line.rstrip()) for line in table.split("\n")[1:]] == [12, 9]


def test_pairs_are_safe() -> None:
    assert render_pairs([("name", "A\x1b[2JB")]) == "name  A\\x1b[2JB"
