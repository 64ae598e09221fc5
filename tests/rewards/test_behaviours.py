"""Reasoning behaviours need substance, and one sentence earns at most one."""

from __future__ import annotations

from crpo_cases import ITEM, crpo

from clinr1.rewards import score_completion

BASE = (
    "Option A (Cladribine): a purine analogue for hairy cell leukemia; ruled out.\n"
    "Option D (Ruxolitinib): a JAK inhibitor for myelofibrosis; most appropriate.\n"
)
CONCLUSION = "Ruxolitinib (D) fits the extensive fibrosis. \\boxed{D}"


def behaviours(dx: str, conclusion: str = CONCLUSION) -> dict[str, float]:
    s = score_completion(crpo(BASE + dx, conclusion), ITEM)
    return {k.split("/")[1]: v for k, v in s.items() if k.startswith("comprehensiveness/")}


def test_one_sentence_earns_one_behaviour() -> None:
    crammed = (
        "Wait, to verify: if option D were right we would expect extensive fibrosis, and option D "
        "is indeed consistent with the extensive fibrosis, so option A is out."
    )
    b = behaviours(crammed)
    assert sum(b[k] for k in ("verification", "backward_chaining", "backtracking")) == 1


def test_separate_sentences_earn_separately() -> None:
    dx = (
        "To verify, option D is consistent with the extensive fibrosis.\n"
        "If option D were right, we would expect a positive JAK 2 assay, and the assay is positive."
    )
    b = behaviours(dx)
    assert b["verification"] == 1 and b["backward_chaining"] == 1


def test_a_header_takes_its_anchor_from_the_next_sentence_and_uses_it_up() -> None:
    dx = "Let me verify.\nOption D is consistent with the extensive fibrosis."
    assert behaviours(dx)["verification"] == 1
    dx = "Let me verify.\nIf option D were right, we would expect extensive fibrosis."
    b = behaviours(dx)
    assert b["verification"] + b["backward_chaining"] == 1  # the one sentence of substance


def test_a_cue_line_does_not_borrow_the_conclusion() -> None:
    text = crpo(BASE + "Wait, verify: we would expect option D here.", CONCLUSION)
    s = score_completion(text, ITEM)
    assert (
        s["comprehensiveness/verification"] == 0 and s["comprehensiveness/backward_chaining"] == 0
    )


def test_verification_needs_the_leading_option() -> None:
    assert (
        behaviours("To verify, option A is consistent with the extensive fibrosis.")["verification"]
        == 0
    )


def test_backtracking_needs_a_turned_verdict() -> None:
    """A revision turns a standing verdict over; a sentence that only narrates one does not
    (the stock "Actually, option D fits better than option A." raised C on every item)."""

    def credited(sentence: str) -> float:
        return behaviours(sentence)["backtracking"]

    assert credited("Wait, option A again.") == 0
    assert credited("Wait, actually option A is ruled out for a second reason.") == 0
    assert credited("Actually, option D fits better than option A.") == 0
    assert credited("Initially option A seemed likely, but the marrow argues against it.") == 0
    assert credited("Wait, on reflection option D is ruled out by the marrow.") == 1
