"""The comprehensiveness reward: distractor coverage and reasoning behaviours."""

from __future__ import annotations

import pytest
from crpo_cases import ANALYSIS, CHECK, FINDINGS, HONEST, ITEM, NO_ANALYSIS, WRONG_BOX, crpo

from clinr1.rewards import Comprehensiveness, comprehensiveness, score_completion


def comp(text: str) -> float:
    return comprehensiveness([text], **{k: [v] for k, v in ITEM.items()})[0]


def subs(text: str) -> dict:
    return score_completion(text, ITEM)


def test_honest_is_full() -> None:
    s = subs(HONEST)
    assert s["comprehensiveness"] == 1.0
    assert s["counts/options_ruled_out"] == 4


@pytest.mark.parametrize(
    ("text", "coverage"),
    [
        (HONEST, 1.0),  # the four distractors ruled out with reasons
        # no option analysed: E, called "the most appropriate" at first sight, is only narrated
        # against in the check ("looked attractive ... argue against it")
        (NO_ANALYSIS, 0.0),
        (crpo(FINDINGS + ANALYSIS.split("Option C")[0] + CHECK), 2 / 4),  # A and B analysed
        (WRONG_BOX, 0.0),  # the boxed option A is ruled out by the <dx> itself
        (crpo(FINDINGS + "Option A: ruled out.\nOption B: excluded.\n"), 0.0),  # no reasons
        (HONEST.replace("<conclusion>", "<conclusion>\n", 1).replace("</dx>", ""), 0.0),  # broken
    ],
)
def test_distractor_coverage(text: str, coverage: float) -> None:
    assert subs(text)["comprehensiveness/distractor_coverage"] == pytest.approx(coverage)


def test_templated_reasons_count_once() -> None:
    dx = FINDINGS + "".join(
        f"Option {k}: this drug does not treat the underlying marrow disease; ruled out.\n"
        for k in "ABCE"
    )
    assert subs(crpo(dx))["comprehensiveness/distractor_coverage"] == pytest.approx(1 / 4)
    # a word or two changed per option is still one reason
    varied = FINDINGS + "".join(
        f"Option {k}: this drug does not treat the underlying {w} disease; ruled out.\n"
        for k, w in zip("ABCE", ("marrow", "blood", "spleen", "bone"), strict=True)
    )
    assert subs(crpo(varied))["comprehensiveness/distractor_coverage"] == pytest.approx(1 / 4)
    # a generic sentence with no reason in it is none
    generic = FINDINGS + "".join(
        f"Option {k}: not consistent with the findings of this case; ruled out.\n" for k in "ABCE"
    )
    assert subs(crpo(generic))["comprehensiveness/distractor_coverage"] == 0.0


@pytest.mark.parametrize(
    ("sentence", "behaviour", "credited"),
    [
        # verification: a cue, the chosen option and a finding of the case
        ('To verify, option D is consistent with "A JAK 2 assay is positive".', "verification", 1),
        ("To verify, option D is consistent with the findings.", "verification", 0),  # no finding
        ('To verify, "A JAK 2 assay is positive" was rechecked.', "verification", 0),  # no option
        ("Verify. " * 50, "verification", 0),  # the keyword alone, repeated
        # backward chaining: a hypothesis (an option) followed to the data (a finding)
        (
            "If option D were right we would expect extensive fibrosis on the marrow.",
            "backward_chaining",
            1,
        ),
        (
            "If this were myelofibrosis we would expect extensive fibrosis on the marrow.",
            "backward_chaining",
            0,  # no option named
        ),
        ("If option D were right we would expect more.", "backward_chaining", 0),  # no finding
        ("We would expect more.", "backward_chaining", 0),  # no option, no finding
        # backtracking: revising a view of an option
        ("Wait, on reflection option A is the most appropriate after all.", "backtracking", 1),
        ("Initially option A looked attractive, but not here.", "backtracking", 0),  # narrated
        ("Wait, actually option B fits better than option E.", "backtracking", 0),  # no turn
        ("Wait. Actually. Let me reconsider.", "backtracking", 0),  # no option
        ("Wait, option E.", "backtracking", 0),  # an option, but no verdict changes
        # sub-goals: two distinct ordinal markers opening sentences of 4+ words
        ("First, list the key findings.\nThen, weigh each option.", "subgoal", 1),
        ("First, list the key findings.\nFirst, list the key findings.", "subgoal", 0),  # repeat
        ("First. Then. Finally.", "subgoal", 0),  # markers without content
    ],
)
def test_behaviours(sentence: str, behaviour: str, credited: int) -> None:
    # after a block on option A that shows no behaviour; the sentence ends the <dx>
    base = "Option A (Cladribine): a purine analogue for hairy cell leukemia; ruled out.\n"
    s = subs(crpo(base + sentence))
    assert s[f"comprehensiveness/{behaviour}"] == credited


def test_behaviours_capped_once() -> None:
    once = subs(HONEST)
    stuffed = subs(HONEST.replace(CHECK, CHECK * 5 + CHECK.replace("marrow", "bone marrow") * 3))
    assert stuffed["comprehensiveness"] == once["comprehensiveness"]
    assert stuffed["counts/backward_chaining"] > once["counts/backward_chaining"]  # still counted


def test_formula_and_params() -> None:
    s = subs(NO_ANALYSIS)
    expected = 0.6 * s["comprehensiveness/distractor_coverage"]
    expected += 0.4 * s["comprehensiveness/behaviours"]
    assert comp(NO_ANALYSIS) == pytest.approx(expected)
    behaviours_only = Comprehensiveness(coverage_weight=0.0)
    got = behaviours_only([NO_ANALYSIS], **{k: [v] for k, v in ITEM.items()})
    assert got == [pytest.approx(s["comprehensiveness/behaviours"])]
    with pytest.raises(ValueError, match="comprehensiveness"):
        Comprehensiveness(coverage_weight=2)


def test_no_credit_without_structure() -> None:
    assert comp(FINDINGS + ANALYSIS + CHECK + "\\boxed{D}") == 0.0
