"""Score one completion with the whole suite: what ``clinr1 score`` prints and evaluation reuses.

The registry lives here: :data:`REWARDS` maps each objective's name to its class, and every
list of names and default weights is derived from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from clinr1.rewards.accuracy import Accuracy
from clinr1.rewards.base import Reward, item_view
from clinr1.rewards.comprehensiveness import Comprehensiveness
from clinr1.rewards.extract import extract_answer
from clinr1.rewards.faithfulness import Faithfulness
from clinr1.rewards.format import Format

REWARDS: dict[str, type[Reward]] = {
    cls.name: cls for cls in (Accuracy, Format, Faithfulness, Comprehensiveness)
}
OBJECTIVES = tuple(REWARDS)
# The paper's CRPO weights (accuracy k = 10, faithfulness 1, comprehensiveness 1: at most 12);
# format is logged with weight 0 (the structure gate already sits inside the other two).
DEFAULT_WEIGHTS: dict[str, float] = {name: cls.default_weight for name, cls in REWARDS.items()}


@lru_cache(maxsize=8)
def _suite(template: str) -> tuple[Reward, ...]:
    # Scoring one completion on its own: no memory of earlier ones (see clinr1.rewards.stock).
    return tuple(
        cls(template, stock_after=0) if cls is Comprehensiveness else cls(template)
        for cls in REWARDS.values()
    )


def score_completion(
    completion: str,
    item: Mapping[str, Any] | Any,
    template: str = "crpo",
    weights: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Every objective, its sub-scores and counts, and the weighted ``total`` for one completion.

    ``item`` is an :class:`~clinr1.items.Item` or a mapping in the unified schema (at least
    ``question``, ``options``, ``answer``). ``weights`` default to :data:`DEFAULT_WEIGHTS`; a
    name missing from ``weights`` weighs 0. Keys (flat): ``accuracy``, ``format``,
    ``faithfulness``, ``comprehensiveness``, ``total``, ``extracted`` (the letter evaluation
    reads, or ``None``), ``boxed`` (the strict boxed letter, or ``None``), then the ``format/*``,
    ``faithfulness/*``, ``comprehensiveness/*`` sub-scores and the ``counts/*`` (see
    ``docs/crpo.md``). Raises ``ValueError`` for an unknown template; never on the text.

    >>> item = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer": "B"}
    >>> s = score_completion("<dx></dx><conclusion>\\\\boxed{B}</conclusion>", item)
    >>> s["accuracy"], s["total"], s["extracted"]
    (1.0, 10.0, 'B')
    """
    weights = DEFAULT_WEIGHTS if weights is None else weights
    view = item_view(item)
    text = completion if isinstance(completion, str) else str(completion or "")
    out: dict[str, Any] = {}
    for reward in _suite(template):
        out.update(reward.safe_details(text, view))
    out["total"] = sum(float(weights.get(k, 0.0)) * out[k] for k in OBJECTIVES)
    out["extracted"] = extract_answer(text, view.options)
    head = {k: out.pop(k) for k in (*OBJECTIVES, "total", "extracted", "boxed") if k in out}
    return head | out
