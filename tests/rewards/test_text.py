"""Plain-text helpers: sentence units, quotes, normalisation, completions as text."""

from __future__ import annotations

import pytest

from clinr1.rewards.text import (
    blank_quotes,
    completion_text,
    find_quotes,
    informative_pairs,
    is_informative,
    normalise,
    split_units,
)


def units(text: str) -> list[str]:
    s = split_units(text)
    return [s.unit(i) for i in range(len(s.spans))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),  # sentence ends
        ("Hemoglobin 6.4 g/dL is low.", ["Hemoglobin 6.4 g/dL is low."]),  # decimals
        ("A. Cladribine: no. Ruled out.", ["A. Cladribine: no.", "Ruled out."]),  # a label
        ("**B.** Prednisone fits.", ["**B.** Prednisone fits."]),  # a bold label
        ("1. First item here.\n2. Second.", ["1. First item here.", "2. Second."]),  # a list
        ("e.g. fever, vs. rash.", ["e.g. fever, vs. rash."]),  # abbreviations
        ("B. fragilis grows. Then stop.", ["B. fragilis grows.", "Then stop."]),  # an initial
        ("It is option A. Wait, verify.", ["It is option A.", "Wait, verify."]),  # letter ends
        ("line one\n\n  line two  ", ["line one", "line two"]),  # lines, trimmed
        ("", []),
    ],
)
def test_split_units(text: str, expected: list[str]) -> None:
    assert units(text) == expected


def test_quotes_and_blanking() -> None:
    text = 'B fits "not ruled out" and «a rash» but ‘the patient’s cough’ too'
    assert find_quotes(text) == ("not ruled out", "a rash", "the patient’s cough")
    blanked = blank_quotes(text)
    assert len(blanked) == len(text) and "ruled" not in blanked and blanked.startswith("B fits")


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


def test_informative_words_and_pairs() -> None:
    assert is_informative("fibrosis") and not is_informative("physician")
    assert not is_informative("72") and not is_informative("the")
    pairs = informative_pairs(["a", "72", "year", "old", "man", "comes", "to", "the", "physician"])
    assert pairs == set()  # scene-setting only
    assert ("extensive", "fibrosis") in informative_pairs(["shows", "extensive", "fibrosis"])
