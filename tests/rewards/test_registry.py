"""The registry, the TRL calling convention and ``score_completion``."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest
from crpo_cases import HONEST, ITEM

from clinr1.items import Item
from clinr1.rewards import (
    DEFAULT_WEIGHTS,
    REWARDS,
    build_rewards,
    get_reward,
    score_completion,
)


def test_default_weights_are_the_papers() -> None:
    assert DEFAULT_WEIGHTS == {
        "accuracy": 10.0,
        "format": 0.0,
        "faithfulness": 1.0,
        "comprehensiveness": 1.0,
    }
    assert sum(DEFAULT_WEIGHTS.values()) == 12.0  # k + 2


def test_build_crpo_and_grpo_recipes() -> None:
    crpo = [
        {"name": "accuracy", "weight": 10},
        {"name": "faithfulness"},
        {"name": "comprehensiveness"},
    ]
    funcs, weights = build_rewards(crpo, "crpo")
    assert [f.__name__ for f in funcs] == ["accuracy", "faithfulness", "comprehensiveness"]
    assert weights == [10.0, 1.0, 1.0]
    funcs, weights = build_rewards([{"name": "accuracy", "weight": 1.0}], "r1")
    assert [f.__name__ for f in funcs] == ["accuracy"] and weights == [1.0]


@dataclass
class Spec:  # the shape of the lead's pydantic recipe section
    name: str
    weight: float | None = None
    params: dict = field(default_factory=dict)


def test_specs_as_objects_with_params() -> None:
    funcs, weights = build_rewards([Spec("faithfulness", 2.0, {"saturation": 5})])
    assert funcs[0].saturation == 5 and weights == [2.0]
    funcs, _ = build_rewards([Spec("format", params={"template": "r1"})], "crpo")
    assert funcs[0].template == "r1"  # params override the recipe's template


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([{"name": "acuracy"}], "unknown reward 'acuracy'; valid: accuracy, format"),  # typo
        ([{"name": "faithfulness", "params": {"bogus": 1}}], "reward 'faithfulness'"),
        ([{"name": "faithfulness", "params": {"saturation": 0}}], "reward 'faithfulness'"),
        ([{"name": "accuracy", "weight": "ten"}], "reward 'accuracy': weight"),
        ([{"name": "accuracy"}, {"name": "accuracy"}], "listed twice"),
    ],
)
def test_build_errors(specs: list, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        build_rewards(specs)


def test_unknown_template() -> None:
    with pytest.raises(ValueError, match="unknown prompt template"):
        build_rewards([{"name": "accuracy"}], "xml")


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_rewards_pickle_and_keep_their_name(name: str) -> None:
    reward = get_reward(name, "crpo")
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == reward.__name__ == name
    cols = {k: [ITEM[k]] for k in ("question", "options", "answer")}
    assert clone([HONEST], **cols) == reward([HONEST], **cols)


def test_trl_call_convention() -> None:
    funcs, _ = build_rewards([{"name": n} for n in REWARDS])
    completions = [
        [{"role": "assistant", "content": HONEST}],
        [{"role": "assistant", "content": ""}],
    ]
    for f in funcs:
        scores = f(
            prompts=[[{"role": "user", "content": "q"}]] * 2,
            completions=completions,
            completion_ids=[[1, 2], [3]],
            trainer_state=object(),
            **{k: [ITEM[k]] * 2 for k in ("id", "question", "options", "answer")},
            source=["medqa"] * 2,  # unknown columns are ignored
        )
        assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
        assert scores[0] >= scores[1]


def test_score_completion_keys_and_total() -> None:
    s = score_completion(HONEST, Item.from_dict(ITEM))
    head = ["accuracy", "format", "faithfulness", "comprehensiveness", "total", "extracted"]
    assert list(s)[: len(head)] == head
    for key in (
        "faithfulness/consistency",
        "faithfulness/grounded_quotes",
        "faithfulness/fabricated_quotes",
        "comprehensiveness/distractor_coverage",
        "comprehensiveness/verification",
        "comprehensiveness/backtracking",
        "comprehensiveness/subgoal",
        "comprehensiveness/backward_chaining",
        "counts/verification",
    ):
        assert key in s
    assert s["total"] == pytest.approx(sum(DEFAULT_WEIGHTS[k] * s[k] for k in DEFAULT_WEIGHTS))
    custom = score_completion(HONEST, ITEM, weights={"accuracy": 1.0})
    assert custom["total"] == pytest.approx(1.0)


def test_score_completion_unknown_template() -> None:
    with pytest.raises(ValueError, match="unknown prompt template"):
        score_completion(HONEST, ITEM, template="xml")
