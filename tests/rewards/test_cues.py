"""Verdict cues: strong before weak, negations read whole, negative stems turned over."""

from __future__ import annotations

import pytest

from clinr1.rewards.cues import find_cues, verdict_of


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Used for hairy cell leukemia; ruled out.", "out"),  # strong rule-out
        ("This is unlikely given the marrow.", "out"),  # strong rule-out
        ("Not consistent with the marrow findings.", "out"),  # negated support
        ("It is not the most likely diagnosis.", "out"),  # negated strong support
        ("It does not treat the neoplasm.", "out"),  # weak rule-out
        ("so it is not the answer", "out"),  # a multi-word negation, read whole
        ("it is not the correct answer", "out"),
        ("it does not fit", "out"),  # "does not" + "fit": one rule-out, not a tie
        ("the others are not the answer", "out"),  # plural: "are not" joins the answer cue
        ("these were not the best options", "out"),
        ("Cerebral ischemia is a recognised distractor here.", "out"),  # not the answer
        ("Both are classic distractors.", "out"),
        ("It is not a distractor; the findings fit it.", "in"),
        ("Cannot be ruled out; it is the most likely diagnosis.", "in"),  # a hedge, then support
        ("This cannot be excluded.", "none"),  # a hedge is no verdict
        ("Consistent with the findings; most appropriate.", "in"),  # support
        ("Indicated for hairy cell leukemia, but ruled out here.", "out"),  # strong beats weak
        ("It doesn't cure it, but it is the most appropriate step.", "in"),  # strong beats weak
        ("It is the correct answer.", "in"),
        ("Incorrect.", "out"),
        ("It is used to treat false evidence.", "none"),  # an adjective, not a verdict
        ("Ruxolitinib is a JAK inhibitor.", "none"),  # no verdict
        ("", "none"),  # nothing
    ],
)
def test_verdict_of(text: str, verdict: str) -> None:
    assert verdict_of(text) == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("A typical feature of the disease; not the exception.", "out"),  # fits: not the answer
        ("It is not associated with the disease; this is the exception.", "in"),
        ("This statement is false.", "in"),  # "which statement is false?"
        ("True; ruled out.", "out"),
        ("It does not supply the circle of Willis.", "in"),  # the one that does not fit
        ("The others are not the answer.", "out"),  # an answer cue: the same on any stem
    ],
)
def test_verdicts_on_negative_stems(text: str, verdict: str) -> None:
    assert verdict_of(text, negative=True) == verdict


def test_cues_carry_behaviours() -> None:
    kinds = [(c.verdict, sorted(c.behaviours)) for c in find_cues("wait, verify; ruled out.")]
    assert kinds == [(None, ["backtracking"]), (None, ["verification"]), ("ans-", [])]
