"""The strict accuracy reward: one box, holding the gold letter."""

from __future__ import annotations

import pytest
from crpo_cases import HONEST, OPTIONS

from clinr1.rewards import Accuracy, accuracy

ITEM = {"answer": "D", "options": OPTIONS}


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (HONEST, 1.0),  # the honest, correct completion
        (HONEST.replace("\\boxed{D}", "\\boxed{A}"), 0.0),  # a wrong letter
        ("\\boxed{D}", 1.0),  # the box alone is enough for accuracy
        ("\\boxed{A}\\boxed{B}\\boxed{C}\\boxed{D}\\boxed{E}", 0.0),  # attack: every letter boxed
        ("\\boxed{D} \\boxed{D}", 0.0),  # attack: several boxes, even if equal
        ("\\boxed{A, B, C, D, E}", 0.0),  # attack: several letters in one box
        ("\\boxed{ABCDE}", 0.0),  # attack: letters run together
        ("\\boxed{F}", 0.0),  # a letter outside the options
        ("\\boxed{d}", 1.0),  # lower case is the same letter
        ("\\boxed{(D)}", 1.0),  # parenthesised
        ("\\boxed{Ruxolitinib}", 0.0),  # the option's text is not a letter (strict)
        ("The answer is D.", 0.0),  # no box
        ("\\boxed{D", 0.0),  # unclosed box
        ("", 0.0),  # empty
    ],
)
def test_accuracy(text: str, score: float) -> None:
    assert accuracy([text], **{k: [v] for k, v in ITEM.items()}) == [score]


def test_accuracy_conversational_batch() -> None:
    completions = [[{"role": "assistant", "content": c}] for c in ("\\boxed{D}", "\\boxed{C}")]
    scores = Accuracy()(
        completions,
        answer=["D", "C"],
        options=[OPTIONS, OPTIONS],
        prompts=[[{"role": "user", "content": "q"}]] * 2,
        completion_ids=[[1], [2]],
        trainer_state=None,
    )
    assert scores == [1.0, 1.0]


def test_accuracy_answer_as_text_and_arrow_options() -> None:
    arrow = {**OPTIONS, "F": None}  # Arrow fills missing options with None
    assert accuracy(["\\boxed{D}"], answer=["Ruxolitinib"], options=[arrow]) == [1.0]
