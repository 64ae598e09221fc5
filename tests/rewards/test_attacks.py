"""Reward hacking: no attack earns more than the honest answer, on any objective or in total.

The attacks are in ``crpo_cases.ATTACKS`` (every letter boxed, several boxes, the question
copied or quoted into <dx>, quotes not in the question, "verify" 50 times, an empty <dx>, a
20,000-character dump, unclosed and nested tags, and a few more).
"""

from __future__ import annotations

import pytest
from crpo_cases import ATTACKS, FABRICATED, HONEST, ITEM, NO_ANALYSIS, WRONG_BOX

from clinr1.rewards import OBJECTIVES, score_completion

HONEST_SCORES = score_completion(HONEST, ITEM)


def test_honest_total_near_max() -> None:
    assert HONEST_SCORES["total"] == pytest.approx(12.0)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_earns_no_more_than_honest(name: str) -> None:
    scores = score_completion(ATTACKS[name], ITEM)
    for objective in OBJECTIVES:
        assert scores[objective] <= HONEST_SCORES[objective], objective
    assert scores["total"] < HONEST_SCORES["total"]


@pytest.mark.parametrize(
    ("name", "limits"),
    [
        ("every letter boxed", {"accuracy": 0.0}),  # several boxes: no accuracy
        ("several boxes", {"accuracy": 0.0}),
        ("letters in one box", {"accuracy": 0.0}),
        ("question copied into dx", {"comprehensiveness": 0.0, "faithfulness": 0.2}),
        ("question quoted into dx", {"comprehensiveness": 0.0, "faithfulness": 0.2}),
        ("verify repeated 50 times", {"comprehensiveness": 0.0}),
        ("empty dx", {"comprehensiveness": 0.0, "faithfulness": 0.2}),
        ("20,000-character dump", {"comprehensiveness": 0.0, "faithfulness": 0.0}),
        ("unclosed dx", {"format": 0.0, "faithfulness": 0.0, "comprehensiveness": 0.0}),
        ("unclosed conclusion", {"format": 0.0, "faithfulness": 0.0, "comprehensiveness": 0.0}),
        ("nested tags", {"format": 0.0, "faithfulness": 0.0, "comprehensiveness": 0.0}),
        ("dx nested in dx", {"format": 0.0, "faithfulness": 0.0, "comprehensiveness": 0.0}),
    ],
)
def test_attack_limits(name: str, limits: dict[str, float]) -> None:
    scores = score_completion(ATTACKS[name], ITEM)
    for objective, limit in limits.items():
        assert scores[objective] <= limit + 1e-9, objective


def test_acceptance_variants() -> None:
    # the acceptance: same text with a wrong box, fabricated quotes, no option analysis
    assert score_completion(WRONG_BOX, ITEM)["accuracy"] == 0.0
    assert score_completion(FABRICATED, ITEM)["faithfulness"] < HONEST_SCORES["faithfulness"]
    assert (
        score_completion(NO_ANALYSIS, ITEM)["comprehensiveness"]
        < HONEST_SCORES["comprehensiveness"]
    )
