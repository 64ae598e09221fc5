"""Quotes against the case: which are grounded findings, which are invented, how much is copied.

The case is the question (less its final lead-in sentence, "Which of the following ...?") plus
any context, normalised (:func:`~clinr1.rewards.text.normalise`). Each quote of the reasoning is
sorted into one kind:

==============  ==============================================================================
kind            rule
==============  ==============================================================================
grounded        found verbatim in the case, at least ``min_words`` words, and informative: one
                word at least that is not a function word, a number or vignette scene-setting
                ("A 72-year-old man comes to the physician" states no finding)
boilerplate     verbatim but not informative: neither earns nor costs
paraphrase      not verbatim, but every number and at least 75 % of its content words are in
                the case: a loose quote of a real finding, neither earns nor costs
fabricated      anything else not found in the prompt: an invented finding, which costs
neutral         shorter than ``min_words``, function words only, or from the lead-in sentence
                or an option's text
==============  ==============================================================================

Grounded quotes whose places in the case overlap are one *finding* (a finding quoted three times
in shifted windows is one). Stem copying is judged on the union of case words that all quotes
cover (any 3 words in a row they share with the case, invented quotes included), against
``max(max_fraction * case words, COPY_FLOOR)``: on a one-sentence stem, quoting two or three
short findings is never copying. The saturation (how many findings earn full grounding) is
capped by the findings a case can offer, one per ``WORDS_PER_FINDING`` informative words.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from clinr1.rewards.text import (
    find_quotes,
    informative_pairs,
    is_content,
    is_informative,
    normalise,
)

SATURATION = 3
MIN_QUOTE_WORDS = 3
MAX_QUOTE_FRACTION = 0.75
COPY_FLOOR = 15  # case words that may always be quoted, however short the case
WORDS_PER_FINDING = 4
PARAPHRASE_SHARE = 0.75
MIN_BODY_WORDS = 8  # below this, the lead-in sentence stays part of the case
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
_ELLIPSIS_RE = re.compile(r"\s*(?:\.{3,}|…|\[\.\.\.\])\s*")
NEGATORS = frozenset("not no never without denies denied absent none neither nor".split())  # noqa: SIM905
POLARITY = frozenset(
    "negative positive normal abnormal increased decreased elevated raised reduced low high "  # noqa: SIM905
    "present absent enlarged small large mild severe acute chronic bilateral unilateral left "
    "right".split()
)


@dataclass(frozen=True, eq=False)
class CaseModel:
    """The normalised case: its words, an index of its word 3-grams, its informative pairs."""

    words: tuple[str, ...]
    padded: str  # " w1 w2 ... " (the case body)
    full: str  # the whole prompt case, lead-in included, padded
    trigrams: dict[tuple[str, str, str], list[int]]
    vocabulary: frozenset[str]
    pairs: frozenset[tuple[str, str]]

    @property
    def offer(self) -> int:
        """How many distinct findings the case can offer: one per ``WORDS_PER_FINDING``
        informative words ("All of the following influence the efficiency of bur" offers one)."""
        return max(1, sum(map(is_informative, self.words)) // WORDS_PER_FINDING)


def case_body(question: str) -> str:
    """The question less its final lead-in sentence ("Which of the following ...?"); a stem of
    one sentence, or whose other sentences hold under ``MIN_BODY_WORDS`` words, is all case.

    >>> case_body("A boy has had a cough and fever for days. Which is the diagnosis?")
    'A boy has had a cough and fever for days.'
    >>> case_body("I.V. anesthesia is:")
    'I.V. anesthesia is:'
    """
    sentences = _SENTENCE_RE.split(question.strip())
    body = " ".join(sentences[:-1])
    if len(sentences) < 2 or len(body.split()) < MIN_BODY_WORDS:
        return question
    return body


@lru_cache(maxsize=1024)
def case_model(question: str, context: str = "") -> CaseModel:
    """The case of an item, built once per question (see the module docstring)."""
    body = case_body(question)
    words = tuple(normalise(f"{body} {context}").split())
    trigrams: dict[tuple[str, str, str], list[int]] = {}
    for i in range(len(words) - 2):
        trigrams.setdefault((words[i], words[i + 1], words[i + 2]), []).append(i)
    full = normalise(f"{question} {context}")
    return CaseModel(
        words=words,
        padded=f" {' '.join(words)} ",
        full=f" {full} ",
        trigrams=trigrams,
        vocabulary=frozenset(full.split()),
        pairs=frozenset(informative_pairs(words)),
    )


@dataclass(frozen=True)
class Grounding:
    """The quotes of one completion sorted against its case (see the module docstring)."""

    grounded: tuple[str, ...]  # distinct grounded quotes (normalised)
    findings: int  # grounded quotes after merging those that overlap in the case
    fabricated: tuple[str, ...]
    paraphrased: int
    boilerplate: int
    coverage: float  # share of the case's words covered by all quotes
    stem_copy: bool
    saturation: int  # findings for full credit on this case

    @property
    def precision(self) -> float:
        n = len(self.grounded) + len(self.fabricated)
        return len(self.grounded) / n if n else 0.0

    @property
    def score(self) -> float:
        """``G = precision * min(1, findings / saturation)``, 0 when the stem is copied."""
        if self.stem_copy:
            return 0.0
        return self.precision * min(1.0, self.findings / self.saturation)

    def pairs(self) -> set[tuple[str, str]]:
        """The informative word pairs of the grounded quotes: what a citation repeats."""
        out: set[tuple[str, str]] = set()
        for q in self.grounded:
            out |= informative_pairs(q.split())
        return out


def _is_paraphrase(words: list[str], case: CaseModel) -> bool:
    """A loose quote of a real finding: most content words are the case's, and nothing that
    changes its meaning is new (a number, a negation or a polarity word)."""
    content = [w for w in words if is_content(w)]
    if not content:
        return False
    padded = case.padded
    for i, w in enumerate(words):
        if w.isdigit():
            # a number keeps its neighbours: "Hemoglobin 12 g/dL" is not the case's "(12-lb)"
            if i and words[i - 1].isdigit():
                continue  # "5 6 kg": the run was checked at its first number
            j = i
            while j < len(words) and words[j].isdigit():
                j += 1
            if f" {' '.join(words[max(0, i - 1) : j + 1])} " not in padded:
                return False
        elif w in NEGATORS:
            if i + 1 < len(words) and f" {w} {words[i + 1]} " not in padded:
                return False  # "the spleen is not palpated": a negation the case never made
        elif w in POLARITY and w not in case.vocabulary:
            return False  # "JAK 2 assay is negative" where the case says positive
    found = sum(w in case.vocabulary for w in content)
    return found >= PARAPHRASE_SHARE * len(content)


@lru_cache(maxsize=2048)
def check_quotes(
    quotes: tuple[str, ...],
    question: str,
    context: str = "",
    options: tuple[tuple[str, str], ...] = (),
    *,
    min_words: int = MIN_QUOTE_WORDS,
    max_fraction: float = MAX_QUOTE_FRACTION,
    saturation: int = SATURATION,
) -> Grounding:
    """Sort ``quotes`` against the case of ``question``/``context`` (see the module docstring).

    >>> g = check_quotes(("fever for 3 days", "rash on the palms", "yes", "a 7-year-old boy"),
    ...     "A 7-year-old boy has had fever for 3 days and a cough. What is the diagnosis?")
    >>> g.grounded, g.fabricated, g.boilerplate, g.precision
    (('fever for 3 days',), ('rash on the palms',), 1, 0.5)
    """
    case = case_model(question, context)
    option_texts = tuple(f" {normalise(v)} " for _, v in options)
    grounded: list[str] = []
    spans: list[tuple[int, int]] = []
    fabricated: list[str] = []
    paraphrased = boilerplate = 0
    covered: set[int] = set()
    parts = (p for q in quotes for p in _ELLIPSIS_RE.split(q) if p.strip())  # "a ... b": two
    for q in dict.fromkeys(normalise(p) for p in parts):
        words = q.split()
        for i in range(len(words) - 2):  # every quote counts towards copying the stem
            for pos in case.trigrams.get((words[i], words[i + 1], words[i + 2]), ()):
                covered.update((pos, pos + 1, pos + 2))
        if len(words) < min_words or not any(is_content(w) for w in words):
            continue
        padded = f" {q} "
        where = case.padded.find(padded)
        if where >= 0:
            if not any(is_informative(w) for w in words):
                boilerplate += 1
                continue
            first = case.padded[:where].count(" ")
            grounded.append(q)
            spans.append((first, first + len(words)))
        elif padded in case.full or any(padded in o for o in option_texts):
            continue
        elif _is_paraphrase(words, case):
            paraphrased += 1
        else:
            fabricated.append(q)
    n_case = len(case.words)
    coverage = len(covered) / n_case if n_case else 0.0
    limit = max(max_fraction * n_case, COPY_FLOOR)
    return Grounding(
        grounded=tuple(grounded),
        findings=_merged(spans),
        fabricated=tuple(fabricated),
        paraphrased=paraphrased,
        boilerplate=boilerplate,
        coverage=coverage,
        stem_copy=len(covered) > limit,
        saturation=max(1, min(saturation, case.offer)),
    )


def _merged(spans: list[tuple[int, int]]) -> int:
    """How many groups ``[start, end)`` spans form when overlapping ones are merged."""
    groups = 0
    end = -1
    for s, e in sorted(spans):
        if s >= end:
            groups += 1
            end = e
        else:
            end = max(end, e)
    return groups


def cites_finding(text: str, case: CaseModel, grounded: Collection[str]) -> bool:
    """``text`` cites a finding of the case: one of the ``grounded`` quotes (normalised), or two
    content words in a row of the case, one of them informative ("extensive fibrosis")."""
    if grounded and any(normalise(q) in grounded for q in find_quotes(text)):
        return True
    return not informative_pairs(normalise(text).split()).isdisjoint(case.pairs)
