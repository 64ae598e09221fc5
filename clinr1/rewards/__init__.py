"""The CRPO reward suite: one rule-based, verifiable reward per objective, registered by name.

>>> funcs, weights = build_rewards([{"name": "accuracy", "weight": 10}, {"name": "faithfulness"}])
>>> [f.__name__ for f in funcs], weights
(['accuracy', 'faithfulness'], [10.0, 1.0])

TRL calls each function as ``f(prompts=..., completions=..., completion_ids=..., **columns)`` and
logs ``rewards/<name>/mean``; the formulas are in ``docs/crpo.md`` and each class's docstring.
Pure Python (stdlib only), so importing it is cheap and needs no GPU stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from clinr1.prompts import check_template
from clinr1.rewards.accuracy import Accuracy
from clinr1.rewards.base import ItemView, Reward, item_view
from clinr1.rewards.comprehensiveness import Comprehensiveness
from clinr1.rewards.extract import extract_answer
from clinr1.rewards.faithfulness import Faithfulness
from clinr1.rewards.format import Format
from clinr1.rewards.reading import clear_caches
from clinr1.rewards.score import DEFAULT_WEIGHTS, OBJECTIVES, REWARDS, score_completion

# Ready-made instances for the default template, usable directly as TRL reward functions.
accuracy = Accuracy()
format_reward = Format()
faithfulness = Faithfulness()
comprehensiveness = Comprehensiveness()


def _field(spec: Any, key: str, default: Any = None) -> Any:
    if isinstance(spec, Mapping):
        return spec.get(key, default)
    return getattr(spec, key, default)


def get_reward(name: str, template: str = "crpo", **params: Any) -> Reward:
    """The reward ``name`` for ``template`` with ``params``; ``ValueError`` if either is bad."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; valid: {', '.join(REWARDS)}")
    try:
        return REWARDS[name](template, **params)
    except TypeError as e:
        raise ValueError(f"reward {name!r}: bad parameters {sorted(params)}: {e}") from None


def build_rewards(
    specs: Iterable[Any], template: str = "crpo"
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """A recipe's ``rewards:`` list as TRL's ``reward_funcs`` and ``reward_weights``.

    Each spec is a mapping or an object with ``name``, optional ``weight`` (default: the
    reward's ``default_weight``, as in :data:`DEFAULT_WEIGHTS`) and optional ``params``
    (keyword arguments of the reward class; ``template`` there overrides the argument). Raises
    ``ValueError`` for an unknown name (listing the valid ones), a repeated name, a bad weight
    or bad params.
    """
    check_template(template)
    funcs: list[Callable[..., list[float]]] = []
    weights: list[float] = []
    for spec in specs:
        name = _field(spec, "name")
        params = dict(_field(spec, "params") or {})
        tmpl = params.pop("template", template)
        reward = get_reward(str(name), tmpl, **params)
        if any(f.__name__ == reward.__name__ for f in funcs):
            raise ValueError(f"reward {name!r} is listed twice")
        weight = _field(spec, "weight")
        weight = reward.default_weight if weight is None else weight
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise ValueError(f"reward {name!r}: weight must be a number, got {weight!r}") from None
        funcs.append(reward)
        weights.append(weight)
    return funcs, weights


__all__ = [
    "DEFAULT_WEIGHTS",
    "OBJECTIVES",
    "REWARDS",
    "Accuracy",
    "Comprehensiveness",
    "Faithfulness",
    "Format",
    "ItemView",
    "Reward",
    "accuracy",
    "build_rewards",
    "clear_caches",
    "comprehensiveness",
    "extract_answer",
    "faithfulness",
    "format_reward",
    "get_reward",
    "item_view",
    "score_completion",
]
