"""The one markdown block scanner: headings, list items, table rows and code as CommonMark
draws them, so nothing inside a fence of any length is read as a heading, item or row."""

from __future__ import annotations

import pytest

from services.documents.markdown import (
    BLANK,
    BREAK,
    CODE,
    HEADING,
    ITEM,
    ROW,
    TEXT,
    scan,
    split_row,
    tables,
)


def kinds(text: str) -> list[str]:
    return [b.kind for b in scan(text)]


def headings(text: str) -> list[tuple[int, int, str]]:
    return [(b.line, b.level, b.text) for b in scan(text) if b.kind == HEADING]


# --- headings -------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "level", "text"), [
    pytest.param("# Title", 1, "Title", id="level one"),
    pytest.param("###### Deepest", 6, "Deepest", id="level six"),
    pytest.param("## Q1 2027 ##", 2, "Q1 2027", id="closing hashes dropped"),
    pytest.param("### C#", 3, "C#", id="a hash inside a word stays"),
    pytest.param("   ## Indented three", 2, "Indented three", id="three spaces of indent"),
    pytest.param("#", 1, "", id="an empty heading"),
])
def test_atx_headings_give_level_and_text(line, level, text):
    assert headings(line) == [(1, level, text)]


@pytest.mark.parametrize("line", [
    pytest.param("####### Seven", id="seven hashes"),
    pytest.param("#hashtag", id="no space after the hashes"),
    pytest.param("    # four spaces", id="four spaces of indent"),
])
def test_lines_that_only_look_like_headings_are_not(line):
    assert headings(line) == []


def test_setext_underlines_make_headings_of_the_paragraph_above():
    text = "Roadmap\n=======\n\nBeta\nmilestone\n---\n"
    assert headings(text) == [(1, 1, "Roadmap"), (4, 2, "Beta milestone")]


@pytest.mark.parametrize("text", [
    pytest.param("\n---\n", id="after a blank line"),
    pytest.param("- [ ] item\n---\n", id="after a list item"),
    pytest.param("- [ ] item\nlazy continuation\n---\n", id="after an item's continuation"),
    pytest.param("| a |\n---\n", id="after a table row"),
])
def test_a_dash_rule_that_underlines_no_paragraph_is_a_thematic_break(text):
    assert headings(text) == []
    assert BREAK in kinds(text)


def test_front_matter_is_not_a_setext_heading():
    text = "---\ntitle: Plan\n---\n# Plan\n"
    assert headings(text) == [(4, 1, "Plan")]
    assert kinds(text)[:3] == [CODE, CODE, CODE]


# --- fences ---------------------------------------------------------------------------------

INSIDE = "# not a heading\n- [ ] not an item\n| not | a row |\n"


@pytest.mark.parametrize("fence", ["```", "````", "`````", "~~~", "~~~~", "   ```"])
def test_nothing_inside_a_fence_of_any_length_is_a_heading_item_or_row(fence):
    text = f"{fence}\n{INSIDE}{fence.strip()}\n# after\n"
    assert kinds(text) == [CODE] * (1 + 3 + 1) + [HEADING]  # the fences and INSIDE's lines


@pytest.mark.parametrize(("opening", "inner"), [
    pytest.param("````", "```", id="a shorter fence of the same char"),
    pytest.param("```", "~~~", id="a fence of the other char"),
    pytest.param("~~~~", "~~~", id="shorter tildes"),
    pytest.param("```", "``` python", id="a fence with an info string"),
])
def test_a_fence_closes_only_on_the_same_char_at_least_as_long(opening, inner):
    text = f"{opening} markdown\n{inner}\n{INSIDE}{inner}\n{opening}\n# after\n"
    # the opening, the inner line, the three of INSIDE, the inner line again, the closing
    assert kinds(text) == [CODE] * 7 + [HEADING]


def test_a_longer_closing_fence_closes():
    assert kinds("```\n# in\n`````\n# out\n") == [CODE, CODE, CODE, HEADING]


def test_an_unclosed_fence_runs_to_the_end():
    assert set(kinds("text\n~~~\n# in\n- [ ] in\n")[1:]) == {CODE}


@pytest.mark.parametrize("line", [
    pytest.param("    ```", id="four spaces of indent"),
    pytest.param("``` a`b", id="a backtick in a backtick fence's info string"),
    pytest.param("``", id="two backticks"),
])
def test_lines_that_only_look_like_fences_open_nothing(line):
    assert kinds(f"{line}\n# heading\n")[1] == HEADING


# --- list items, rows, the rest -------------------------------------------------------------


@pytest.mark.parametrize(("line", "indent", "text"), [
    pytest.param("- [ ] open", 0, "[ ] open", id="dash"),
    pytest.param("* [x] done", 0, "[x] done", id="star"),
    pytest.param("+ plain", 0, "plain", id="plus"),
    pytest.param("12. numbered", 0, "numbered", id="dot"),
    pytest.param("3) numbered", 0, "numbered", id="parenthesis"),
    pytest.param("    - nested", 4, "nested", id="four spaces"),
    pytest.param("\t- tabbed", 4, "tabbed", id="a tab is four columns"),
    pytest.param("  \t- mixed", 4, "mixed", id="a tab stops at the next multiple of four"),
])
def test_list_items_give_indent_in_columns_and_their_text(line, indent, text):
    (block,) = scan(line)
    assert (block.kind, block.indent, block.text) == (ITEM, indent, text)


@pytest.mark.parametrize("line", ["- - -", "* * *", "___", "***"])
def test_thematic_breaks_are_not_list_items(line):
    assert kinds(line) == [BREAK]


def test_every_line_is_classified_in_order():
    text = "# A\n\nsome text\n| a | b |\n- item\n"
    assert kinds(text) == [HEADING, BLANK, TEXT, ROW, ITEM]
    assert [b.line for b in scan(text)] == [1, 2, 3, 4, 5]


def test_a_table_is_header_delimiter_and_body_with_escaped_bars():
    text = "| Name | Note |\n|:---|---:|\n| a | x \\| y |\n| b | |\n\n| no | delimiter |\n"
    (table,) = tables(scan(text))
    assert (table.line, table.header) == (1, ["Name", "Note"])
    assert table.rows == [(3, ["a", "x | y"]), (4, ["b", ""])]


def test_a_table_inside_a_four_backtick_fence_is_no_table():
    text = "````\n```\n| A | B |\n|---|---|\n| 1 | 2 |\n```\n````\n| C | D |\n|---|---|\n"
    assert [t.header for t in tables(scan(text))] == [["C", "D"]]


def test_split_row_keeps_empty_cells():
    assert split_row("| a || c |") == ["a", "", "c"]
