"""Stock reasons: a rule-out reason written the same way for every question stops counting in
training, while reasons particular to the case keep counting."""

from __future__ import annotations

import reach
from crpo_cases import HONEST, ITEM

from clinr1.rewards import Comprehensiveness, score_completion
from clinr1.rewards.stock import StockReasons
from clinr1.traces import case_findings

NONSENSE = ("alpha beta gamma", "delta epsilon zeta", "theta iota kappa", "lambda sigma omega")


def template(item) -> str:
    """The red team's fixed template: the item's own quotes, nonsense reasons, stock lines."""
    f = case_findings(item.question) or ["the case"]
    lines = [f'First, the key findings: "{f[0]}".', "Then I weigh each option in turn."]
    reasons = iter(NONSENSE * 3)
    for k in item.options:
        if k == item.answer:
            lines.append(f'Option {k} fits "{f[0]}"; most likely.')
        else:
            lines.append(f"Option {k}: {next(reasons)}; ruled out.")
    lines.append(f'To verify, option {item.answer} is consistent with "{f[-1]}".')
    dx = "\n".join(lines)
    conclusion = f'Given "{f[0]}", option {item.answer}. \\boxed{{{item.answer}}}'
    return f"<dx>\n{dx}\n</dx>\n<conclusion>\n{conclusion}\n</conclusion>"


def coverage(reward: Comprehensiveness, text: str, item) -> float:
    reward([text], answer=[item.answer], options=[item.options], question=[item.question])
    return score_once(reward, text, item)


def score_once(reward: Comprehensiveness, text: str, item) -> float:
    from clinr1.rewards.base import item_view

    return reward.details(text, item_view(item))["comprehensiveness/distractor_coverage"]


def test_a_stock_reason_stops_counting_after_three_other_questions() -> None:
    memory = StockReasons(threshold=3)
    words = frozenset({"triggers", "risk", "factors", "absent"})
    for q in (1, 2, 3):
        assert not memory.is_stock(words, 4)
        memory.add(words, q)
    assert memory.is_stock(words, 4)
    assert memory.is_stock(words | {"here"}, 4)  # a word added is the same reason
    assert not memory.is_stock(words, 3)  # its own question does not count: two others
    assert not memory.is_stock(frozenset({"purine", "analogue", "hairy"}), 4)


def test_training_memory_stops_paying_the_template_but_not_real_reasons() -> None:
    items = [i for i in reach.fixture_items() if len(i.options) >= 4][:8]
    reward = Comprehensiveness()  # as build_rewards makes it for training
    first = [coverage(reward, template(item), item) for item in items]
    assert first[0] == 1.0  # nonsense passes inside one completion
    assert all(c == 0.0 for c in first[4:]), first  # given for three other questions: stock
    # an answer whose reasons are its own still counts in full, after all that
    assert score_once(reward, HONEST, ITEM) == 1.0


def test_scoring_one_completion_alone_has_no_memory() -> None:
    items = [i for i in reach.fixture_items() if len(i.options) >= 4][:6]
    for item in items:
        score_completion(template(item), item)
    assert (
        score_completion(template(items[-1]), items[-1])["comprehensiveness/distractor_coverage"]
        == 1.0
    )
