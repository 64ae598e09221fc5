"""Where a text names an item's options: every common format, and contrast marking."""

from __future__ import annotations

import pytest

from clinr1.rewards.options import find_mentions

OPTS = {"A": "Cladribine", "B": "Prednisone", "C": "Imatinib", "D": "Ruxolitinib"}


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("Option A is out", ["A"]),  # Option X
        ("option (B) fits", ["B"]),  # lower-case word, parenthesised letter
        ("Options A, B and C are out", ["A", "B", "C"]),  # a list after "Options"
        ("A, B and D are ruled out", ["A", "B", "D"]),  # a list opening a sentence
        ("(A) or (C) fits", ["A", "C"]),
        ("(C) is wrong", ["C"]),  # (X)
        ("see C) here", ["C"]),  # X)
        ("\nA. Cladribine: no", ["A", "A"]),  # X. at a line start, then its text
        ("Then. B: prednisone", ["B", "B"]),  # X: after a sentence end, then its text
        ("- **A. Cladribine**: no", ["A", "A"]),  # a markdown bullet with bold
        ("### Option B: steroids", ["B"]),  # a markdown header
        ("| C | Imatinib | z |", ["C", "C"]),  # a table row
        ("| **D** | z |", ["D"]),  # a bold letter in a table cell
        ("1. Option A (x): y", ["A"]),  # a numbered list
        ("D - the JAK inhibitor", ["D"]),  # a letter and a dash
        ("B is wrong", ["B"]),  # a letter opening a sentence, then a verb
        ("Answer: D", ["D"]),  # an answer label
        ("vitamin A. Yes", []),  # X. inside a sentence is not a mention
        ("HbA) level", []),  # X) inside a word
        ("ruxolitinib works", ["D"]),  # option text, case-insensitive
        ("Imatinibs", []),  # whole words only
        ("A 72-year-old man", []),  # an article is not a mention
        ("Option F", []),  # not an option of this item
    ],
)
def test_mentions(text: str, letters: list[str]) -> None:
    assert [m.letter for m in find_mentions(text, OPTS)] == letters


def test_longest_option_text_wins() -> None:
    opts = {"A": "Average", "B": "Low average."}
    assert [m.letter for m in find_mentions("This is low average.", opts)] == ["B"]


def test_abbreviated_names_are_not_labels() -> None:
    opts = {"A": "x", "B": "B. fragilis is anaerobic", "E": "y"}
    assert find_mentions("\nB. fragilis is anaerobic", opts)[0].by_text
    assert [m.letter for m in find_mentions("\nE. coli grows", opts)] == []


def test_common_words_are_not_option_texts() -> None:
    assert (
        find_mentions("There is no fever, maybe later.", {"A": "yes", "B": "no", "C": "maybe"})
        == []
    )


@pytest.mark.parametrize(
    ("text", "contrast"),
    [
        ("ruxolitinib rather than imatinib", [False, True]),
        ("unlike option C, it targets JAK2", [True]),
        ("preferred over (C)", [True]),
        ("not option C but option D", [True, False]),
        ("C and D both fit", [False, False]),
    ],
)
def test_contrast_marks(text: str, contrast: list[bool]) -> None:
    assert [m.contrast for m in find_mentions(text, OPTS)] == contrast


ANAEMIAS = {
    "A": "Iron deficiency anemia",
    "B": "Beta thalassemia minor",
    "C": "Anemia of chronic disease",
    "D": "Vitamin B12 deficiency",
    "E": "Sideroblastic anemia",
}


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("the answer is iron deficiency", ["A"]),  # a short form: its words, in no other option
        ("a case of chronic disease", ["C"]),
        ("thalassemia minor and B12 deficiency", ["B", "D"]),
        ("iron deficiency anaemia", ["A"]),  # British spelling of the whole text
        ("sideroblastic anaemia", ["E"]),
        ("a deficiency of iron", []),  # not its words in a row
        ("the anemia here", []),  # in three options: names none
        ("deficiency", []),  # one word is no short form
    ],
)
def test_short_forms_and_spellings_name_an_option(text: str, letters: list[str]) -> None:
    assert [m.letter for m in find_mentions(text, ANAEMIAS)] == letters


def test_statements_get_no_short_forms() -> None:
    opts = {"A": "It is caused by a deficiency of vitamin C in the diet", "B": "Scurvy"}
    assert [m.letter for m in find_mentions("a deficiency of vitamin C", opts)] == []


def test_a_short_form_read_first_wins_an_overlap() -> None:
    opts = {"A": "Small cell lung cancer", "B": "Squamous cell carcinoma", "C": "Mesothelioma"}
    assert [m.letter for m in find_mentions("a small cell carcinoma", opts)] == ["A"]


def test_a_short_form_in_the_case_names_nothing() -> None:
    opts = {"A": "Increased plasma glucose", "B": "Decreased insulin", "C": "Ketosis"}
    case = "His plasma glucose is 320 mg/dL."
    assert [m.letter for m in find_mentions("high plasma glucose", opts, case)] == []
    assert [m.letter for m in find_mentions("increased plasma glucose", opts, case)] == ["A"]


def test_options_named_on_one_line_only() -> None:
    opts = {"A": "Cladribine", "B": "Prednisone"}
    mentions = find_mentions("We weigh each option:\nA. Cladribine", opts)
    assert (mentions[0].letter, mentions[0].start) == ("A", 22)  # its own line, not "option:"
