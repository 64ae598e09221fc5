r"""The faithfulness reward: is the reasoning true to the case and to its own answer?

The paper names the objective but not its formula; this is ours, built only from checks a
machine can verify (see ``docs/crpo.md``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from clinr1.rewards.base import ItemView, Reward
from clinr1.rewards.comprehensiveness import distinct_reasons
from clinr1.rewards.cues import is_negative_stem
from clinr1.rewards.grounding import (
    MAX_QUOTE_FRACTION,
    MIN_QUOTE_WORDS,
    SATURATION,
    CaseModel,
    case_model,
    check_quotes,
    cites_finding,
)
from clinr1.rewards.parse import length_factor
from clinr1.rewards.reading import Reading, read
from clinr1.rewards.text import informative_pairs, normalise

__all__ = ["Faithfulness", "check_quotes"]


class Faithfulness(Reward):
    r"""Consistency, case-grounded evidence and cited evidence, from machine-checkable rules.

    Formula: ``faithfulness = L * S * (C + G + K) / 3``, range [0, 1], default weight 1:

    * ``S``: 1 when the template's sections are well formed, else 0 (no credit without them).
    * ``L``: length factor, 1 up to 12,000 characters, linearly down to 0 at 18,000.
    * ``C`` consistency (``faithfulness/consistency``) = mean of two checks against the single
      boxed letter: the ``<dx>`` favours it (see :mod:`clinr1.rewards.reading`; on a negative stem
      it is the option marked as the exception) for a reason (:func:`_reasoned`), and the
      conclusion names it in its favour (by letter, text, or any form the evaluation extractor
      reads: "Answer: D"; ``r1``/``plain`` need not) while supporting no other option and
      using no hedge ("equally plausible", "either ... or"), and the ``<dx>`` has not ruled it
      out (a conclusion that picks what the reasoning rejected does not follow from it). 0
      without a single valid box.
    * ``G`` grounding (``faithfulness/grounding``) = ``precision * min(1, findings /
      saturation)`` (see :mod:`clinr1.rewards.grounding`): ``findings`` are the distinct
      informative quotes found verbatim in the case, overlapping ones merged; ``precision =
      grounded / (grounded + fabricated)``; ``saturation`` is at most the findings the case can
      offer. 0 when all quotes together cover more than ``max(max_quote_fraction * case words,
      15)`` words of the case (copying the stem earns nothing).
    * ``K`` citation (``faithfulness/citation``): the conclusion repeats two content words in a
      row (one informative) of a grounded quote: it cites evidence the ``<dx>`` established.

    >>> item = {"question": "A man has had a cough for 3 weeks and night sweats. Diagnosis?",
    ...         "options": {"A": "Asthma", "B": "Tuberculosis"}, "answer": "B"}
    >>> text = ('<dx>"a cough for 3 weeks" and "night sweats". Option A: no wheeze; ruled out. '
    ...         'Option B: consistent with the findings; most likely.</dx><conclusion>'
    ...         'A cough for 3 weeks with night sweats: Tuberculosis. \\boxed{B}</conclusion>')
    >>> [round(x, 3) for x in Faithfulness()([text], **{k: [v] for k, v in item.items()})]
    [1.0]

    (C = 1, K = 1, and the 12-word case offers two findings, so one grounded quote earns
    G = 1/2 ... and "night sweats" is too short to count: G = 1/2 gives 0.833; here the case
    offers two findings and "a cough for 3 weeks" is one of them.)
    """

    name = "faithfulness"
    default_weight: ClassVar[float] = 1.0

    def __init__(
        self,
        template: str = "crpo",
        *,
        saturation: int = SATURATION,
        min_quote_words: int = MIN_QUOTE_WORDS,
        max_quote_fraction: float = MAX_QUOTE_FRACTION,
    ) -> None:
        super().__init__(template)
        if not isinstance(saturation, int) or saturation < 1:
            raise ValueError(f"reward {self.name!r}: saturation must be an integer >= 1")
        if not isinstance(min_quote_words, int) or min_quote_words < 1:
            raise ValueError(f"reward {self.name!r}: min_quote_words must be an integer >= 1")
        if not isinstance(max_quote_fraction, (int, float)) or not 0 < max_quote_fraction <= 1:
            raise ValueError(f"reward {self.name!r}: max_quote_fraction must be in (0, 1]")
        self.saturation = saturation
        self.min_quote_words = min_quote_words
        self.max_quote_fraction = float(max_quote_fraction)

    def details(self, text: str, item: ItemView) -> dict[str, Any]:
        r = read(text, item.options, self.template, is_negative_stem(item.question), item.question)
        p = r.parsed
        quotes = check_quotes(
            p.quotes,
            item.question,
            item.context,
            item.options,
            min_words=self.min_quote_words,
            max_fraction=self.max_quote_fraction,
            saturation=self.saturation,
        )
        gate = float(p.well_formed) * length_factor(p.length)
        boxed = r.boxed
        chosen = r.assessments.get(boxed) if boxed else None
        dx_ok = float(
            boxed is not None
            and r.dx_favoured == boxed
            and not (chosen is not None and chosen.contradicted)
            and _reasoned(r, boxed, case_model(item.question, item.context), quotes.grounded)
        )
        named = boxed in r.conclusion_named or self.template != "crpo"
        hedged = bool(r.conclusion_hedged - {boxed}) or r.hedge_phrase
        # a conclusion that picks what the <dx> ruled out does not follow from it
        rejected = chosen is not None and chosen.verdict == "out"
        concl_ok = float(boxed is not None and named and not hedged and not rejected)
        consistency = (dx_ok + concl_ok) / 2
        grounding = quotes.score
        cited = quotes.pairs()
        cites = bool(cited) and not cited.isdisjoint(
            informative_pairs(normalise(p.conclusion.text).split())
        )
        citation = float(not quotes.stem_copy and cites)
        return {
            "faithfulness": gate * (consistency + grounding + citation) / 3,
            "faithfulness/consistency": gate * consistency,
            "faithfulness/grounding": gate * grounding,
            "faithfulness/citation": gate * citation,
            "faithfulness/quote_precision": quotes.precision,
            "faithfulness/grounded_quotes": len(quotes.grounded),
            "faithfulness/findings": quotes.findings,
            "faithfulness/fabricated_quotes": len(quotes.fabricated),
            "faithfulness/stem_copy": quotes.stem_copy,
            "faithfulness/dx_favoured": r.dx_favoured,
            "faithfulness/negative_stem": bool(r.negative),
        }


def _reasoned(r: Reading, letter: str, case: CaseModel, grounded: tuple[str, ...]) -> bool:
    """The <dx> favours ``letter`` for a reason: it weighs another option too, gives ``letter``
    a reason of its own, or a sentence about ``letter`` cites a finding of the case.

    A run-7 CRPO policy listed three quotes, wrote "Working backwards from the answer, option A
    fits the bill." and boxed A: nothing was weighed and nothing tied A to the case, yet the
    <dx> "favoured" A. The conclusion of such a <dx> follows from nothing.
    """
    if any(k != letter and a.verdict != "none" for k, a in r.assessments.items()):
        return True
    chosen = r.assessments.get(letter)
    if chosen is not None and letter in distinct_reasons({letter: chosen}, case.vocabulary):
        return True  # a reason of its own, as a distractor's rule-out needs
    return any(
        (u.owner == letter or letter in u.verdicts) and cites_finding(u.raw, case, grounded)
        for u in r.reasoning
        if not u.repeated
    )
