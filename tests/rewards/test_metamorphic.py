"""Metamorphic properties of the CRPO rewards, on every item the tests can reach.

For each item (the bundled vignettes and the test fixtures always, the 200 real rows of
``../shared/data`` when present) an honest answer is written by :mod:`clinr1.traces`: the case's
own findings quoted, a reason and a verdict per option, a check of the answer, a conclusion that
cites a finding. Each property then changes the answer in one way and checks what the rewards
do. The per-property counts are printed at the end of the run (``conftest.py``).
"""

from __future__ import annotations

import random
import re

import pytest
import reach
from tricks import CUE_LINES, INVENTED, TRICKS, unquoted

from clinr1.items import Item
from clinr1.rewards import score_completion
from clinr1.rewards.cues import is_negative_stem
from clinr1.rewards.grounding import COPY_FLOOR, MAX_QUOTE_FRACTION, case_body, case_model
from clinr1.traces import Plan, plan, render, styles_for

OBJECTIVES = ("accuracy", "faithfulness", "comprehensiveness")
FORMAT_TOLERANCE = 0.1
MARGIN = 0.15  # faithfulness + comprehensiveness (out of 2) an honest answer wins by
QUOTE_MARKS = (('"', '"'), ("“", "”"), ("«", "»"), ("‘", "’"))

ITEMS = reach.all_items()


def honest_plan(item: Item) -> Plan:
    return plan(item, random.Random(item.id))


def scores(text: str, item: Item) -> dict:
    return score_completion(text, item)


def _ids(items: tuple[Item, ...]) -> list[str]:
    return [f"{i.source}:{i.id[:24]}" for i in items]


@pytest.fixture(scope="module")
def count(property_counts):
    return property_counts


def test_reaches_the_items() -> None:
    assert len(reach.fixture_items()) >= 60  # 48 bundled + fixtures, on every machine
    if reach.SHARED.is_dir():
        assert len(reach.shared_items()) == 200


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_same_reasoning_in_any_format_scores_alike(item: Item, count) -> None:
    p = honest_plan(item)
    base = scores(render(p, "option"), item)
    variants = {style: render(p, style) for style in styles_for(p.options)}
    for marks in QUOTE_MARKS[1:]:
        variants[f"option+{marks[0]}quotes"] = render(p, "option", marks)
    assert len(variants) >= 6
    for name, text in variants.items():
        s = scores(text, item)
        for obj in OBJECTIVES:
            assert abs(s[obj] - base[obj]) <= FORMAT_TOLERANCE, (name, obj, s[obj], base[obj])
    count("formats: every objective within 0.1", len(variants))


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_honest_answer_scores_high(item: Item, count) -> None:
    s = scores(render(honest_plan(item), "option"), item)
    assert s["accuracy"] == 1.0
    assert s["faithfulness"] >= 0.6 and s["comprehensiveness"] >= 0.6, s
    count("honest: faithfulness and comprehensiveness >= 0.6")


def _trick_applies(name: str, item: Item) -> bool:
    """Tricks that can only tie where the case is its own finding (a few words, no lead-in),
    and "less likely" under every option, which on a negative stem ("all EXCEPT") says the
    option is the exception: there it is an answer, not a trick."""
    if name == "every option less likely":
        return not is_negative_stem(item.question)
    n_case = len(case_model(item.question, item.context or "").words)
    if name == "stem copied":
        return n_case > COPY_FLOOR / MAX_QUOTE_FRACTION
    if name == "lead-in quoted":
        return case_body(item.question) != item.question
    return True


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_honest_answer_beats_every_cheap_trick(item: Item, count) -> None:
    p = honest_plan(item)
    honest = scores(render(p, "option"), item)
    value = honest["faithfulness"] + honest["comprehensiveness"]
    for name, trick in TRICKS.items():
        s = scores(trick(item, p), item)
        gap = value - (s["faithfulness"] + s["comprehensiveness"])
        assert gap >= 0, (name, s["faithfulness"], s["comprehensiveness"])
        if _trick_applies(name, item):
            assert gap >= MARGIN - 1e-9, (name, round(gap, 3))
            count(f"trick beaten by >= {MARGIN}: {name}")
        else:
            count(f"trick never ahead (short case or negative stem): {name}")


def _swap_one_quote(text: str, finding: str, invented: str) -> str:
    return text.replace(f'"{finding}"', f'"{invented}"')


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_swapping_a_true_quote_for_an_invented_one_never_raises_faithfulness(
    item: Item, count
) -> None:
    p = honest_plan(item)
    text = render(p, "option")
    base = scores(text, item)["faithfulness"]
    invented = next(q for q in INVENTED if q.lower() not in item.question.lower())
    for finding in p.findings:
        swapped = scores(_swap_one_quote(text, finding, invented), item)
        assert swapped["faithfulness"] <= base + 1e-9, (finding, swapped["faithfulness"], base)
        assert swapped["faithfulness/fabricated_quotes"] >= 1
        count("swap a true quote for an invented one: faithfulness never rises")


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_adding_a_reasoned_rule_out_or_a_check_never_lowers_anything(item: Item, count) -> None:
    p = honest_plan(item)
    full = scores(render(p, "option"), item)
    distractors = [k for k in p.options if k != p.answer]
    for k in distractors:
        options = {key: v for key, v in p.options.items() if key != k}
        less = Plan(**{**p.__dict__, "options": options})
        # the same answer with one option not assessed scores no higher
        s = scores(render(less, "option"), item)
        for obj in OBJECTIVES:
            assert full[obj] >= s[obj] - 1e-9, ("rule-out of", k, obj, s[obj], full[obj])
        count("add a reasoned rule-out: nothing lowers")
    unchecked = scores(render(Plan(**{**p.__dict__, "check": ""}), "option"), item)
    for obj in OBJECTIVES:
        assert full[obj] >= unchecked[obj] - 1e-9, ("check", obj)
    count("add a closing check: nothing lowers")


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_appending_a_content_free_line_never_raises_anything(item: Item, count) -> None:
    p = honest_plan(item)
    text = render(p, "option")
    base = scores(text, item)
    for line in CUE_LINES:
        line = line.format(g=p.answer)
        for where in ("dx", "conclusion"):
            tag = "</dx>" if where == "dx" else "\\boxed"
            s = scores(text.replace(tag, f"{line}\n{tag}", 1), item)
            for obj in (*OBJECTIVES, "total"):
                assert s[obj] <= base[obj] + 1e-9, (line, where, obj, s[obj], base[obj])
            count("append a content-free line: nothing rises")


@pytest.mark.parametrize("item", ITEMS, ids=_ids(ITEMS))
def test_a_finding_quoted_in_shifted_windows_is_one_finding(item: Item, count) -> None:
    """Three overlapping windows over one finding earn what that finding earns, never more
    than two distinct findings."""
    p = honest_plan(item)
    if len(p.findings) < 2:
        pytest.skip("the case offers one finding")
    words = " ".join(item.question.split()).split()
    first = p.findings[0].split()
    start = next((i for i in range(len(words)) if words[i : i + len(first)] == first), None)
    if start is None or start + len(first) + 2 > len(words):
        pytest.skip("the finding ends the case")
    windows = [" ".join(words[start + i : start + i + len(first)]) for i in (0, 1, 2)]
    bare = unquoted(p)
    shifted = scores(render(Plan(**{**bare.__dict__, "findings": windows}), "option"), item)
    distinct = scores(render(Plan(**{**bare.__dict__, "findings": p.findings[:2]}), "option"), item)
    assert shifted["faithfulness/findings"] == 1
    assert distinct["faithfulness/grounding"] >= shifted["faithfulness/grounding"]
    count("shifted windows over one finding count once")


SHORT = tuple(i for i in ITEMS if len(i.question.split()) < 40)


@pytest.mark.parametrize("item", SHORT, ids=_ids(SHORT))
def test_short_stems_keep_grounding(item: Item, count) -> None:
    p = honest_plan(item)
    if not p.findings or len(re.findall(r"\w+", p.findings[0])) < 3:
        pytest.skip("nothing of three words to quote")
    s = scores(render(p, "option"), item)
    assert not s["faithfulness/stem_copy"]
    assert s["faithfulness/grounding"] >= min(1.0, len(p.findings) / 3) - 1e-9, s
    count("short stem: honest quotes grounded, none taken for stem copying")
