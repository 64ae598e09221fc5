"""The format reward: the template's structure."""

from __future__ import annotations

import pytest
from crpo_cases import HONEST, OPTIONS

from clinr1.rewards import Format

OK = "<dx>reasoning</dx>\n<conclusion>so \\boxed{D}</conclusion>"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (HONEST, 1.0),  # the honest completion
        (OK, 1.0),  # minimal structure
        ("Sure!\n" + OK, 1.0),  # a word or two outside is tolerated (max_outside_words=3)
        ("Here is a long preamble before it all. " + OK, 2 / 3),  # substantive text outside
        ("<dx>x \\boxed{D}</dx><conclusion>y</conclusion>", 2 / 3),  # box in <dx>, not concl.
        ("<dx>x</dx><conclusion>\\boxed{D}\\boxed{A}</conclusion>", 2 / 3),  # two boxes
        ("<dx>x</dx><conclusion>no box</conclusion>", 2 / 3),  # no box
        ("<dx>x<conclusion>\\boxed{D}</conclusion>", 0.0),  # attack: unclosed <dx>
        ("<dx><dx>x</dx></dx><conclusion>\\boxed{D}</conclusion>", 0.0),  # attack: nested
        ("<conclusion>\\boxed{D}</conclusion><dx>x</dx>", 0.0),  # wrong order
        ("\\boxed{D}", 0.0),  # no sections
        ("", 0.0),  # empty
    ],
)
def test_format_crpo(text: str, score: float) -> None:
    assert Format()([text], options=[OPTIONS]) == [pytest.approx(score)]


@pytest.mark.parametrize(
    ("text", "template", "score"),
    [
        ("<think>x</think><answer>\\boxed{D}</answer>", "r1", 1.0),  # r1 structure
        ("<think>x</think>\\boxed{D}", "r1", 0.0),  # r1 without <answer>
        ("Reasoning here.\n\nSo \\boxed{D}.", "plain", 1.0),  # plain: one box at the end
        ("\\boxed{D} and then a long tail of more words after it", "plain", 2 / 3),  # tail
        ("no box at all", "plain", 2 / 3),  # plain without a box
    ],
)
def test_format_other_templates(text: str, template: str, score: float) -> None:
    assert Format(template)([text], options=[OPTIONS]) == [pytest.approx(score)]


def test_format_params() -> None:
    strict = Format(max_outside_words=0)
    assert strict(["Sure!\n" + OK], options=[OPTIONS]) == [pytest.approx(2 / 3)]
    with pytest.raises(ValueError, match="format"):
        Format(max_outside_words=-1)
