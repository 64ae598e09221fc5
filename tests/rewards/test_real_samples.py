"""The rewards on the 200 real rows of ../shared/data: the failures the v2 rewards were built to
fix, each checked on every row it concerns. Skipped where the samples are absent; the same
properties run on the package's own items in ``test_metamorphic.py``.
"""

from __future__ import annotations

import random

import pytest
import reach
from tricks import INVENTED

from clinr1.rewards import extract_answer, score_completion
from clinr1.rewards.cues import is_negative_stem
from clinr1.traces import plan, render

pytestmark = pytest.mark.skipif(not reach.SHARED.is_dir(), reason="../shared/data is absent")


def medqa() -> list:
    return [i for i in reach.shared_items() if i.source == "medqa-shared"]


def medmcqa() -> list:
    return [i for i in reach.shared_items() if i.source == "medmcqa"]


def test_samples_are_all_read() -> None:
    assert (len(medqa()), len(medmcqa())) == (100, 100)


def test_negative_stems_are_recognised() -> None:
    """The 15 MedMCQA rows asking for the exception (EXCEPT, NOT, false) and no other."""
    negative = [i for i in reach.shared_items() if is_negative_stem(i.question)]
    assert len(negative) == 15
    assert all(i.source == "medmcqa" for i in negative)


def test_choosing_the_exception_is_consistent_on_negative_stems() -> None:
    for item in (i for i in medmcqa() if is_negative_stem(i.question)):
        s = score_completion(render(plan(item, random.Random(0)), "letter"), item)
        assert s["faithfulness/dx_favoured"] == item.answer, item.question
        assert s["faithfulness/consistency"] == 1.0
        assert s["comprehensiveness/distractor_coverage"] == 1.0


def test_wrong_letter_and_invented_quotes_cost() -> None:
    for item in medqa()[:40]:
        p = plan(item, random.Random(item.id))
        honest = score_completion(render(p, "option"), item)
        wrong = next(k for k in item.options if k != item.answer)
        boxed_wrong = render(p, "option").replace(f"\\boxed{{{p.answer}}}", f"\\boxed{{{wrong}}}")
        s = score_completion(boxed_wrong, item)
        assert s["accuracy"] == 0.0 and s["total"] < honest["total"]
        assert s["faithfulness/consistency"] < 1.0  # the <dx> argued for another option
        text = render(p, "option")
        for finding, invented in zip(p.findings, INVENTED, strict=False):
            text = text.replace(f'"{finding}"', f'"{invented}"')
        made_up = score_completion(text, item)
        assert made_up["faithfulness"] < honest["faithfulness"]
        assert made_up["faithfulness/fabricated_quotes"] >= 1


def test_short_stems_quoting_their_findings_are_grounded() -> None:
    """MedMCQA stems of one sentence: two or three honest quotes are never taken for copying."""
    for item in medmcqa():
        p = plan(item, random.Random(item.id))
        s = score_completion(render(p, "option"), item)
        assert not s["faithfulness/stem_copy"], item.question
        if p.findings:
            assert s["faithfulness/grounding"] > 0, item.question


def test_extraction_on_samples() -> None:
    for item in medqa():
        gold = item.answer
        text = item.options[gold]
        assert extract_answer(f"The answer is ({gold}).", item.options) == gold
        got = extract_answer(f"Final answer: {text}", item.options, match_text=True)
        assert got == gold, (text, item.options)
