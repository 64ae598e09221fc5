r"""The faithfulness reward: is the reasoning true to the case and to its own answer?

The paper names the objective but not its formula; this is ours, built only from checks a
machine can verify (see ``docs/crpo.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from clinr1.rewards.base import ItemView, Reward
from clinr1.rewards.lexicon import STOPWORDS
from clinr1.rewards.parse import content_ngrams, length_factor, normalise, read, shares_ngram

SATURATION = 3
MIN_QUOTE_WORDS = 3
MAX_QUOTE_FRACTION = 0.5
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class QuoteCheck:
    """The quoted spans of the reasoning, sorted against the case text.

    ``grounded``: distinct normalised quotes of at least ``min_words`` words (one a content
    word) found verbatim in the case (question + context, less the question's final lead-in
    sentence), none inside another and none longer than ``max_fraction`` of the case's words.
    ``fabricated``: quotes found nowhere in the prompt. Quotes of an option's text, of the lead-in,
    of more than ``max_fraction`` of the case (``oversized``) or too short are neutral.
    ``stem_copy``: the grounded quotes together cover more than ``max_fraction`` of the case.
    """

    grounded: tuple[str, ...]
    fabricated: tuple[str, ...]
    oversized: int
    neutral: int
    coverage: float
    stem_copy: bool

    @property
    def precision(self) -> float:
        n = len(self.grounded) + len(self.fabricated)
        return len(self.grounded) / n if n else 0.0


@lru_cache(maxsize=1024)
def _case(question: str, context: str) -> tuple[str, str, int]:
    """(case body, whole prompt case, word count), normalised and space-padded."""
    sentences = _SENTENCE_RE.split(question.strip())
    body = " ".join(sentences[:-1]) if len(sentences) > 1 else question
    full = normalise(f"{question} {context}")
    return f" {normalise(f'{body} {context}')} ", f" {full} ", len(full.split())


@lru_cache(maxsize=1024)
def _option_texts(options: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(f" {normalise(v)} " for _, v in options)


def check_quotes(
    quotes: tuple[str, ...],
    question: str,
    context: str,
    options: tuple[tuple[str, str], ...],
    *,
    min_words: int = MIN_QUOTE_WORDS,
    max_fraction: float = MAX_QUOTE_FRACTION,
) -> QuoteCheck:
    """Sort ``quotes`` into grounded, fabricated and neutral (see :class:`QuoteCheck`).

    >>> q = check_quotes(("fever for 3 days", "rash on the palms", "yes"),
    ...     "A boy has had fever for 3 days and a cough. What is the diagnosis?", "", ())
    >>> q.grounded, q.fabricated, q.precision
    (('fever for 3 days',), ('rash on the palms',), 0.5)
    """
    body, full, n_case = _case(question, context)
    opts = _option_texts(options)
    grounded: list[str] = []
    fabricated: list[str] = []
    oversized = neutral = 0
    limit = max_fraction * n_case
    for q in dict.fromkeys(normalise(q) for q in quotes):
        words = q.split()
        if len(words) < min_words or all(w in STOPWORDS for w in words):
            continue
        padded = f" {q} "
        if padded in body:
            if len(words) > limit:
                oversized += 1
            else:
                grounded.append(q)
        elif padded in full or any(padded in o for o in opts):
            neutral += 1
        else:
            fabricated.append(q)
    kept = tuple(q for q in grounded if not any(q != o and f" {q} " in f" {o} " for o in grounded))
    coverage = sum(len(q.split()) for q in kept) / n_case if n_case else 0.0
    return QuoteCheck(
        kept, tuple(fabricated), oversized, neutral, coverage, coverage > max_fraction
    )


class Faithfulness(Reward):
    r"""Consistency, case-grounded evidence and cited evidence, from machine-checkable rules.

    Formula: ``faithfulness = L * S * (C + G + K) / 3``, range [0, 1], default weight 1:

    * ``S``: 1 when the template's sections are well formed, else 0 (no credit without them).
    * ``L``: length factor, 1 up to 12,000 characters, linearly down to 0 at 18,000.
    * ``C`` consistency (``faithfulness/consistency``) = mean of two checks against the single
      boxed letter: the ``<dx>`` favours it (it is the one option ruled in, or the only one not
      ruled out), and the conclusion names it (letter or text, outside the box; ``r1``/``plain``
      need not) while naming no other option except to set it aside ("rather than B").
      0 without a single valid box.
    * ``G`` grounding (``faithfulness/grounding``) = ``precision * min(1, grounded /
      saturation)``: ``grounded`` distinct quotes (>= ``min_quote_words`` words) of the
      ``<dx>`` occur verbatim in the case after normalising case, whitespace and punctuation;
      ``precision = grounded / (grounded + fabricated)``. 0 when the grounded quotes cover more
      than ``max_quote_fraction`` of the case's words (copying the stem earns nothing).
    * ``K`` citation (``faithfulness/citation``): the conclusion repeats a content word 3-gram of
      a grounded quote.

    >>> item = {"question": "A man has had a cough for 3 weeks and night sweats. Diagnosis?",
    ...         "options": {"A": "Asthma", "B": "Tuberculosis"}, "answer": "B"}
    >>> text = ('<dx>"a cough for 3 weeks" and "night sweats". Option A: no wheeze; ruled out. '
    ...         'Option B: consistent with the findings; most likely.</dx><conclusion>'
    ...         'A cough for 3 weeks with night sweats: Tuberculosis. \\boxed{B}</conclusion>')
    >>> [round(x, 3) for x in Faithfulness()([text], **{k: [v] for k, v in item.items()})]
    [0.778]

    (C = 1 and K = 1, but "night sweats" is too short to count, so G = 1/3.)
    """

    name = "faithfulness"

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
        r = read(text, item.options, self.template)
        p = r.parsed
        quotes = check_quotes(
            p.quotes,
            item.question,
            item.context,
            item.options,
            min_words=self.min_quote_words,
            max_fraction=self.max_quote_fraction,
        )
        gate = float(p.well_formed) * length_factor(p.length)
        boxed = r.boxed
        dx_ok = float(boxed is not None and r.dx_favoured == boxed)
        named = boxed in r.conclusion_named or self.template != "crpo"
        concl_ok = float(boxed is not None and named and not (r.conclusion_hedged - {boxed}))
        consistency = (dx_ok + concl_ok) / 2
        grounding = 0.0
        if not quotes.stem_copy:
            grounding = quotes.precision * min(1.0, len(quotes.grounded) / self.saturation)
        cited: set[tuple[str, ...]] = set()
        for q in quotes.grounded:
            cited |= content_ngrams(q.split())
        cites = bool(cited) and shares_ngram(normalise(p.conclusion.text).split(), cited)
        citation = float(not quotes.stem_copy and cites)
        return {
            "faithfulness": gate * (consistency + grounding + citation) / 3,
            "faithfulness/consistency": gate * consistency,
            "faithfulness/grounding": gate * grounding,
            "faithfulness/citation": gate * citation,
            "faithfulness/quote_precision": quotes.precision,
            "faithfulness/grounded_quotes": len(quotes.grounded),
            "faithfulness/fabricated_quotes": len(quotes.fabricated),
            "faithfulness/stem_copy": quotes.stem_copy,
            "faithfulness/dx_favoured": r.dx_favoured,
        }
