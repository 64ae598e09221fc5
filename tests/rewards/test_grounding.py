"""Quotes against the case: grounded findings, invented ones, boiler-plate, stem copying."""

from __future__ import annotations

import pytest
from crpo_cases import QUESTION

from clinr1.rewards.grounding import COPY_FLOOR, case_body, case_model, check_quotes

SHORT = "Which of the following increases callus formation after a fracture of the tibia?"


def test_boilerplate_quotes_earn_nothing() -> None:
    g = check_quotes(
        ("A 72-year-old man comes to the physician", "Vital signs are within normal limits"),
        QUESTION,
    )
    assert g.grounded == () and g.boilerplate == 2 and g.score == 0.0


def test_overlapping_quotes_are_one_finding() -> None:
    windows = (
        "extensive fibrosis and a few",
        "fibrosis and a few scattered",
        "and a few scattered plasma",
    )
    g = check_quotes(windows, QUESTION)
    assert len(g.grounded) == 3 and g.findings == 1
    distinct = check_quotes(("extensive fibrosis and a few", "A JAK 2 assay is positive"), QUESTION)
    assert distinct.findings == 2 and distinct.score > g.score


def test_paraphrase_is_neutral_but_a_changed_number_is_invented() -> None:
    g = check_quotes(("the spleen palpated 6 cm below the costal margin",), QUESTION)
    assert (g.paraphrased, g.fabricated) == (1, ())
    g = check_quotes(("The spleen is palpated 9 cm below the left costal margin",), QUESTION)
    assert len(g.fabricated) == 1


def test_stem_copying_counts_invented_quotes_too() -> None:
    """Quoting the stem with one word changed per sentence still copies it."""
    body = case_body(QUESTION).replace("\n", " ").split(". ")
    altered = tuple(s.replace(" is ", " was ", 1) for s in body if len(s.split()) >= 3)
    g = check_quotes(altered, QUESTION)
    assert g.stem_copy and g.score == 0.0


def test_a_short_stem_can_be_quoted_without_copying() -> None:
    quotes = ("increases callus formation", "a fracture of the tibia")
    g = check_quotes(quotes, SHORT)
    assert len(case_model(SHORT).words) < COPY_FLOOR
    assert not g.stem_copy and g.findings == 2 and g.score == 1.0


def test_saturation_is_capped_by_what_the_case_offers() -> None:
    one = "All of the following influence the efficiency of bur, except:"
    assert case_model(one).offer == 1
    g = check_quotes(("influence the efficiency of bur",), one)
    assert g.saturation == 1 and g.score == 1.0
    assert check_quotes(("A JAK 2 assay is positive",), QUESTION).saturation == 3


def test_swapping_a_true_quote_for_an_invented_one_on_a_short_stem() -> None:
    """The issue's case: on short stems the swap used to raise faithfulness (0.33 -> 0.72)."""
    honest = check_quotes(("increases callus formation", "a fracture of the tibia"), SHORT)
    swapped = check_quotes(
        ("increases callus formation", "a history of rickets in childhood"), SHORT
    )
    assert swapped.score < honest.score


@pytest.mark.parametrize(
    ("question", "body"),
    [
        (
            "A boy has a cough and fever for days. Which is the diagnosis?",
            "A boy has a cough and fever for days.",
        ),
        ("I.V. anesthesia is:", "I.V. anesthesia is:"),  # one sentence: all case
        ("Short. Which is it?", "Short. Which is it?"),  # too little before the lead-in
    ],
)
def test_case_body(question: str, body: str) -> None:
    assert case_body(question) == body


@pytest.mark.parametrize(
    "quote",
    [
        "A JAK 2 assay is negative",  # the case says positive
        "The spleen is not palpated",  # a negation the case never made
        "Hemoglobin 12 g/dL",  # a number of the case ("12-lb") moved next to another word
        "because of a 72-month history of fatigue",
    ],
)
def test_a_quote_that_changes_the_meaning_is_invented(quote: str) -> None:
    assert len(check_quotes((quote,), QUESTION).fabricated) == 1


@pytest.mark.parametrize(
    "quote",
    [
        "JAK2 assay is positive",  # letters and digits apart or together
        "a 2-month history of fatigue ... excessive night sweats",  # two findings, elided
        "5.6-kg weight loss",  # a loose quote of a real finding: neutral
    ],
)
def test_faithful_quotes_are_not_invented(quote: str) -> None:
    assert check_quotes((quote,), QUESTION).fabricated == ()


def test_ascii_single_quotes_are_quotes() -> None:
    from clinr1.rewards.parse import parse

    text = "<dx>The case gives 'extensive fibrosis' and the patient's age.</dx><conclusion>x"
    p = parse(text + "</conclusion>")
    assert p.quotes == ("extensive fibrosis",)
