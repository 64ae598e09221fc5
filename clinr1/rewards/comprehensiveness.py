r"""The comprehensiveness reward: are the distractors ruled out, is the reasoning complete?

The paper names the objective but not its formula; this is ours (see ``docs/crpo.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from clinr1.rewards.base import ItemView, Reward
from clinr1.rewards.behaviours import NO_BEHAVIOURS, find_behaviours
from clinr1.rewards.cues import is_negative_stem
from clinr1.rewards.grounding import case_model, check_quotes
from clinr1.rewards.lexicon import BEHAVIOURS
from clinr1.rewards.parse import length_factor
from clinr1.rewards.reading import Assessment, read
from clinr1.rewards.stock import StockReasons

COVERAGE_WEIGHT = 0.6
STOCK_AFTER = 3  # in training, a reason given for this many other questions is stock
MIN_REASON_WORDS = 3  # content words besides the option's name and verdict words
MIN_OWN_WORDS = 2  # of them, words that are not the case's own (not only the stem restated)


def distinct_reasons(
    assessments: dict[str, Assessment],
    case_words: frozenset[str],
    chosen: str | None = None,
    stock: Callable[[frozenset[str]], bool] | None = None,
) -> frozenset[str]:
    """The options other than ``chosen`` whose block gives a reason of its own.

    A reason is the block's content words less the option's own name and verdict vocabulary
    ("ruled out", "the findings"). It counts when it has at least ``MIN_REASON_WORDS`` words,
    ``MIN_OWN_WORDS`` of them from outside the case, and when those own words differ from each
    earlier counted reason's by at least two words and half of them: reasons that differ by a
    word or two ("does not explain the fever" / "... the rash", or one template with a different
    finding quoted) count once. ``stock`` (training) says which own words have come back for
    other questions (:mod:`clinr1.rewards.stock`): those are no reason.

    >>> a = {k: Assessment(k, "out", -2, frozenset(w.split())) for k, w in
    ...      {"A": "purine analogue hairy cell", "B": "purine analogue hairy cells",
    ...       "C": "steroid autoimmune cytopenias"}.items()}
    >>> sorted(distinct_reasons(a, frozenset()))
    ['A', 'C']
    """
    kept: list[frozenset[str]] = []
    out = set()
    for letter, a in assessments.items():
        if letter == chosen:
            continue
        own = a.reason - case_words
        if len(a.reason) < MIN_REASON_WORDS or len(own) < MIN_OWN_WORDS:
            continue
        if stock is not None and stock(own):
            continue
        need = max(2, (len(own) + 1) // 2)
        if all(len(own - other) >= need for other in kept):
            kept.append(own)
            out.add(letter)
    return frozenset(out)


def _case_words(item: ItemView) -> frozenset[str]:
    return case_model(item.question, item.context).vocabulary


class Comprehensiveness(Reward):
    r"""Distractor rejection coverage and reasoning behaviours, each behaviour credited once.

    Formula: ``comprehensiveness = L * S * (w * D + (1 - w) * B)`` with ``w = coverage_weight``
    (default 0.6), range [0, 1], default weight 1:

    * ``S``, ``L``: the structure gate and length factor of
      :class:`~clinr1.rewards.faithfulness.Faithfulness`.
    * ``D`` (``comprehensiveness/distractor_coverage``): of the options other than the single
      boxed one, the fraction that the ``<dx>`` rules out (on a negative stem: confirms as fitting,
      so not the exception) with a reason of their own (:func:`distinct_reasons`). 0 without a
      single valid box, or when the ``<dx>`` rules out the boxed option too.
    * ``B`` (``comprehensiveness/behaviours``): the mean of four 0/1 credits, ``verification``,
      ``subgoal``, ``backward_chaining`` and ``backtracking``, each needing its anchor and no
      sentence serving two (see :mod:`clinr1.rewards.behaviours`).

    >>> item = {"question": "A man has had a cough for 3 weeks and night sweats. Diagnosis?",
    ...         "options": {"A": "Asthma", "B": "Tuberculosis"}, "answer": "B"}
    >>> text = ('<dx>Option A: asthma gives episodic wheeze, not sweats or weight loss; ruled '
    ...         'out. Option B: fits the findings; most likely.</dx><conclusion>\\boxed{B}'
    ...         '</conclusion>')
    >>> Comprehensiveness()([text], **{k: [v] for k, v in item.items()})
    [0.6]
    """

    name = "comprehensiveness"
    default_weight: ClassVar[float] = 1.0

    def __init__(
        self,
        template: str = "crpo",
        *,
        coverage_weight: float = COVERAGE_WEIGHT,
        stock_after: int = STOCK_AFTER,
    ) -> None:
        super().__init__(template)
        if not isinstance(coverage_weight, (int, float)) or not 0 <= coverage_weight <= 1:
            raise ValueError(f"reward {self.name!r}: coverage_weight must be in [0, 1]")
        if not isinstance(stock_after, int) or stock_after < 0:
            raise ValueError(f"reward {self.name!r}: stock_after must be an integer >= 0")
        self.coverage_weight = float(coverage_weight)
        self.stock_after = stock_after
        self._stock = StockReasons(stock_after)

    def observe(self, texts: Sequence[str], items: Sequence[ItemView]) -> None:
        """After a training batch: remember each rule-out reason with its question."""
        if not self.stock_after:
            return
        for text, item in zip(texts, items, strict=True):
            r = read(
                text, item.options, self.template, is_negative_stem(item.question), item.question
            )
            case = _case_words(item)
            for letter, a in r.assessments.items():
                if letter != r.boxed and a.verdict == "out":
                    self._stock.add(a.reason - case, hash(item.question))

    def details(self, text: str, item: ItemView) -> dict[str, Any]:
        r = read(text, item.options, self.template, is_negative_stem(item.question), item.question)
        p = r.parsed
        gate = float(p.well_formed) * length_factor(p.length)
        case = case_model(item.question, item.context)
        boxed = r.boxed
        others = [k for k, _ in item.options if k != boxed]
        qkey = hash(item.question)
        stock = (lambda own: self._stock.is_stock(own, qkey)) if self.stock_after else None
        reasoned = distinct_reasons(r.assessments, case.vocabulary, boxed, stock)
        ruled_out = [
            k
            for k in others
            if (a := r.assessments.get(k)) is not None
            and a.verdict == "out"
            and not a.contradicted
            and k in reasoned
        ]
        chosen = r.assessments.get(boxed) if boxed else None
        coherent = chosen is None or (chosen.verdict != "out" and not chosen.contradicted)
        coverage = 0.0
        if boxed is not None and others and coherent:
            coverage = len(ruled_out) / len(others)
        behaviours = NO_BEHAVIOURS
        if gate:
            grounding = check_quotes(p.quotes, item.question, item.context, item.options)
            behaviours = find_behaviours(r, case, grounding)
        w = self.coverage_weight
        out: dict[str, Any] = {
            "comprehensiveness": gate * (w * coverage + (1 - w) * behaviours.score),
            "comprehensiveness/distractor_coverage": gate * coverage,
            "comprehensiveness/behaviours": gate * behaviours.score,
        }
        for name in BEHAVIOURS:
            out[f"comprehensiveness/{name}"] = gate * float(behaviours.credited[name])
        for name in BEHAVIOURS:
            out[f"counts/{name}"] = behaviours.counts[name]
        out["counts/options_assessed"] = len(r.assessments)
        out["counts/options_ruled_out"] = len(ruled_out)
        return out
