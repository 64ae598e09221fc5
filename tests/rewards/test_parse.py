"""The item-independent parse: sections, boxes, quotes."""

from __future__ import annotations

import pytest

from clinr1.rewards.parse import box_letter, gold_letter, length_factor, parse, strict_answer

OPTS = {"A": "Cladribine", "B": "Prednisone", "C": "Imatinib", "D": "Ruxolitinib"}


@pytest.mark.parametrize(
    ("text", "template", "well_formed"),
    [
        ("<dx>a</dx><conclusion>b</conclusion>", "crpo", True),  # the template
        ("  <dx>a</dx>\n\n<conclusion>b</conclusion>\n", "crpo", True),  # whitespace around
        ("<DX>a</DX><Conclusion>b</Conclusion>", "crpo", True),  # tags are case-insensitive
        ("<conclusion>b</conclusion><dx>a</dx>", "crpo", False),  # wrong order
        ("<dx>a<conclusion>b</conclusion></dx>", "crpo", False),  # nested
        ("<dx><dx>a</dx></dx><conclusion>b</conclusion>", "crpo", False),  # nested in itself
        ("<dx>a<conclusion>b</conclusion>", "crpo", False),  # unclosed <dx>
        ("<dx>a</dx><conclusion>b", "crpo", False),  # unclosed <conclusion>
        ("<dx>a</dx><dx>a</dx><conclusion>b</conclusion>", "crpo", False),  # twice
        ("<dx>a</dx>", "crpo", False),  # no conclusion
        ("", "crpo", False),  # nothing
        ("<think>a</think><answer>b</answer>", "r1", True),  # r1 template
        ("<think>a</think><answer>b</answer>", "crpo", False),  # r1 tags for crpo
        ("some reasoning \\boxed{A}", "plain", True),  # plain: any non-blank text
        ("   ", "plain", False),  # plain: blank
    ],
)
def test_sections(text: str, template: str, well_formed: bool) -> None:
    assert parse(text, template).well_formed is well_formed


def test_sections_content_and_outside() -> None:
    p = parse("pre <dx> reasoning </dx> mid <conclusion> end \\boxed{B} </conclusion> post")
    assert p.reasoning.text == " reasoning "
    assert "\\boxed{B}" in p.conclusion.text
    assert p.outside.split() == ["pre", "mid", "post"]
    assert p.boxes[0].in_conclusion


def test_plain_splits_last_paragraph() -> None:
    p = parse('First "fever for 3 days".\n\nSo the answer is \\boxed{A}.', "plain")
    assert p.quotes == ("fever for 3 days",)
    assert p.conclusion.text.startswith("So the answer")
    assert p.boxes[0].in_conclusion


@pytest.mark.parametrize(
    ("content", "letter"),
    [
        ("C", "C"),  # bare
        (" (C) ", "C"),  # parenthesised, spaces
        ("C.", "C"),  # trailing period
        ("\\text{C}", "C"),  # LaTeX text wrapper
        ("\\mathrm{(c)}", "C"),  # wrapper, lower case
        ("A, C", None),  # two letters
        ("AC", None),  # two letters, run together
        ("C. Imatinib", None),  # the strict box holds a letter only
        ("", None),  # empty
        ("10", None),  # a number
    ],
)
def test_box_letter(content: str, letter: str | None) -> None:
    assert box_letter(content) == letter


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("\\boxed{D}", "D"),  # one box
        ("\\boxed{D} \\boxed{D}", None),  # two boxes, even equal
        ("\\boxed{D", None),  # unclosed
        ("\\boxed{D} and \\boxed{", None),  # one good box and a broken one
        ("\\boxed{F}", None),  # letter outside the options
        ("\\boxed {D}", "D"),  # space before the brace
        ("\\boxed{\\text{D}}", "D"),  # nested braces
    ],
)
def test_strict_answer(text: str, answer: str | None) -> None:
    assert strict_answer(parse(text), OPTS) == answer


def test_quotes_in_every_common_mark() -> None:
    p = parse(
        '<dx>"fever for 3 days", “a JAK 2 assay”, «night sweats at home», ‘the spleen’s edge’ '
        "and „weight loss of 5 kg“.</dx><conclusion>x</conclusion>"
    )
    assert p.quotes == (
        "fever for 3 days",
        "a JAK 2 assay",
        "night sweats at home",
        "the spleen’s edge",
        "weight loss of 5 kg",
    )


def test_quotes_only_from_reasoning() -> None:
    p = parse('"outside quote here"<dx>x</dx><conclusion>"in the conclusion"</conclusion>')
    assert p.quotes == ()


@pytest.mark.parametrize(
    ("answer", "letter"),
    [("B", "B"), ("b", "B"), (" B ", "B"), ("Prednisone", "B"), ("prednisone.", "B"), ("Z", None)],
)
def test_gold_letter(answer: str, letter: str | None) -> None:
    assert gold_letter(answer, OPTS) == letter


@pytest.mark.parametrize(
    ("n", "factor"), [(0, 1.0), (12_000, 1.0), (15_000, 0.5), (18_000, 0.0), (50_000, 0.0)]
)
def test_length_factor(n: int, factor: float) -> None:
    assert length_factor(n) == pytest.approx(factor)
