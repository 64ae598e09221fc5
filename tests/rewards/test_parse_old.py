"""The shared parser: sections, boxes, quotes, option mentions, verdicts, blocks."""

from __future__ import annotations

import pytest
from crpo_cases import HONEST, OPTIONS

from clinr1.rewards.parse import (
    box_letter,
    completion_text,
    find_mentions,
    gold_letter,
    length_factor,
    normalise,
    parse,
    read,
    strict_answer,
    verdict_of,
)

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


def test_quotes_straight_and_curly() -> None:
    p = parse('<dx>"fever for 3 days" and “a JAK 2 assay”.</dx><conclusion>x</conclusion>')
    assert set(p.quotes) == {"fever for 3 days", "a JAK 2 assay"}


def test_quotes_only_from_reasoning() -> None:
    p = parse('"outside quote here"<dx>x</dx><conclusion>"in the conclusion"</conclusion>')
    assert p.quotes == ()


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("Option A is out", ["A"]),  # Option X
        ("option (B) fits", ["B"]),  # lower-case word, parenthesised letter
        ("Options C and D", ["C"]),  # plural word; a bare "D" later is not read
        ("(C) is wrong", ["C"]),  # (X)
        ("see C) here", ["C"]),  # X)
        ("\nA. Cladribine: no", ["A", "A"]),  # X. at a line start, then its text
        ("Then. B: prednisone", ["B", "B"]),  # X: after a sentence end, then its text
        ("vitamin A. Yes", []),  # X. inside a sentence is not a mention
        ("HbA) level", []),  # X) inside a word
        ("ruxolitinib works", ["D"]),  # option text, case-insensitive
        ("Imatinibs", []),  # whole words only
        ("A 72-year-old man", []),  # an article is not a mention
        ("Option F", []),  # not an option of this item
    ],
)
def test_mentions(text: str, letters: list[str]) -> None:
    assert [letter for _, letter in find_mentions(text, OPTS)] == letters


def test_mentions_longest_option_text_wins() -> None:
    opts = {"A": "Average", "B": "Low average."}
    assert [x for _, x in find_mentions("This is low average.", opts)] == ["B"]


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Used for hairy cell leukemia; ruled out.", "out"),  # strong rule-out
        ("This is unlikely given the marrow.", "out"),  # strong rule-out
        ("Not consistent with the marrow findings.", "out"),  # negated support
        ("It is not the most likely diagnosis.", "out"),  # negated strong support
        ("It does not treat the neoplasm.", "out"),  # weak rule-out
        ("Cannot be ruled out; it is the most likely diagnosis.", "in"),  # negated rule-out
        ("Consistent with the findings; most appropriate.", "in"),  # support
        ("Indicated for hairy cell leukemia, but ruled out here.", "out"),  # mixed, strong wins
        ("Ruxolitinib is a JAK inhibitor.", "none"),  # no verdict
        ("", "none"),  # nothing
    ],
)
def test_verdict_of(text: str, verdict: str) -> None:
    assert verdict_of(text) == verdict


def test_honest_reading() -> None:
    r = read(HONEST, OPTIONS)
    assert r.boxed == "D"
    assert r.dx_favoured == "D"
    assert {k: a.verdict for k, a in r.assessments.items()} == {
        "A": "out",
        "B": "out",
        "C": "out",
        "D": "in",
        "E": "out",
    }
    assert all(a.reasoned for a in r.assessments.values())
    assert r.conclusion_named == {"D"}
    assert not (r.conclusion_hedged - {"D"})


def test_blocks_follow_headers() -> None:
    dx = (
        "Option A: used in hairy cell leukemia, not here.\nRuled out.\n"
        "Option B: the marrow and spleen findings fit well; most likely.\n"
        "C) Imatinib targets BCR-ABL which this case lacks; excluded."
    )
    text = f"<dx>{dx}</dx><conclusion>Option B. \\boxed{{B}}</conclusion>"
    r = read(text, {"A": "x", "B": "y", "C": "Imatinib"})
    assert {k: a.verdict for k, a in r.assessments.items()} == {"A": "out", "B": "in", "C": "out"}
    assert r.dx_favoured == "B"


def test_repeated_sentences_do_not_make_blocks() -> None:
    dx = "Option A: ruled out because it is wrong here. " * 3
    r = read(f"<dx>{dx}</dx><conclusion>\\boxed{{B}}</conclusion>", {"A": "x", "B": "y"})
    assert list(r.assessments) == ["A"]


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("plain", "plain"),  # a string
        ([{"role": "assistant", "content": "hi"}], "hi"),  # conversational
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "a"),
        ([{"role": "assistant", "content": [{"type": "text", "text": "p"}]}], "p"),  # parts
        ({"content": "d"}, "d"),  # one message
        (None, ""),  # nothing
        (42, "42"),  # anything else
    ],
)
def test_completion_text(completion: object, text: str) -> None:
    assert completion_text(completion) == text


def test_normalise() -> None:
    assert normalise("Hemoglobin 6.4 g/dL;  “JAK-2” (+)") == "hemoglobin 6 4 g dl jak 2"


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
