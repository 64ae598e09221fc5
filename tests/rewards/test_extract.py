"""Answer extraction for evaluation: lenient, ordered, limited to the item's options."""

from __future__ import annotations

import pytest

from clinr1.rewards import extract_answer

OPTS = {"A": "Cladribine", "B": "Prednisone", "C": "Imatinib", "D": "Ruxolitinib"}


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("... \\boxed{C}", "C"),  # a box
        ("\\boxed{A} first, then \\boxed{D}", "D"),  # the last box wins
        ("\\boxed{(b)}", "B"),  # parenthesised, lower case alone
        ("\\boxed{\\text{C}}", "C"),  # LaTeX wrapper
        ("\\boxed{C. Imatinib}", "C"),  # letter then its text
        ("\\boxed{F} but the answer is B", "B"),  # box outside the options: next rule
        ("<answer>D</answer>", "D"),  # the <answer> section
        ("<answer> (C) Imatinib </answer>", "C"),  # <answer> opening with a letter
        ("Final answer: B", "B"),  # Final answer: X
        ("final answer is **C**", "C"),  # bold
        ("Final Answer - (A).", "A"),  # dash, parentheses, period
        ("So the answer is D.", "D"),  # the answer is X.
        ("The correct answer is option (B)", "B"),  # correct answer, Option (X)
        ("The answer is **A**", "A"),  # bold
        ("the answer is a JAK inhibitor", None),  # an article is not a letter
        ("The answer is E", None),  # not an option
        ("no answer here", None),  # nothing
        ("", None),  # empty
        ("Final answer: Ruxolitinib", None),  # option text needs the lenient mode
    ],
)
def test_extract(text: str, letter: str | None) -> None:
    assert extract_answer(text, OPTS) == letter


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Final answer: Ruxolitinib", "D"),  # option text after "Final answer"
        ("\\boxed{imatinib}", "C"),  # option text in a box
        ("The answer is prednisone therapy.", "B"),  # option text inside the span
        ("The answer is Aspirin", None),  # no option's text
        ("\\boxed{B}", "B"),  # letters still work
    ],
)
def test_extract_text_mode(text: str, letter: str | None) -> None:
    assert extract_answer(text, OPTS, match_text=True) == letter


def test_extract_order_box_before_phrase() -> None:
    # the box is the first rule, even when a phrase names another option later
    assert extract_answer("\\boxed{A}. Final answer: B", OPTS) == "A"


def test_extract_takes_any_options_value() -> None:
    assert extract_answer("\\boxed{B}", '{"A": "x", "B": "y"}') == "B"  # JSON string
    assert extract_answer("\\boxed{B}", ["x", "y"]) == "B"  # list of texts
    assert extract_answer("\\boxed{B}", None) is None  # no options: no letter
